"""deck.gl 9 (npm, tools/) in headless Chromium renders /scenes/{campus}/deck.json through @deck.gl/json,
without console errors, and a click on a building picks that building."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import Connection

from tests.layers.conftest import PASSWORD
from tests.scenes.browser import run_page
from tests.scenes.test_cesium import targets

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
    html = PAGE.format(token=token["access_token"], target=json.dumps(building))
    run = run_page(server, "deck", html, "rendered", timeout_ms=120_000)
    rendered, errors, outside = run.result, run.errors, run.outside
    assert "error" not in rendered, rendered
    assert errors == []
    assert outside == []
    assert {"buildings", "pipes", "risk_zones", "alerts", "buses"} <= set(rendered["layers"])
    assert rendered["building"] == building["code"]
