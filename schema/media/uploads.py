"""Photos as they arrive in a GraphQL multipart request (strawberry's `Upload`), read within
bounds and handed to domain.media.images, in a worker thread (decoding takes CPU).

A value that is not a file (a string or an object in JSON variables, where the multipart
request specification puts a file) is NOT_A_FILE, never a server error.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput, UserError
from domain.media.images import (
    MAX_PHOTO_BYTES,
    PhotoRefused,
    PreparedPhoto,
    check_count,
    prepare_photos,
)
from domain.media.models import PhotoStage
from domain.media.photos import attach_photos
from schema.common.context import Info

NOT_A_FILE = ("send each photo as a file part of a multipart/form-data request (the GraphQL "
              "multipart request specification), not as a value")


async def read_photos(values: Sequence[Any] | None, field: str) -> list[PreparedPhoto]:
    """The photos of an `Upload` list argument, checked and re-encoded; InvalidInput naming
    `field` (too many) or `field[i]` (not a file, too large, not an image, a bomb)."""
    if not values:
        return []
    check_count(len(values), field)
    files: list[bytes] = []
    errors: list[UserError] = []
    for index, value in enumerate(values):
        try:
            files.append(await _read(value))
        except PhotoRefused as refused:
            errors.append(UserError(refused.code, refused.message, f"{field}[{index}]"))
    if errors:
        raise InvalidInput(errors)
    return await asyncio.to_thread(prepare_photos, files, field)


async def _read(value: Any) -> bytes:
    """At most MAX_PHOTO_BYTES + 1 bytes of one uploaded file (enough to tell it is too
    large)."""
    read = getattr(value, "read", None)
    if not callable(read) or isinstance(value, str | bytes):
        raise PhotoRefused("NOT_A_FILE", NOT_A_FILE)
    seek = getattr(value, "seek", None)
    if callable(seek):  # one file part may be mapped to several photos
        rewound = seek(0)
        if inspect.isawaitable(rewound):
            await rewound
    data = read(MAX_PHOTO_BYTES + 1)
    if inspect.isawaitable(data):
        data = await data
    if not isinstance(data, bytes):
        raise PhotoRefused("NOT_A_FILE", NOT_A_FILE)
    return data


def first_position(photos: Sequence[PreparedPhoto]) -> tuple[float, float] | None:
    """Where the first photo with GPS tags was taken (WGS-84 lon, lat), if any did."""
    return next((photo.gps for photo in photos if photo.gps is not None), None)


async def store_photos(info: Info, session: AsyncSession, *, request_id: int,
                       stage: PhotoStage, photos: Sequence[PreparedPhoto], now: datetime,
                       field: str) -> None:
    """Attach `photos` to the request in this transaction; what an object store wrote is
    remembered so that `undone_on_failure` can take it back."""
    keys = await attach_photos(session, info.context.media, request_id=request_id,
                               stage=stage, photos=photos, now=now, field=field)
    info.context.pending_media.extend(keys)


@asynccontextmanager
async def undone_on_failure(info: Info) -> AsyncIterator[None]:
    """Around a transaction that may store photos: when it fails (a user error included),
    the objects an object store already holds for it are deleted."""
    pending = info.context.pending_media
    try:
        yield
    except BaseException:
        keys = list(pending)
        pending.clear()
        await info.context.media.discard(keys)
        raise
    pending.clear()
