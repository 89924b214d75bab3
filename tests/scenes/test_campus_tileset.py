"""The campus tileset: 3D Tiles 1.1 with a child per layer, GLBs with feature ids and metadata, scoped."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import rasterio
import trimesh
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import Connection, text

from tests.scenes.gltf import glb_json, mesh_of, property_table
from twin.scenes.frame import Frame

Login = Callable[[str], dict[str, str]]


def test_tileset_has_a_child_per_layer_in_an_enu_frame(client: TestClient, login: Login) -> None:
    response = client.get("/scenes/LY01/tileset.json", headers=login("leader"))
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["asset"]["version"] == "1.1"
    root = doc["root"]
    assert root["refine"] == "ADD"
    assert {c["extras"]["layer"] for c in root["children"]} == {"terrain", "buildings", "pipes", "risk_zones"}
    for child in root["children"]:
        assert child["content"]["uri"].endswith(f"/scenes/LY01/{child['extras']['layer']}.glb")
    # root.transform is ENU→ECEF, column-major: its last column is the origin on the ellipsoid
    m = np.array(root["transform"]).reshape(4, 4).T
    lon, lat, h = doc["asset"]["extras"]["origin"]
    np.testing.assert_allclose(m[:3, 3], Frame(lon, lat, h).origin, atol=1e-3)
    np.testing.assert_allclose(m[:3, :3].T @ m[:3, :3], np.eye(3), atol=1e-12)
    assert 112.4 < lon < 112.5 and 34.5 < lat < 34.7  # the sample campus near Luoyang


def test_building_glb_has_one_closed_feature_per_building(
    client: TestClient, login: Login, db: Connection
) -> None:
    response = client.get("/scenes/LY01/buildings.glb", headers=login("leader"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "model/gltf-binary"
    data = response.content
    doc = glb_json(data)
    assert doc["nodes"][0]["matrix"] == [1, 0, 0, 0, 0, 0, -1, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    table = property_table(data)
    stored = db.execute(
        text(
            "SELECT id, code, height_m FROM buildings WHERE campus_id = (SELECT id FROM campuses WHERE code = 'LY01')"
        )
    ).all()
    assert sorted(table["id"]) == sorted(r.id for r in stored)
    heights = dict(zip(table["code"], table["height_m"], strict=True))
    assert heights == pytest.approx({r.code: r.height_m for r in stored})
    positions, triangles, feature_ids = mesh_of(data)
    for i, height in enumerate(table["height_m"]):
        faces = triangles[feature_ids[triangles[:, 0]] == i]
        solid = trimesh.Trimesh(positions, faces)
        solid.merge_vertices()
        solid.remove_unreferenced_vertices()
        assert solid.is_watertight, table["code"][i]
        assert solid.volume > 0  # outward normals
        assert np.ptp(solid.vertices[:, 2]) == pytest.approx(height, abs=1e-3)


def test_pipes_lie_below_the_ground_with_their_diameter(
    client: TestClient, login: Login, db: Connection
) -> None:
    doc = client.get("/scenes/LY01/tileset.json", headers=login("leader")).json()
    frame = Frame(*doc["asset"]["extras"]["origin"])
    data = client.get("/scenes/LY01/pipes.glb", headers=login("leader")).content
    table = property_table(data)
    assert {"water", "gas"} <= set(table["utility"])
    path, srid = db.execute(
        text(
            "SELECT path, srid FROM campus_rasters r JOIN campuses c ON c.id = r.campus_id WHERE c.code = 'LY01'"
        )
    ).one()
    positions, triangles, feature_ids = mesh_of(data)
    geodetic = frame.to_lonlat(positions)
    x, y = Transformer.from_crs(4326, srid, always_xy=True).transform(geodetic[:, 0], geodetic[:, 1])
    with rasterio.open(path) as dem:  # the reference: the DEM read directly, nearest cell
        ground = np.array([v[0] for v in dem.sample(zip(x, y, strict=True))], dtype="float64")
    for i, (diameter, assumed) in enumerate(zip(table["diameter_mm"], table["depth_assumed"], strict=True)):
        mine = np.unique(triangles[feature_ids[triangles[:, 0]] == i])
        assert np.ptp(positions[mine, 2]) >= diameter / 1000 * 0.9 or assumed == "yes"
        assert (geodetic[mine, 2] < ground[mine] + 0.05).all(), table["code"][i]


def test_risk_zones_are_translucent_in_their_level_colours(client: TestClient, login: Login) -> None:
    data = client.get("/scenes/LY01/risk_zones.glb", headers=login("leader")).content
    doc = glb_json(data)
    assert doc["materials"][0]["alphaMode"] == "BLEND"
    table = property_table(data)
    palette = {1: "#E02020", 2: "#F08C00", 3: "#F5D000", 4: "#2878F0"}
    for level, colour in zip(table["effective_level"], table["colour"], strict=True):
        if level:
            assert colour == palette[level]


def test_sibling_campus_is_not_found_and_parents_are_refused(client: TestClient, login: Login) -> None:
    assert client.get("/scenes/SB01/tileset.json", headers=login("leader")).status_code == 404
    assert client.get("/scenes/LY01/buildings.glb", headers=login("sibling")).status_code == 404
    assert client.get("/scenes/LY01/tileset.json").status_code == 401


def test_unknown_layer_is_named(client: TestClient, login: Login) -> None:
    response = client.get("/scenes/LY01/tileset.json?layers=buildings,roofs", headers=login("leader"))
    assert response.status_code == 400
    assert "roofs" in response.json()["detail"]
    assert client.get("/scenes/LY01/roofs.glb", headers=login("leader")).status_code == 404


def test_etag_answers_not_modified(client: TestClient, login: Login) -> None:
    first = client.get("/scenes/LY01/buildings.glb", headers=login("leader"))
    again = client.get(
        "/scenes/LY01/buildings.glb", headers={**login("leader"), "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
