"""/stats as GeoJSON for web maps (the group boundaries), `within` for drill-down, and the topic list."""

from __future__ import annotations

from collections.abc import Callable

import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.layers.conftest import COUNTY, SCHOOL, SIBLING

Login = Callable[[str], dict[str, str]]


def test_geojson_has_the_json_rows_and_each_schools_stored_boundary(
    client: TestClient, login: Login, owner: Engine
) -> None:
    url = "/stats/drills?group_by=school&period=2026"
    rows = client.get(url, headers=login("county")).json()["rows"]
    response = client.get(url + "&f=geojson", headers=login("county"))
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["columns"][:2] == ["code", "name"]
    assert [f["properties"] for f in body["features"]] == rows
    by_code = {f["id"]: f for f in body["features"]}
    with owner.begin() as conn:
        stored = conn.execute(
            text("SELECT ST_AsBinary(boundary) FROM org_units WHERE code = :c"), {"c": SCHOOL}
        ).scalar_one()
    drawn = shapely.geometry.shape(by_code[SCHOOL]["geometry"])
    assert drawn.equals_exact(shapely.from_wkb(bytes(stored)), 1e-9)
    assert by_code[SIBLING]["geometry"] is None  # no boundary stored: null, still listed


def test_within_narrows_to_one_unit_and_refuses_one_outside(client: TestClient, login: Login) -> None:
    whole = client.get("/stats/drills?group_by=school", headers=login("province")).json()["rows"]
    school = client.get(f"/stats/drills?group_by=school&within={SCHOOL}", headers=login("province"))
    assert school.status_code == 200
    assert [r["code"] for r in school.json()["rows"]] == [SCHOOL]
    assert school.json()["rows"][0] == next(r for r in whole if r["code"] == SCHOOL)
    county = client.get(f"/stats/drills?group_by=school&within={COUNTY}", headers=login("province"))
    assert {r["code"] for r in county.json()["rows"]} == {SCHOOL, SIBLING}
    # A school leader asking for the county above them: not theirs, answered as if it did not exist.
    refused = client.get(f"/stats/drills?group_by=school&within={COUNTY}", headers=login("leader"))
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert COUNTY in refused.json()["detail"]


def test_the_topic_list_names_measures_and_whether_a_period_applies(client: TestClient, login: Login) -> None:
    body = client.get("/stats", headers=login("analyst")).json()
    topics = {t["name"]: t for t in body["topics"]}
    assert body["groups"] == ["province", "city", "county", "school"]
    assert topics["risks"]["periods"] is False and topics["drills"]["periods"] is True
    assert "participants_per_1000" in topics["drills"]["columns"] and topics["drills"]["spatial"] is False
    for name in topics:  # each listed topic answers
        assert client.get(f"/stats/{name}", headers=login("analyst")).status_code == 200
    assert client.get("/stats").status_code == 401


def test_a_region_without_a_stored_boundary_is_drawn_as_the_hull_of_its_schools(
    client: TestClient, login: Login, owner: Engine
) -> None:
    with owner.begin() as conn:
        stored = conn.execute(
            text("SELECT boundary IS NULL FROM org_units WHERE code = :c"), {"c": COUNTY}
        ).scalar_one()
        schools = conn.execute(
            text(
                "SELECT ST_AsBinary(ST_ConvexHull(ST_Collect(s.boundary))) FROM org_units s"
                " JOIN org_units c ON s.path <@ c.path WHERE c.code = :c AND s.level = 'school'"
            ),
            {"c": COUNTY},
        ).scalar_one()
    assert stored, "the fixture's county has no boundary of its own"
    body = client.get("/stats/drills?group_by=county&f=geojson", headers=login("province")).json()
    county = next(f for f in body["features"] if f["id"] == COUNTY)
    drawn = shapely.geometry.shape(county["geometry"])
    assert drawn.geom_type == "MultiPolygon"
    assert drawn.equals(shapely.from_wkb(bytes(schools)))
