"""The big screen's deck.gl scene spec: layers @deck.gl/json can build, with the campus's own data."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

Login = Callable[[str], dict[str, str]]


def test_deck_spec_has_pickable_buildings_and_3d_pipe_paths(
    client: TestClient, login: Login, db: Connection
) -> None:
    response = client.get("/scenes/LY01/deck.json", headers=login("leader"))
    assert response.status_code == 200, response.text
    spec = response.json()
    layers = {layer["id"]: layer for layer in spec["layers"]}
    assert layers["buildings"]["@@type"] == "PolygonLayer"
    assert layers["buildings"]["pickable"] is True
    assert layers["buildings"]["getElevation"] == "@@=height_m"
    codes = {b["code"] for b in layers["buildings"]["data"]}
    stored = db.execute(
        text("SELECT b.code FROM buildings b JOIN campuses c ON c.id = b.campus_id WHERE c.code = 'LY01'")
    )
    assert codes == {r.code for r in stored}
    pipes = layers["pipes"]
    assert pipes["@@type"] == "PathLayer" and pipes["widthUnits"] == "meters"
    ground = {b["code"]: b["polygon"][0][0][2] for b in layers["buildings"]["data"]}
    lowest_base = min(ground.values())
    for pipe in pipes["data"]:
        assert all(len(p) == 3 for p in pipe["path"])
        assert min(p[2] for p in pipe["path"]) < max(
            ground.values()
        )  # under the ground, not on the ellipsoid
    assert lowest_base > 0
    assert layers["risk_zones"]["data"], "the sample campus has graded zones"
    assert {"alerts", "buses"} <= set(layers)
    assert spec["initialViewState"]["pitch"] > 0


def test_deck_spec_is_scoped(client: TestClient, login: Login) -> None:
    assert client.get("/scenes/SB01/deck.json", headers=login("leader")).status_code == 404
    assert client.get("/scenes/LY01/deck.json", headers=login("sibling")).status_code == 404
