"""The Photo type: a request's photo as links a browser can load (`<img src>`) without the
bearer token, signed for the caller who was allowed to see the request (domain.media.access).
"""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from domain.media.access import link_expiry, link_key, signature
from domain.media.models import PhotoStage, RequestPhoto
from domain.settings import Settings
from schema.common.context import Info

strawberry.enum(PhotoStage, description="PROBLEM: sent by the resident with the request (the "
                "problem); SERVICE: sent by the assignee at completion (the service done).")

#: Where the photos are served (server.media).
MEDIA_PATH = "/media/photos"


def photo_url(settings: Settings, photo_id: int, variant: str, now: datetime) -> str:
    """The signed path of one variant ("full" or "thumb") of a photo."""
    expires = link_expiry(now, settings.media_link_ttl_seconds)
    sig = signature(link_key(settings.secret_key), photo_id, variant, expires)
    return f"{MEDIA_PATH}/{photo_id}/{variant}.jpg?expires={expires}&signature={sig}"


@strawberry.type(description="A photo of a request, re-encoded as JPEG with every piece of "
                 "metadata removed (EXIF, GPS included). Its links are paths on this API's "
                 "host, signed for the caller: they work in an <img src> without a token, "
                 "for one to two hours (MEDIA_LINK_TTL_SECONDS); ask for the request again "
                 "for fresh ones. A caller with a token may also fetch the path without the "
                 "signature, sending `Authorization: Bearer`.")
class Photo:
    stage: PhotoStage
    position: int = strawberry.field(description="Its place among the photos of its stage, "
                                     "from 0, in the order they were sent.")
    url: str = strawberry.field(description="The photo, at most 1600 pixels on its longer "
                                "side (image/jpeg).")
    thumbnail_url: str = strawberry.field(description="A thumbnail, at most 320 pixels on "
                                          "its longer side (image/jpeg).")
    width: int = strawberry.field(description="Width of `url`'s image, in pixels.")
    height: int = strawberry.field(description="Height of `url`'s image, in pixels.")
    created_at: datetime = strawberry.field(description="When it was sent.")

    @classmethod
    def of(cls, row: RequestPhoto, settings: Settings, now: datetime) -> Photo:
        photo_id = row.id or 0
        return cls(stage=PhotoStage(row.stage), position=row.position,
                   url=photo_url(settings, photo_id, "full", now),
                   thumbnail_url=photo_url(settings, photo_id, "thumb", now),
                   width=row.width, height=row.height, created_at=row.created_at)


async def photos_of_request(info: Info, request_id: int,
                            stage: PhotoStage | None = None) -> list[Photo]:
    """The photos of a request the caller may see (checked by the caller of this function:
    ServiceRequest.photos, the tracking view), PROBLEM first, each stage in order."""
    rows = await info.context.loaders.photos_of_request.load(request_id)
    now = datetime.now(UTC)
    return [Photo.of(row, info.context.settings, now) for row in rows
            if stage is None or row.stage == stage.value]
