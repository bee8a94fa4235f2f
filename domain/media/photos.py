"""Photos of a request: attached at submission (PROBLEM) or completion (SERVICE), listed for
the API, found for the /media route."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.errors import InvalidInput
from domain.media.images import MAX_PHOTOS, MEDIA_TYPE, PreparedPhoto
from domain.media.models import PhotoStage, RequestPhoto
from domain.media.store import Blob, MediaStore
from domain.requests.models import ServiceRequest

#: The two objects of a photo: its full copy and its thumbnail, under the photo's key.
VARIANTS = {"full": "full.jpg", "thumb": "thumb.jpg"}


def object_key(photo_key: str, variant: str) -> str:
    """The store key of one variant ("full" or "thumb") of a photo."""
    return f"{photo_key}/{VARIANTS[variant]}"


async def attach_photos(session: AsyncSession, store: MediaStore, *, request_id: int,
                        stage: PhotoStage, photos: Sequence[PreparedPhoto], now: datetime,
                        field: str) -> list[str]:
    """Store `photos` for the request at `stage`, after any it has there already (at most
    MAX_PHOTOS in all: TOO_MANY_FILES at `field`). Answers the store keys written, for
    `store.discard` should the transaction fail."""
    if not photos:
        return []
    held = await _count(session, request_id, stage)
    if held + len(photos) > MAX_PHOTOS:
        raise InvalidInput.one("TOO_MANY_FILES", f"a request keeps at most {MAX_PHOTOS} "
                               f"{stage.value} photos; it has {held}", field)
    rows, blobs = [], []
    for position, photo in enumerate(photos, start=held):
        key = f"photos/{request_id}/{secrets.token_urlsafe(12)}"
        rows.append(RequestPhoto(
            request_id=request_id, stage=stage.value, position=position, key=key,
            store=store.name, width=photo.full.width, height=photo.full.height,
            thumb_width=photo.thumb.width, thumb_height=photo.thumb.height,
            source_format=photo.source_format, created_at=now))
        blobs += [Blob(object_key(key, "full"), photo.full.data, MEDIA_TYPE),
                  Blob(object_key(key, "thumb"), photo.thumb.data, MEDIA_TYPE)]
    session.add_all(rows)
    await session.flush()
    await store.put(session, blobs)
    return [blob.key for blob in blobs]


async def _count(session: AsyncSession, request_id: int, stage: PhotoStage) -> int:
    found = await session.execute(select(func.count()).select_from(RequestPhoto).where(
        col(RequestPhoto.request_id) == request_id, col(RequestPhoto.stage) == stage.value))
    return int(found.scalar_one())


async def photos_of(session: AsyncSession,
                    request_ids: Sequence[int]) -> list[list[RequestPhoto]]:
    """The photos of each request, PROBLEM ones first, in the order they were sent."""
    rows = (await session.execute(
        select(RequestPhoto).where(col(RequestPhoto.request_id).in_(list(request_ids)))
        .order_by(col(RequestPhoto.request_id), col(RequestPhoto.stage),
                  col(RequestPhoto.position)))).scalars().all()
    by_request: dict[int, list[RequestPhoto]] = {}
    for row in rows:
        by_request.setdefault(row.request_id, []).append(row)
    return [by_request.get(request_id, []) for request_id in request_ids]


async def photo_with_request(session: AsyncSession, photo_id: int
                             ) -> tuple[RequestPhoto, ServiceRequest] | None:
    """A photo and its request, for the /media route; None when there is no such photo."""
    found = (await session.execute(
        select(RequestPhoto, ServiceRequest)
        .join(ServiceRequest, col(ServiceRequest.id) == col(RequestPhoto.request_id))
        .where(col(RequestPhoto.id) == photo_id))).first()
    return None if found is None else (found[0], found[1])
