"""GET /media/photos/{id}/{variant}.jpg: a request's photo (`full`, at most 1600 px) or its
thumbnail (`thumb`, 320 px), with the caller's rights.

Two ways in, both giving what the API would show the caller:

- the signed link the API hands out in `Photo.url` / `Photo.thumbnailUrl`
  (`?expires=…&signature=…`, domain.media.access): minted only for a caller who could see
  the request then (staff, the assignee, the resident answering their own submission, and
  the tracking view once it checks a tracking code), so an `<img src>` works without a
  token and no tracking code ever travels in a URL;
- `Authorization: Bearer <token>` without a signature: the token's rights now
  (domain.media.access.may_see_photos).

Answers: 200 image/jpeg (`Cache-Control: private`, `X-Content-Type-Options: nosniff`);
401 UNAUTHENTICATED with neither; 403 LINK_EXPIRED for a signed link past its time (ask the
API for the request again), 403 FORBIDDEN for a wrong signature or a token without rights;
404 NOT_FOUND for no such photo (or variant).
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.infra.storable import PG_INT_MAX
from domain.media.access import link_key, may_see_photos, valid_signature
from domain.media.images import MEDIA_TYPE
from domain.media.photos import VARIANTS, object_key, photo_with_request
from domain.media.store import Blob
from server.auth import viewer_of

#: The route's path, for server.app.
PHOTO_ROUTE = "/media/photos/{photo_id}/{file}"


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"code": code, "message": message}, status_code=status,
                        headers=headers)


def _address(request: Request) -> tuple[int, str] | None:
    """(photo id, variant) from the path, or None when it names no photo."""
    raw_id = request.path_params["photo_id"]
    variant, _dot, ext = request.path_params["file"].partition(".")
    if not (raw_id.isascii() and raw_id.isdigit()) or variant not in VARIANTS or ext != "jpg":
        return None
    photo_id = int(raw_id)
    return (photo_id, variant) if 1 <= photo_id <= PG_INT_MAX else None


def _signed(request: Request, photo_id: int, variant: str) -> bool | str | None:
    """True for a valid signed link, an error code for a bad one, None for none."""
    given = request.query_params.get("signature")
    raw_expires = request.query_params.get("expires", "")
    if given is None:
        return None
    if not (raw_expires.isascii() and raw_expires.isdigit()) or len(raw_expires) > 12:
        return "FORBIDDEN"
    expires, now = int(raw_expires), datetime.now(UTC)
    if expires < now.timestamp():
        return "LINK_EXPIRED"
    key = link_key(request.app.state.secret_key)
    return True if valid_signature(key, photo_id, variant, expires, given, now) else "FORBIDDEN"


async def photo(request: Request) -> Response:
    """One photo variant, within the caller's rights."""
    address = _address(request)
    if address is None:
        return _error(404, "NOT_FOUND", "no such photo")
    photo_id, variant = address
    signed = _signed(request, photo_id, variant)
    if signed == "LINK_EXPIRED":
        return _error(403, "LINK_EXPIRED", "this photo link has expired: ask the API for the "
                      "request again for a fresh one")
    if isinstance(signed, str):
        return _error(403, "FORBIDDEN", "this photo link's signature is not valid")
    sessions = request.app.state.sessions
    claims = request.scope.get("state", {}).get("claims")
    viewer = None if signed else await viewer_of(sessions, claims)
    if viewer is not None and not viewer.authenticated:
        return _error(401, "UNAUTHENTICATED", "a photo needs its signed link or a valid token "
                      "(Authorization: Bearer <token>)")
    async with sessions() as session:
        found = await photo_with_request(session, photo_id)
        if found is None:
            return _error(404, "NOT_FOUND", "no such photo")
        row, service_request = found
        if viewer is not None and not may_see_photos(viewer, service_request):
            return _error(403, "FORBIDDEN", "this photo belongs to a request you may not see")
        blob = await request.app.state.media.get(session, object_key(row.key, variant))
    if blob is None:
        return _error(404, "NOT_FOUND", "the photo's file is missing from the media store")
    return _image(blob, signed=bool(signed))


def _image(blob: Blob, *, signed: bool) -> Response:
    headers = {"Cache-Control": "private, max-age=3600" if signed else "private, no-cache",
               "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'"}
    if not signed:
        headers["Vary"] = "Authorization"
    return Response(blob.data, media_type=MEDIA_TYPE, headers=headers)
