"""deck.gl 9 (npm, tools/) in headless Chromium renders /scenes/{campus}/deck.json through @deck.gl/json,
without console errors, and a click on a building picks that building."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import sync_playwright
from sqlalchemy import Connection

from tests.layers.conftest import PASSWORD
from tests.layers.test_tiles_maplibre import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.scenes.test_cesium import _tools, targets

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<style>html, body {{ margin: 0; width: 100%; height: 100%; overflow: hidden; background: #102030; }}</style>
<script src="/__tools__/@deck.gl/core/dist.min.js"></script>
<script>window.D = Object.assign({{}}, deck);</script>
<script src="/__tools__/@deck.gl/layers/dist.min.js"></script>
<script>Object.assign(D, deck);</script>
<script src="/__tools__/@deck.gl/json/dist.min.js"></script>
<script>Object.assign(D, deck);</script></head>
<body>
<script>
const target = {target};
(async () => {{
  const response = await fetch("/scenes/LY01/deck.json", {{ headers: {{ Authorization: "Bearer {token}" }} }});
  const spec = await response.json();
  const classes = {{
    MapView: D.MapView, PolygonLayer: D.PolygonLayer, PathLayer: D.PathLayer,
    ScatterplotLayer: D.ScatterplotLayer, TextLayer: D.TextLayer,
  }};
  const converter = new D.JSONConverter({{ configuration: new D.JSONConfiguration({{ classes }}) }});
  const props = converter.convert(spec);
  let done = false;
  const instance = new D.Deck({{
    ...props,
    onError: (e) => console.error("deck error: " + (e && e.message)),
    onAfterRender: () => {{
      if (done || !instance.isInitialized) return;
      done = true;
      setTimeout(() => {{
        const viewport = instance.getViewports()[0];
        const [x, y] = viewport.project([target.lon, target.lat, target.h]);
        const hit = instance.pickObject({{ x, y, layerIds: ["buildings"] }});
        window.rendered = {{
          layers: instance.props.layers.map((l) => l.id),
          building: hit ? hit.object.code : null,
        }};
      }}, 500);
    }},
  }});
}})().catch((e) => {{ console.error("page error: " + e); window.rendered = {{ error: String(e) }}; }});
</script></body></html>
"""


def test_deck_gl_renders_the_scene_spec_and_picks_a_building(server: str, db: Connection) -> None:
    token = httpx.post(f"{server}/auth/token", data={"username": "leader", "password": PASSWORD}).json()
    building = targets(db)["building"]
    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "request",
            lambda r: None if r.url.startswith((server, "data:", "blob:")) else outside.append(r.url),
        )
        page.route(f"{server}/__tools__/**", _tools)
        html = PAGE.format(token=token["access_token"], target=json.dumps(building))
        page.route(
            f"{server}/__deck__.html", lambda route: route.fulfill(body=html, content_type="text/html")
        )
        page.goto(f"{server}/__deck__.html")
        page.wait_for_function("window.rendered !== undefined", timeout=120_000)
        rendered = page.evaluate("window.rendered")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "deck-campus.png"))
        browser.close()
    assert "error" not in rendered, rendered
    assert errors == []
    assert outside == []
    assert {"buildings", "pipes", "risk_zones", "alerts", "buses"} <= set(rendered["layers"])
    assert rendered["building"] == building["code"]
