"""GET /tiles/{layer}/{z}/{x}/{y}.mvt: the map layers as Mapbox Vector Tiles (MVT 2.1).

For map screens (MapLibre GL JS, Mapbox GL, OpenLayers) over areas too large for
`mapFeatures`. The layers and their properties: domain.spatial.tiles. Answers:

- 200 `application/vnd.mapbox-vector-tile`, one MVT layer named like the URL's;
- 204 when nothing of the layer lies in the tile (or the zoom is below the layer's minimum);
- 304 when `If-None-Match` names the tile's current ETag (the static layers);
- 400 `{"code": "INVALID_TILE", "message": …}` for z outside 0..22 or x, y outside the zoom;
- 400 `INVALID_CRS` for a `crs` other than WGS84 (the default) and GCJ02 (the tile shifted
  into GCJ-02, for a GCJ-02 base map: domain.spatial.tiles);
- 401 for `open_requests` without a valid token (an expired or forged one is 401 for every
  layer, as on /graphql), 404 `UNKNOWN_LAYER` for any other layer name.

`communities`, `grids`, `buildings` and `building_groups` change only on imports: they carry
`Cache-Control: public, max-age=300` and an ETag (a hash of the tile) and need no token.
`open_requests` is personal data within the caller's rights (as `serviceRequests`): the
token in `Authorization: Bearer` (MapLibre's `transformRequest` adds it), `private, no-cache`.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.spatial.tiles import LAYERS, gcj02_shift, tile_in_range, vector_tile
from server.auth import viewer_of
from server.replica import reads_for

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
STATIC_CACHE = "public, max-age=300"
PRIVATE_CACHE = "private, no-cache"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _address(request: Request) -> tuple[int, int, int] | str:
    """(z, x, y) from the path, or why not."""
    params = request.path_params
    try:
        z, x, y = (int(params[name]) for name in ("z", "x", "y"))
    except ValueError:
        return "z, x and y must be whole numbers"
    return tile_in_range(z, x, y) or (z, x, y)


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _cached(request: Request, body: bytes) -> Response:
    """A static layer's tile with its ETag; 304 when the caller holds it already."""
    headers = {"Cache-Control": STATIC_CACHE, "ETag": _etag(body)}
    wanted = request.headers.get("if-none-match", "")
    if headers["ETag"] in {tag.strip().removeprefix("W/") for tag in wanted.split(",")}:
        return Response(status_code=304, headers=headers)
    if not body:
        return Response(status_code=204, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


async def tile(request: Request) -> Response:
    """One tile of one layer, within the caller's rights."""
    layer = request.path_params["layer"]
    spec = LAYERS.get(layer)
    if spec is None:
        return _error(404, "UNKNOWN_LAYER", f"no layer {layer!r}; the layers are "
                      + ", ".join(LAYERS))
    address = _address(request)
    if isinstance(address, str):
        return _error(400, "INVALID_TILE", address)
    z, x, y = address
    crs = request.query_params.get("crs", "WGS84").upper()
    if crs not in ("WGS84", "GCJ02"):
        return _error(400, "INVALID_CRS", "crs must be WGS84 or GCJ02")
    shift = gcj02_shift(z, x, y) if crs == "GCJ02" else (0.0, 0.0)
    sessions = request.app.state.sessions
    viewer = None
    if not spec.static:
        viewer = await viewer_of(sessions, request.scope.get("state", {}).get("claims"))
        if not viewer.authenticated:
            return JSONResponse({"code": "UNAUTHENTICATED", "message": f"the {layer} layer "
                                 "needs a valid token (Authorization: Bearer <token>)"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
    async with reads_for(request)() as session:  # the replica, when there is one
        body = await vector_tile(session, layer=layer, z=z, x=x, y=y, viewer=viewer,
                                 shift=shift)
    if spec.static:
        return _cached(request, body)
    headers = {"Cache-Control": PRIVATE_CACHE, "Vary": "Authorization"}
    if not body:
        return Response(status_code=204, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)
