"""POST /pipes/isolation on the sample campus: by pipe id or a clicked point, scoped to the caller."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

Login = Callable[[str], dict[str, str]]


def water_main(db: Connection) -> tuple[int, float, float]:
    """A water main between two branch points, and the lon/lat of its middle."""
    row = db.execute(
        text(
            "SELECT s.id, ST_X(ST_LineInterpolatePoint(s.geom, 0.5)) AS lon,"
            " ST_Y(ST_LineInterpolatePoint(s.geom, 0.5)) AS lat FROM pipe_segments s"
            " JOIN campuses c ON c.id = s.campus_id WHERE c.code = 'LY01' AND s.utility = 'water'"
            " AND s.diameter_mm >= 100 AND EXISTS (SELECT 1 FROM valves v WHERE v.segment_id = s.id)"
            " ORDER BY s.code LIMIT 1"
        )
    ).one()
    return int(row.id), float(row.lon), float(row.lat)


def ask(client: TestClient, login: Login, user: str = "crew", **body: object) -> dict[str, object]:
    response = client.post(
        "/pipes/isolation", json={"campus": "LY01", "utility": "water", **body}, headers=login(user)
    )
    return {"status": response.status_code, **response.json()}


def test_break_names_valves_segment_and_buildings(client: TestClient, login: Login, db: Connection) -> None:
    pipe, _, _ = water_main(db)
    answer = ask(client, login, pipe_id=pipe)
    assert answer["status"] == 200
    assert pipe in answer["segment"]["pipes"]  # type: ignore[index]
    valves = answer["valves_to_close"]
    assert valves and all(len(v["position"]) == 2 for v in valves)  # type: ignore[union-attr]
    valve_ids = {v["id"] for v in valves}  # type: ignore[union-attr]
    placed = db.execute(
        text("SELECT segment_id, node_id FROM valves WHERE id = ANY(:ids)"), {"ids": list(valve_ids)}
    ).all()
    pipes, nodes = set(answer["segment"]["pipes"]), set(answer["segment"]["nodes"])  # type: ignore[index]
    # each valve to close sits on the boundary: its pipe inside and its node outside, or the reverse
    assert all((pipe_ in pipes) != (node in nodes) for pipe_, node in placed)
    kinds = {f["geometry"]["type"] for f in answer["geojson"]["features"]}  # type: ignore[index]
    assert kinds == {"LineString", "Point"}


def test_clicked_point_snaps_to_the_nearest_pipe(client: TestClient, login: Login, db: Connection) -> None:
    pipe, lon, lat = water_main(db)
    answer = ask(client, login, point=[lon, lat + 0.000005])
    assert answer["status"] == 200
    assert answer["pipe_id"] == pipe
    assert answer["snapped"]["distance_m"] < 1.0  # type: ignore[index]


def test_point_far_from_every_pipe_is_refused_with_the_distance(
    client: TestClient, login: Login, db: Connection
) -> None:
    _, lon, lat = water_main(db)
    answer = ask(client, login, point=[lon, lat + 0.01])
    assert answer["status"] == 422
    assert answer["distance_m"] > 900  # type: ignore[operator]
    assert "m of a pipe" in answer["detail"]  # type: ignore[operator]


def test_failed_valve_grows_the_segment(client: TestClient, login: Login, db: Connection) -> None:
    pipe, _, _ = water_main(db)
    first = ask(client, login, pipe_id=pipe)
    failed = first["valves_to_close"][0]["id"]  # type: ignore[index]
    second = ask(client, login, pipe_id=pipe, failed_valves=[failed])
    assert second["status"] == 200
    assert failed not in {v["id"] for v in second["valves_to_close"]}  # type: ignore[union-attr]
    assert set(first["segment"]["pipes"]) < set(second["segment"]["pipes"])  # type: ignore[index]


def test_sibling_schools_pipe_is_not_found(client: TestClient, login: Login, db: Connection) -> None:
    theirs = db.execute(text("SELECT id FROM pipe_segments WHERE code = 'SB-P1'")).scalar_one()
    assert ask(client, login, pipe_id=theirs)["status"] == 404
    answer = ask(client, login, campus="SB01", pipe_id=theirs)
    assert answer["status"] == 404
    assert "SIBLINGLEAK" not in str(answer)


def test_sibling_cannot_trace_our_campus(client: TestClient, login: Login, db: Connection) -> None:
    pipe, _, _ = water_main(db)
    assert ask(client, login, "sibling", pipe_id=pipe)["status"] == 404


def test_pipe_id_and_point_together_are_refused(client: TestClient, login: Login) -> None:
    answer = ask(client, login, pipe_id=1, point=[112.4, 34.6])
    assert answer["status"] == 422
    assert "exactly one of pipe_id or point" in answer["detail"]  # type: ignore[operator]


def test_topology_report_of_the_sample_campus(client: TestClient, login: Login) -> None:
    response = client.get("/pipes/topology", params={"campus": "LY01"}, headers=login("leader"))
    assert response.status_code == 200
    reports = {r["utility"]: r for r in response.json()}
    assert set(reports) == {"water", "drainage", "gas", "power", "telecom", "heat"}
    water = reports["water"]
    assert water["duplicates"] == [] and water["missing_depths"] == []
    assert len(water["parts"]) == 1  # the sample's water network is one connected whole
