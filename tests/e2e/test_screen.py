"""The map dispatch screen in a real browser: Debian's Chromium driven by Playwright for Python
(`executable_path`, no downloaded browsers) against the real `gridsteward serve` with the demo
community. Skipped locally, with the reason, without Chromium, Playwright or the built screen
(screen/dist, `scripts/bootstrap` builds it when Node.js is present); in CI it fails instead.
Saves a screenshot in the test's temporary folder; with UPDATE_SCREENSHOT=1 it replaces
docs/screen.png (the README's picture), so an ordinary run leaves the tree as it was."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from domain.demo import load_demo
from domain.infra.db import transaction
from server.auth import issue_token
from server.screen import BUILD_DIR
from tests.e2e.serving import post, running_api
from tests.unavailable import unavailable

SECRET = "e2e-screen-secret-used-only-by-this-test-0123456789-abcdef"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screen.png"
SUBMIT = """mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) {
  request { id number } errors { field message } } }"""
#: Headless Chromium has no GPU: WebGL through SwiftShader; as root it needs --no-sandbox.
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
        "--ignore-gpu-blocklist"]


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    if not shutil.which(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (scripts/bootstrap installs Debian's as root)"
    if not (BUILD_DIR / "index.html").is_file():
        return "the screen is not built (screen/dist; scripts/bootstrap builds it with Node.js)"
    return None


def _skip_or_fail() -> None:
    reason = _missing()
    if reason:
        unavailable(reason)


def _submit(base: str, description: str) -> str:
    answer = post(base, SUBMIT, {"input": {
        "category": "MAINTENANCE", "description": description, "address": "环城北路93号",
        "contactPhone": "13912345678"}}).json()
    assert not answer.get("errors") and not answer["data"]["submitServiceRequest"]["errors"], \
        answer
    return str(answer["data"]["submitServiceRequest"]["request"]["number"])


@pytest.fixture
async def demo_api(database_url: str, sessions: Any) -> AsyncIterator[str]:
    _skip_or_fail()
    async with transaction(sessions) as session:
        await load_demo(session)
    with running_api(database_url, SECRET, BROKER_URL="redis://127.0.0.1:1/0") as base:
        yield base


def test_the_screen_shows_tiles_the_list_and_live_requests(demo_api: str,
                                                           tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = demo_api
    first = _submit(base, "楼道灯不亮")
    token = issue_token(SECRET, admin=True)
    tiles: list[int] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        expired = browser.new_page()  # its own page: its refused socket is expected noise
        expired.goto(f"{base}/screen")
        expect(expired.locator("#notice")).to_contain_text("未登录")
        expired.fill("[name=token]", issue_token(SECRET, admin=True, ttl_seconds=1, now=0))
        expired.click("#use-token")
        expect(expired.locator("#notice")).to_contain_text("已过期")
        expired.click("#signout")
        expired.close()
        page = browser.new_page(viewport={"width": 1400, "height": 860})
        page.on("response", lambda r: tiles.append(r.status) if "/tiles/" in r.url else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/screen")
        expect(page.locator("#notice")).to_contain_text("未登录")
        page.fill("[name=token]", token)
        page.click("#use-token")
        expect(page.locator("#requests")).to_contain_text(first, timeout=10_000)
        expect(page.locator("#live")).to_have_text("实时连接", timeout=10_000)
        page.wait_for_function("document.querySelector('#map canvas') !== null")
        # a new submission reaches the list through the subscription, without a reload
        started = time.monotonic()
        second = _submit(base, "水管漏水")
        expect(page.locator("#requests")).to_contain_text(second, timeout=2_000)
        arrived = time.monotonic() - started
        page.locator("#requests li", has_text=second).click()
        expect(page.locator("#ticket")).to_contain_text("水管漏水")
        expect(page.locator("#ticket")).to_contain_text("提交")
        # staff assign from the ticket: the member appears on its timeline
        page.select_option("#ticket [name=member]", label="★曾庆华")
        page.click("#ticket [data-act=assign]")
        expect(page.locator("#ticket .timeline")).to_contain_text("人工指派 曾庆华")
        page.wait_for_timeout(1500)  # the tiles in view
        shot = DOCS_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "screen.png"
        page.screenshot(path=str(shot))
        browser.close()
    assert arrived <= 2.0
    assert tiles and 200 in tiles and all(s in (200, 204, 304) for s in tiles), tiles
    assert not errors, errors
