"""CesiumJS (npm, tools/) in headless Chromium loads the campus tileset; clicks read feature properties.

The camera looks straight down at a known building and at a known pipe (away from every building, with
the globe hidden so the pipe underground shows); the pick at the centre of the screen must return that
feature's properties from the GLB's property table.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import Connection, text

from tests.layers.conftest import PASSWORD
from tests.scenes.browser import run_page

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<style>html, body, #c {{ margin: 0; width: 100%; height: 100%; overflow: hidden; }}</style>
<link rel="stylesheet" href="/__tools__/cesium/Build/Cesium/Widgets/widgets.css">
<script>window.CESIUM_BASE_URL = "/__tools__/cesium/Build/Cesium/";</script>
<script src="/__tools__/cesium/Build/Cesium/Cesium.js"></script></head>
<body><div id="c"></div>
<script>
const targets = {targets};
const viewer = new Cesium.Viewer("c", {{
  baseLayer: false, baseLayerPicker: false, geocoder: false, timeline: false, animation: false,
  homeButton: false, sceneModePicker: false, navigationHelpButton: false, fullscreenButton: false,
  infoBox: false, selectionIndicator: false, skyBox: false, skyAtmosphere: false,
  terrainProvider: new Cesium.EllipsoidTerrainProvider(),
}});
viewer.scene.globe.show = false;
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
async function pickAt(t) {{
  const centre = Cesium.Cartesian3.fromDegrees(t.lon, t.lat, t.h);
  viewer.camera.lookAt(centre, new Cesium.HeadingPitchRange(0, -Cesium.Math.PI_OVER_TWO + 0.001, t.range));
  for (let i = 0; i < 60; i++) {{ viewer.scene.render(); await wait(50); }}
  const canvas = viewer.scene.canvas;
  const picked = viewer.scene.pick(new Cesium.Cartesian2(canvas.clientWidth / 2, canvas.clientHeight / 2));
  if (!picked || !picked.getPropertyIds) return null;
  const out = {{}};
  for (const id of picked.getPropertyIds()) out[id] = picked.getProperty(id);
  return out;
}}
(async () => {{
  const resource = new Cesium.Resource({{
    url: location.origin + "/scenes/LY01/tileset.json?layers=buildings,pipes",
    headers: {{ Authorization: "Bearer {token}" }},
  }});
  const tileset = await Cesium.Cesium3DTileset.fromUrl(resource);
  viewer.scene.primitives.add(tileset);
  await viewer.zoomTo(tileset);
  for (let i = 0; i < 400 && !tileset.tilesLoaded; i++) {{ viewer.scene.render(); await wait(50); }}
  const picked = {{ building: await pickAt(targets.building), pipe: await pickAt(targets.pipe) }};
  viewer.camera.lookAt(
    Cesium.Cartesian3.fromDegrees(targets.building.lon, targets.building.lat, targets.building.h),
    new Cesium.HeadingPitchRange(0.4, -0.6, 400));
  for (let i = 0; i < 40; i++) {{ viewer.scene.render(); await wait(50); }}
  window.picked = picked;
}})().catch((e) => {{ console.error("scene error: " + e); window.picked = {{ error: String(e) }}; }});
</script></body></html>
"""


def targets(db: Connection) -> dict[str, Any]:
    building = db.execute(
        text(
            "SELECT b.code, ST_X(p) AS lon, ST_Y(p) AS lat, b.base_elev_m + b.height_m AS roof FROM"
            " (SELECT *, ST_PointOnSurface(geom) AS p FROM buildings) b JOIN campuses c ON c.id = b.campus_id"
            " WHERE c.code = 'LY01' ORDER BY ST_Area(b.geom) DESC LIMIT 1"
        )
    ).one()
    pipe = db.execute(
        text(
            "SELECT s.code, s.utility, ST_X(m) AS lon, ST_Y(m) AS lat FROM"
            " (SELECT *, ST_LineInterpolatePoint(geom, 0.5) AS m FROM pipe_segments) s"
            " JOIN campuses c ON c.id = s.campus_id WHERE c.code = 'LY01' AND s.diameter_mm >= 200"
            " AND NOT EXISTS (SELECT 1 FROM buildings b WHERE ST_DWithin(b.geom::geography, s.m::geography, 30))"
            " AND NOT EXISTS (SELECT 1 FROM pipe_segments o WHERE o.id <> s.id"
            "   AND ST_DWithin(o.geom::geography, s.m::geography, 3))"
            " ORDER BY s.diameter_mm DESC, s.code LIMIT 1"
        )
    ).one()
    return {
        "building": {"code": building.code, "lon": building.lon, "lat": building.lat, "h": building.roof,
                     "range": 120.0},
        "pipe": {"code": pipe.code, "utility": pipe.utility, "lon": pipe.lon, "lat": pipe.lat, "h": 100.0,
                 "range": 60.0},
    }  # fmt: skip


def test_cesium_picks_a_building_and_a_pipe_with_their_properties(server: str, db: Connection) -> None:
    token = httpx.post(f"{server}/auth/token", data={"username": "leader", "password": PASSWORD}).json()
    want = targets(db)
    html = PAGE.format(token=token["access_token"], targets=json.dumps(want))
    run = run_page(server, "scene", html, "picked", timeout_ms=180_000)
    picked, errors, outside = run.result, run.errors, run.outside
    assert "error" not in picked, picked
    assert errors == []
    assert outside == []  # CesiumJS and the scene come from this machine, nothing from Ion or a CDN
    assert picked["building"] is not None and picked["building"]["code"] == want["building"]["code"]
    assert picked["pipe"] is not None and picked["pipe"]["code"] == want["pipe"]["code"]
    assert picked["pipe"]["utility"] == want["pipe"]["utility"]
