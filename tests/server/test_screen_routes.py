"""GET /screen, its assets and its config: the built page when screen/dist holds one, else a
plain page saying it was not built; the raster base map setting."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from domain.settings import Settings
from server.screen import screen_routes
from tests.factories import X0, Y0, load

SECRET = "screen-unit-secret-used-only-by-these-tests-0123456789"


def _settings(**env: str) -> Settings:
    return Settings(SECRET_KEY=SECRET, GRIDSTEWARD_ENV="test", **env)  # type: ignore[arg-type]


def _client(build: Path, sessions: async_sessionmaker[AsyncSession],
            **env: str) -> httpx.AsyncClient:
    app = Starlette(routes=screen_routes(_settings(**env), build))
    app.state.sessions = sessions
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_without_a_build_the_screen_says_it_was_not_built(
        tmp_path: Path, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with _client(tmp_path, sessions) as client:
        answer = await client.get("/screen")
    assert answer.status_code == 503
    assert "地图调度屏未构建" in answer.text and "Node.js" in answer.text


async def test_a_build_is_served_with_its_assets(
        tmp_path: Path, sessions: async_sessionmaker[AsyncSession]) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<title>网格化服务调度屏</title>", encoding="utf-8")
    (tmp_path / "assets" / "screen.js").write_text("export {};", encoding="utf-8")
    async with _client(tmp_path, sessions) as client:
        page = await client.get("/screen")
        script = await client.get("/screen/assets/screen.js")
        missing = await client.get("/screen/assets/nothing.js")
    assert page.status_code == 200 and "调度屏" in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert missing.status_code == 404


async def test_the_config_names_the_bounds_tiles_and_raster_base_map(
        tmp_path: Path, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with _client(tmp_path, sessions) as client:
        empty = (await client.get("/screen/config.json")).json()
    await load(sessions)
    raster = "https://tiles.example.org/{z}/{x}/{y}.png"
    async with _client(tmp_path, sessions, SCREEN_RASTER_URL=raster) as client:
        config = (await client.get("/screen/config.json")).json()
    assert empty["bounds"] is None and empty["raster"] is None
    assert config["bounds"] == pytest.approx([X0, Y0, X0 + 0.02, Y0 + 0.01])
    assert config["tiles"] == "/tiles/{layer}/{z}/{x}/{y}.mvt"
    assert config["minZoom"]["buildings"] == 15
    assert config["raster"] == {"url": raster, "attribution": "", "crs": "GCJ02"}


def test_the_raster_url_must_be_a_tile_template() -> None:
    with pytest.raises(ValidationError, match="SCREEN_RASTER_URL"):
        _settings(SCREEN_RASTER_URL="https://tiles.example.org/base.png")
