"""The excavation cut: trench walls and floor from the stored plan, the ground opened, pipes exposed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.scenes.gltf import glb_json, mesh_of, property_table
from twin.scenes.frame import Frame

Login = Callable[[str], dict[str, str]]


@pytest.fixture(scope="module")
def tileset(client: TestClient, login: Login, plan: dict[str, Any]) -> dict[str, Any]:
    response = client.get(f"/scenes/excavation/{plan['id']}/tileset.json", headers=login("crew"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_cut_has_terrain_trench_and_pipes(tileset: dict[str, Any]) -> None:
    assert tileset["asset"]["version"] == "1.1"
    assert [c["extras"]["layer"] for c in tileset["root"]["children"]] == ["terrain", "trench", "pipes"]
    extras = tileset["asset"]["extras"]
    assert len(extras["trench_ring"]) >= 5 and extras["trench_ring"][0] == extras["trench_ring"][-1]


def test_trench_floor_is_at_the_planned_depth(
    client: TestClient, login: Login, plan: dict[str, Any], tileset: dict[str, Any]
) -> None:
    data = client.get(f"/scenes/excavation/{plan['id']}/trench.glb", headers=login("crew")).content
    assert glb_json(data)["materials"][0]["doubleSided"] is True
    positions, _, _ = mesh_of(data)
    heights = Frame(*tileset["asset"]["extras"]["origin"]).to_lonlat(positions)[:, 2]
    profile = plan["profile"]
    assert heights.min() == pytest.approx(min(st["bottom"] for st in profile), abs=0.01)
    assert heights.max() == pytest.approx(max(st["ground"] for st in profile), abs=0.01)
    assert property_table(data)["max_depth_m"] == [pytest.approx(plan["trench"]["max_depth_m"])]


def test_ground_is_open_over_the_trench(
    client: TestClient, login: Login, plan: dict[str, Any], tileset: dict[str, Any]
) -> None:
    data = client.get(f"/scenes/excavation/{plan['id']}/terrain.glb", headers=login("crew")).content
    positions, triangles, _ = mesh_of(data)
    frame = Frame(*tileset["asset"]["extras"]["origin"])
    centre = frame.to_lonlat(positions[triangles].mean(axis=1))
    ring = np.array(tileset["asset"]["extras"]["trench_ring"])
    from shapely import Polygon, contains_xy

    inside = contains_xy(Polygon(ring[:, :2]).buffer(-1e-6), centre[:, 0], centre[:, 1])
    assert not inside.any()
    assert len(triangles) > 100  # ground all around


def test_conflicting_utilities_are_highlighted(
    client: TestClient, login: Login, plan: dict[str, Any]
) -> None:
    data = client.get(f"/scenes/excavation/{plan['id']}/pipes.glb", headers=login("crew")).content
    table = property_table(data)
    roles = dict(zip(table["id"], table["role"], strict=True))
    assert roles[plan["pipe"]["id"]] == "dug"
    conflicting = {c["pipe"] for c in plan["conflicts"]}
    assert conflicting, "the sample sewer is crossed by other utilities"
    assert {i for i, r in roles.items() if r == "conflict"} == conflicting


def test_sibling_and_parent_cannot_see_the_cut(
    client: TestClient, login: Login, plan: dict[str, Any]
) -> None:
    assert (
        client.get(f"/scenes/excavation/{plan['id']}/tileset.json", headers=login("sibling")).status_code
        == 404
    )
    assert (
        client.get(f"/scenes/excavation/{plan['id']}/trench.glb", headers=login("sibling")).status_code == 404
    )
    assert client.get(f"/scenes/excavation/{plan['id']}/roof.glb", headers=login("crew")).status_code == 404
