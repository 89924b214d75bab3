"""Hot spots of incidents (H3 + Gi*, the statistics' method): a planted cluster in a toilet block shows
up as a hot cell whose incidents happened in toilets, at campus and at county level; no one is named."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.hazards.conftest import CAMPUS, COUNTY, SCHOOL
from tests.signing import Login

CLUSTER = 12
SCATTERED = 14
SCATTER_KINDS = ("classroom", "playground", "corridor", "canteen", "stairwell", "gate", "dormitory")


def _post(client: TestClient, login: Login, lon: float, lat: float, kind: str) -> None:
    body = {
        "type": "physical",
        "place_kind": kind,
        "occurred_at": "2026-10-12T10:20:00+08:00",
        "lon": lon,
        "lat": lat,
        "involved": [{"kind": "student", "role": "victim", "person_id": None}],
    }
    response = client.post("/incidents", json=body, headers={**login("officer")})
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def planted(client: TestClient, login: Login, owner: Engine) -> tuple[float, float]:
    """Incidents scattered over the campus, and a cluster at one toilet block; the cluster's point."""
    with owner.connect() as conn:
        toilet = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM buildings"
                " WHERE code = 'B03') x"
            )
        ).one()
        spread = conn.execute(
            text(
                "SELECT ST_X(g.geom), ST_Y(g.geom) FROM campuses c,"
                " ST_Dump(ST_GeneratePoints(ST_Buffer(c.boundary, -0.0003), :n, 7)) g"
            ),
            {"n": SCATTERED},
        ).all()
    for i, (lon, lat) in enumerate(spread):
        _post(client, login, lon, lat, SCATTER_KINDS[i % len(SCATTER_KINDS)])
    for i in range(CLUSTER):
        # Within a few metres of one another: one toilet block.
        _post(client, login, toilet[0] + (i % 3) * 0.00002, toilet[1] + (i // 3) * 0.00001, "toilet")
    return float(toilet[0]), float(toilet[1])


def _hot(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [f["properties"] for f in body["features"] if f["properties"]["spot"] == "hot"]


def test_the_toilet_cluster_is_the_hot_spot(
    client: TestClient, login: Login, planted: tuple[float, float]
) -> None:
    import h3

    response = client.get(f"/incidents/hotspots?org={SCHOOL}", headers=login("officer"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == CLUSTER + SCATTERED
    hot = _hot(body)
    assert hot, body["features"]
    cluster_cell = h3.latlng_to_cell(planted[1], planted[0], body["res"])
    # Gi* speaks of neighbourhoods: the hot cells are the cluster's cell or its ring, nowhere else.
    assert {h["h3"] for h in hot} <= set(h3.grid_disk(cluster_cell, 1))
    assert all(h["top_place"] == "toilet" for h in hot)
    toilets = body["places"][0]
    assert toilets["place_kind"] == "toilet" and toilets["count"] == CLUSTER
    assert toilets["in_hot_spots"] == CLUSTER
    quiet = [
        f["properties"]
        for f in body["features"]
        if f["properties"]["h3"] not in h3.grid_disk(cluster_cell, 2)
    ]
    assert all(q["spot"] != "hot" for q in quiet)
    assert body["people"] == {"victim": {"student": CLUSTER + SCATTERED}}


def test_county_sees_where_by_kind_of_place(
    client: TestClient, login: Login, planted: tuple[float, float]
) -> None:
    for user in ("county", "county_leader"):
        response = client.get(f"/incidents/hotspots?org={COUNTY}&res=10", headers=login(user))
        assert response.status_code == 200, (user, response.text)
        body = response.json()
        assert body["org"]["code"] == COUNTY
        assert body["places"][0]["place_kind"] == "toilet"
        assert "person_id" not in json.dumps(body)


def test_statistics_are_not_for_parents_or_crews(client: TestClient, login: Login) -> None:
    for user in ("parent", "crew"):
        response = client.get("/incidents/hotspots", headers=login(user))
        assert response.status_code == 403, (user, response.text)
    bad = client.get(f"/incidents/hotspots?org={SCHOOL}&res=3", headers=login("officer"))
    assert bad.status_code == 400 and "res" in bad.json()["detail"]
    only = client.get(f"/incidents/hotspots?org={SCHOOL}&place_kind=gate", headers=login("officer"))
    assert only.status_code == 200 and {p["place_kind"] for p in only.json()["places"]} <= {"gate"}
    assert client.get(f"/incidents/hotspots?org={CAMPUS}", headers=login("officer")).status_code == 404


def test_incidents_are_a_statistics_topic(
    client: TestClient, login: Login, planted: tuple[float, float]
) -> None:
    response = client.get("/stats/incidents?group_by=school&split=place_kind", headers=login("county"))
    assert response.status_code == 200, response.text
    rows = [r for r in response.json()["rows"] if r["code"] == SCHOOL]
    by_kind = {r["split"]: r["incidents"] for r in rows}
    assert by_kind["toilet"] >= CLUSTER
    assert "person_id" not in response.text
    hot = client.get("/stats/hotspots?topic=incidents&res=10", headers=login("county"))
    assert hot.status_code == 200, hot.text
    assert client.get("/stats/incidents", headers=login("parent")).status_code == 403
