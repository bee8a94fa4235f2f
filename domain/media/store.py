"""The one interface photos are stored through, whatever holds the bytes.

A back end keeps objects (bytes and a media type) under string keys. `put` runs inside the
caller's transaction: the PostgreSQL store writes in it (a rollback takes the bytes back);
an object store writes at once, so a caller whose transaction then fails calls `discard`
with the same keys (a best effort: what it misses is an orphan nobody can reach, since only
rows of request_photo lead to keys). `get` answers None for a key it does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Blob:
    """One stored object."""

    key: str
    data: bytes
    media_type: str


class MediaStore(Protocol):
    """Where photo bytes live: domain.media.postgres_store or domain.media.s3_store."""

    #: The name MEDIA_STORE gives it ("postgres", "s3"), recorded with each photo.
    name: str

    async def put(self, session: AsyncSession, blobs: Sequence[Blob]) -> None:
        """Store `blobs` (overwriting none: keys are new and random)."""
        ...

    async def get(self, session: AsyncSession, key: str) -> Blob | None:
        """The object under `key`, or None."""
        ...

    async def discard(self, keys: Sequence[str]) -> None:
        """Undo `put`s whose transaction did not commit (nothing to do where `put` wrote in
        that transaction)."""
        ...
