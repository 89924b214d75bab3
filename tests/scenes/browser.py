"""A test page in headless Chromium: the tools from tools/node_modules, everything else from the server.

The page's own HTML is served at `{server}/__{name}__.html` (same origin, so its fetches carry the
token); it sets `window.<result>` when done. Console errors, page errors and any request that leaves
the server are collected for the test to assert on.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Route, sync_playwright

from tests.layers.test_tiles_maplibre import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.scenes.conftest import TOOLS


@dataclass
class PageRun:
    result: Any = None
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


def _tools(route: Route) -> None:
    path = TOOLS / "node_modules" / route.request.url.split("/__tools__/", 1)[1].split("?")[0]
    if not path.is_file():
        route.fulfill(status=404)
        return
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    route.fulfill(body=Path(path).read_bytes(), content_type=kind)


def run_page(server: str, name: str, html: str, result: str, timeout_ms: int) -> PageRun:
    """Open the page, wait for `window.<result>`, screenshot it to var/test-artifacts/<name>.png."""
    run = PageRun()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.on("console", lambda m: run.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: run.errors.append(str(e)))
        page.on(
            "request",
            lambda r: None if r.url.startswith((server, "data:", "blob:")) else run.outside.append(r.url),
        )
        page.route(f"{server}/__tools__/**", _tools)
        page.route(
            f"{server}/__{name}__.html", lambda route: route.fulfill(body=html, content_type="text/html")
        )
        page.goto(f"{server}/__{name}__.html")
        page.wait_for_function(f"window.{result} !== undefined", timeout=timeout_ms)
        run.result = page.evaluate(f"window.{result}")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        browser.close()
    return run
