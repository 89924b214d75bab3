"""POST /pipes/excavation and the printable plan, on the sample campus with its DEM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyproj
import pytest
import rasterio
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

Login = Callable[[str], dict[str, str]]


def sewer(db: Connection) -> int:
    """A drainage main of the sample campus: deep (invert depths), crossed by the other utilities."""
    return int(
        db.execute(
            text(
                "SELECT s.id FROM pipe_segments s JOIN campuses c ON c.id = s.campus_id WHERE c.code = 'LY01'"
                " AND s.utility = 'drainage' ORDER BY s.diameter_mm DESC, s.code LIMIT 1"
            )
        ).scalar_one()
    )


@pytest.fixture(scope="module")
def plan(client: TestClient, login: Login, db: Connection) -> dict[str, Any]:
    body = {"campus": "LY01", "utility": "drainage", "pipe_id": sewer(db), "soil": "clay"}
    response = client.post("/pipes/excavation", json=body, headers=login("crew"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_plan_has_trench_profile_volume_and_flags(plan: dict[str, Any]) -> None:
    trench = plan["trench"]
    assert trench["volume_m3"] > 0 and trench["max_depth_m"] > 1.5
    assert len(plan["profile"]) >= 2
    assert set(plan["flags"]) == {"shoring_needed", "special_plan", "calculation_needed"}
    assert {f["properties"]["part"] for f in plan["geojson"]["features"]} == {"top", "bottom", "centreline"}
    lon, lat = plan["geojson"]["features"][0]["geometry"]["coordinates"][0][0]
    assert 112.44 < lon < 112.46 and 34.61 < lat < 34.63  # CRS84, on the sample campus
    for station in plan["profile"]:  # depth to the invert: the pipe's bottom is that deep
        assert station["depth"] == pytest.approx(station["ground"] - station["bottom"], abs=0.002)


def test_profile_ground_is_the_dem_sampled_independently(plan: dict[str, Any], db: Connection) -> None:
    path, srid = db.execute(text("SELECT path, srid FROM campus_rasters WHERE kind = 'dem'")).one()
    metric = plan["metric"]["srid"]
    to_dem = pyproj.Transformer.from_crs(metric, srid, always_xy=True)
    with rasterio.open(path) as dem:
        for station in plan["profile"][:: max(1, len(plan["profile"]) // 5)]:
            x, y = to_dem.transform(station["x"], station["y"])
            [value] = next(dem.sample([(x, y)]))
            assert station["ground"] == pytest.approx(float(value), abs=0.3)  # bilinear vs the cell's value


def test_other_utilities_near_the_sewer_are_listed_with_distances(plan: dict[str, Any]) -> None:
    # the sample lays water 1.5 m, gas 1.5 m, power and telecom 2.5 m off the sewer's road centreline
    conflicts = plan["conflicts"]
    assert conflicts, "the sample's parallel utilities lie within GB 50289 clearances of the sewer"
    assert all(c["utility"] != "drainage" for c in conflicts)
    assert all(c["distance_m"] >= 0 and c["required_m"] > 0 and c["source"] for c in conflicts)


def test_printable_plan_as_html_and_pdf(client: TestClient, login: Login, plan: dict[str, Any]) -> None:
    html = client.get(f"/pipes/excavation/{plan['id']}/plan.html", headers=login("leader"))
    assert html.status_code == 200
    assert "Excavation plan" in html.text and html.text.count("<svg") == 2
    assert "Valves to close" in html.text and "Safety" in html.text
    pdf = client.get(f"/pipes/excavation/{plan['id']}/plan.pdf", headers=login("crew"))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_plan_is_stored_in_the_schools_scope(client: TestClient, login: Login, plan: dict[str, Any]) -> None:
    assert (
        client.get(f"/pipes/excavation/{plan['id']}/plan.html", headers=login("sibling")).status_code == 404
    )


def test_only_crews_and_admins_make_plans(client: TestClient, login: Login, db: Connection) -> None:
    body = {"campus": "LY01", "utility": "drainage", "pipe_id": sewer(db)}
    response = client.post("/pipes/excavation", json=body, headers=login("leader"))
    assert response.status_code == 403


def test_unknown_soil_is_refused_naming_the_known_ones(
    client: TestClient, login: Login, db: Connection
) -> None:
    body = {"campus": "LY01", "utility": "drainage", "pipe_id": sewer(db), "soil": "peat"}
    response = client.post("/pipes/excavation", json=body, headers=login("crew"))
    assert response.status_code == 422
    assert "clay" in response.json()["detail"]


def test_unknown_pipe_is_not_found(client: TestClient, login: Login) -> None:
    body = {"campus": "LY01", "utility": "drainage", "pipe_id": 99_999_999}
    assert client.post("/pipes/excavation", json=body, headers=login("crew")).status_code == 404


def test_point_trench_is_short_and_says_the_soil_was_assumed(
    client: TestClient, login: Login, db: Connection
) -> None:
    lon, lat = db.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(geom, 0.5) AS p FROM pipe_segments WHERE id = :id) q"
        ),
        {"id": sewer(db)},
    ).one()
    body = {"campus": "LY01", "utility": "drainage", "point": [lon, lat], "length_m": 4}
    response = client.post("/pipes/excavation", json=body, headers=login("crew"))
    assert response.status_code == 201, response.text
    assert response.json()["trench"]["length_m"] == pytest.approx(4.0)
    assert any("soil not given" in a for a in response.json()["assumptions"])
