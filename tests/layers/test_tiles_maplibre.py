"""The vector tiles and the campus style, drawn by MapLibre (from npm) in headless Chromium (Debian)."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from tests.layers.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
# WebGL in a headless browser without a GPU: SwiftShader through ANGLE (architecture.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="/vendor/maplibre-gl/dist/maplibre-gl.css">
<style>html, body, #map {{ margin: 0; height: 100%; }}</style></head>
<body><div id="map"></div>
<script type="module">
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";
const token = "{token}";
const map = new maplibregl.Map({{
  container: "map", style: location.origin + "/styles/campus/style.json",
  center: [112.45, 34.62], zoom: 16.3, pitch: 45, bearing: -20,
  transformRequest: (url) => url.startsWith(location.origin)
    ? {{ url, headers: {{ Authorization: `Bearer ${{token}}` }} }} : {{ url }},
}});
map.on("error", (e) => console.error("map error: " + (e.error && e.error.message)));
map.once("idle", () => {{
  window.rendered = {{
    buildings: map.queryRenderedFeatures({{ layers: ["buildings"] }}).map((f) => f.id),
    zones: map.queryRenderedFeatures({{ layers: ["risk_zones"] }}).length,
    pipes: map.queryRenderedFeatures({{ layers: ["pipe_segments"] }}).length,
  }};
}});
</script></body></html>
"""


def test_maplibre_draws_the_campus_from_our_tiles_and_style(server: str) -> None:
    token = httpx.post(f"{server}/auth/token", data={"username": "leader", "password": PASSWORD}).json()
    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
        page.route(
            f"{server}/__map__.html",
            lambda route: route.fulfill(
                body=PAGE.format(token=token["access_token"]), content_type="text/html"
            ),
        )
        page.goto(f"{server}/__map__.html")
        page.wait_for_function("window.rendered !== undefined", timeout=90_000)
        rendered = page.evaluate("window.rendered")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "maplibre-campus.png"))
        browser.close()
    assert errors == []
    assert outside == []  # nothing leaves localhost: MapLibre and the style come from this server
    assert len(set(rendered["buildings"])) >= 15
    assert rendered["zones"] > 0 and rendered["pipes"] > 0
