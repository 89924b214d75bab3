"""Province scale: a quadtree of lazily made building tiles, and content dropped when its data changes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.conftest import sample_database
from tests.layers.conftest import PASSWORD, _add_sibling_and_users
from tests.scenes.gltf import property_table
from twin.api import create_app
from twin.config import Settings
from twin.scenes.province import QuadTile, node_error


def _walk(client: TestClient, headers: dict[str, str], url: str, seen: dict[str, Any]) -> None:
    doc = client.get(url, headers=headers).json()
    root = doc["root"]
    if "content" in root:
        response = client.get(root["content"]["uri"], headers=headers)
        assert response.status_code == 200
        seen["leaves"] += 1
        seen["codes"] += property_table(response.content)["code"]
        assert root["geometricError"] == 0 and len(root["transform"]) == 16
    for child in root.get("children", []):
        assert child["geometricError"] > 0 and "region" in child["boundingVolume"]
        _walk(client, headers, child["content"]["uri"], seen)


@pytest.fixture(scope="module")
def small_tiles(pipes_db: Settings) -> Iterator[TestClient]:
    """The app with at most 5 buildings per tile, so the sample campus is split over several levels."""
    settings = pipes_db.model_copy(deep=True)
    settings.scenes.province_tile_buildings = 5
    with TestClient(create_app(settings)) as c:
        yield c


def _token(client: TestClient, user: str) -> dict[str, str]:
    response = client.post("/auth/token", data={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_quadtree_holds_every_visible_building_once(small_tiles: TestClient, db: Any) -> None:
    seen: dict[str, Any] = {"leaves": 0, "codes": []}
    _walk(small_tiles, _token(small_tiles, "province"), "/scenes/province/tileset.json", seen)
    stored = [r.code for r in db.execute(text("SELECT code FROM buildings"))]
    assert sorted(seen["codes"]) == sorted(stored)
    assert seen["leaves"] >= 4  # split: no leaf holds more than 5 of the ~25 buildings


def test_quadtree_is_scoped(small_tiles: TestClient) -> None:
    seen: dict[str, Any] = {"leaves": 0, "codes": []}
    _walk(small_tiles, _token(small_tiles, "sibling"), "/scenes/province/tileset.json", seen)
    assert seen["codes"] == []
    assert (
        small_tiles.get(
            "/scenes/province/40/0/0/tileset.json", headers=_token(small_tiles, "leader")
        ).status_code
        == 404
    )


def test_children_load_within_about_twice_their_parents_width() -> None:
    tile = QuadTile(12, 3327, 1442)
    assert node_error(tile) == pytest.approx(0.017 * 2 * tile.width_m)
    assert node_error(QuadTile(20, 0, 0)) == pytest.approx(0.017 * 1500)


@pytest.fixture(scope="module")
def writable(services: Settings, sample_files: object) -> Iterator[Settings]:
    with sample_database(services, sample_files, _add_sibling_and_users) as settings:
        yield settings


def test_content_is_remade_when_a_building_changes(writable: Settings) -> None:
    with TestClient(create_app(writable)) as client:
        headers = _token(client, "leader")
        first = client.get("/scenes/LY01/buildings.glb", headers=headers)
        assert (
            client.get("/scenes/LY01/buildings.glb", headers=headers).headers["etag"] == first.headers["etag"]
        )
        engine = create_engine(writable.db.sync_url())
        with engine.begin() as conn:
            code = conn.execute(
                text(
                    "UPDATE buildings SET height_m = 33.3 WHERE id = (SELECT min(id) FROM buildings) RETURNING code"
                )
            ).scalar_one()
        engine.dispose()
        deadline = time.monotonic() + 15  # the notification arrives at commit, through the listener
        while time.monotonic() < deadline:
            again = client.get("/scenes/LY01/buildings.glb", headers=headers)
            if again.headers["etag"] != first.headers["etag"]:
                break
            time.sleep(0.1)
        table = property_table(again.content)
        assert dict(zip(table["code"], table["height_m"], strict=True))[code] == pytest.approx(33.3)
