"""MEDIA_STORE=postgres (the default): photo bytes in the table media_blob, written in the
same transaction as the request, so a failed submission leaves nothing behind. Right for one
machine and for a few hundred thousand photos (about 250 kB a photo, both sizes); beyond
that, or with several API machines behind a database that should stay small, use S3."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import LargeBinary

from domain.media.store import Blob

_PUT = text("INSERT INTO media_blob (key, media_type, data) VALUES (:key, :media_type, :data)"
            ).bindparams(bindparam("data", type_=LargeBinary))
_GET = text("SELECT key, media_type, data FROM media_blob WHERE key = :key")


class PostgresStore:
    """Photo bytes in media_blob, inside the caller's transaction."""

    name = "postgres"

    async def put(self, session: AsyncSession, blobs: Sequence[Blob]) -> None:
        if blobs:
            await session.execute(_PUT, [{"key": b.key, "media_type": b.media_type,
                                          "data": b.data} for b in blobs])

    async def get(self, session: AsyncSession, key: str) -> Blob | None:
        row = (await session.execute(_GET, {"key": key})).first()
        return None if row is None else Blob(row.key, bytes(row.data), row.media_type)

    async def discard(self, keys: Sequence[str]) -> None:
        """Nothing to undo: the rolled-back transaction took the rows with it."""
