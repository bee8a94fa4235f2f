"""GET /screen: the map dispatch screen, a static page built from screen/ (npm and esbuild).

The built files live in screen/dist (not committed): `scripts/bootstrap` builds them when
Node.js is present (`npm ci && npm run build` in screen/). Without them /screen answers a
plain page saying so (HTTP 503), and the API works as ever.

- GET /screen                the page (screen/dist/index.html);
- GET /screen/assets/...     its script and styles;
- GET /screen/config.json    what the page needs of the server: the communities' bounds
                             (where the map starts), the tile URL template and the optional
                             raster base map (SCREEN_RASTER_URL, SCREEN_RASTER_ATTRIBUTION,
                             SCREEN_RASTER_CRS: GCJ02 shifts the vector layers to match).

Nothing is fetched from the internet: the base map is the community's own vector tiles
(/tiles/...), unless a raster base map is configured.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from domain.settings import Settings
from domain.spatial.tiles import LAYERS, tiles_bounds

#: Where `npm run build` (screen/build.mjs) writes the page.
BUILD_DIR = Path(__file__).resolve().parent.parent / "screen" / "dist"

NOT_BUILT = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>地图调度屏未构建</title>
<body><h1>地图调度屏未构建</h1>
<p>The map screen was not built: Node.js was missing when scripts/bootstrap ran. Install
Node.js 18 or newer and run <code>scripts/bootstrap</code> again (or
<code>cd screen &amp;&amp; npm ci &amp;&amp; npm run build</code>). The API at
<a href="/graphql">/graphql</a> and the tiles at /tiles/... work without it.</p></body></html>
"""


def screen_routes(settings: Settings, build_dir: Path = BUILD_DIR) -> list[BaseRoute]:
    """The routes of the screen, reading `build_dir` at each request (a build made while
    the server runs is served at once)."""

    async def page(request: Request) -> Response:
        index = build_dir / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    async def config(request: Request) -> JSONResponse:
        async with request.app.state.sessions() as session:
            bounds = await tiles_bounds(session)
        return JSONResponse({
            "bounds": bounds, "tiles": "/tiles/{layer}/{z}/{x}/{y}.mvt",
            "minZoom": {name: layer.min_zoom for name, layer in LAYERS.items()},
            "raster": ({"url": settings.screen_raster_url,
                        "attribution": settings.screen_raster_attribution,
                        "crs": settings.screen_raster_crs}
                       if settings.screen_raster_url else None)})

    return [Route("/screen", page, methods=["GET"]),
            Route("/screen/config.json", config, methods=["GET"]),
            Mount("/screen/assets", app=StaticFiles(directory=build_dir / "assets",
                                                    check_dir=False))]
