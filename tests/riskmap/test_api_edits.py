"""Edits through the server (OGC API Features Part 4, as a safety officer under row-level security) keep
the roll-up and the dynamic levels right: the triggers need no call from the editing engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.layers.conftest import SCHOOL
from twin.riskmap.scales import assess, default_scale

Login = Callable[[str], dict[str, str]]


def total(client: TestClient, login: Login) -> dict[str, Any]:
    r = client.get(f"/riskmap/{SCHOOL}/rollup", headers=login("officer"))
    assert r.status_code == 200, r.text
    return r.json()


def zone_counts(client: TestClient, login: Login, zone_id: int) -> list[int]:
    fc = client.get(f"/riskmap/{SCHOOL}/four-colour", headers=login("officer")).json()
    return next(f["properties"]["points_by_level"] for f in fc["features"] if f["id"] == zone_id)


def test_delete_and_restore_through_the_api_roll_up(client: TestClient, login: Login, owner: Engine) -> None:
    with owner.connect() as c:
        p = c.execute(
            text(
                "SELECT id, version, effective_level, zone_id FROM risk_points WHERE zone_id IS NOT NULL"
                " ORDER BY id DESC LIMIT 1"
            )
        ).one()
    before, zone_before = total(client, login), zone_counts(client, login, p.zone_id)
    headers = login("officer")
    r = client.delete(
        f"/collections/risk_points/items/{p.id}", headers={**headers, "If-Match": f'"{p.id}-{p.version}"'}
    )
    assert r.status_code == 204, r.text
    after = total(client, login)
    assert after["total_points"] == before["total_points"] - 1
    assert after["points"][str(p.effective_level)] == before["points"][str(p.effective_level)] - 1
    zone_after = zone_counts(client, login, p.zone_id)
    assert zone_after[p.effective_level - 1] == zone_before[p.effective_level - 1] - 1
    r = client.post(
        f"/collections/risk_points/items/{p.id}/versions/{p.version}/restore",
        headers={**headers, "If-Match": f'"{p.id}-{p.version + 1}"'},
    )
    assert r.status_code == 200, r.text
    assert total(client, login)["points"] == before["points"]
    assert zone_counts(client, login, p.zone_id) == zone_before


def test_a_hazard_reported_through_the_api_raises_its_dynamic_point(
    client: TestClient, login: Login, owner: Engine
) -> None:
    with owner.connect() as c:
        candidates = c.execute(
            text(
                "SELECT id, method, inputs, level, campus_id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM risk_points"
                " WHERE dynamic AND method = 'LS' AND (inputs ->> 'L')::int < 5 ORDER BY id"
            )
        ).all()

    def raised(p: Any) -> int:  # one step up the LS likelihood list 1..5, graded with the default bands
        return min(p.level, assess("LS", dict(p.inputs, L=p.inputs["L"] + 1), default_scale()).level)

    p = next(p for p in candidates if raised(p) < p.level)  # a point whose level the raise changes
    expected = raised(p)
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
        "properties": {
            "campus_id": p.campus_id,
            "number": "YH-API-1",
            "name": "gas smell",
            "category": "utilities",
            "found_at": "2026-11-24T08:00:00Z",
            "risk_point_id": p.id,
        },
    }
    r = client.post("/collections/hazards/items", json=feature, headers=login("officer"))
    assert r.status_code == 201, r.text
    hazard = r.json()["id"]
    with owner.connect() as c:
        level = c.execute(
            text("SELECT effective_level FROM risk_points WHERE id = :id"), {"id": p.id}
        ).scalar_one()
    assert level == expected
    r = client.delete(
        f"/collections/hazards/items/{hazard}", headers={**login("officer"), "If-Match": f'"{hazard}-1"'}
    )
    assert r.status_code == 204, r.text
    with owner.connect() as c:
        level = c.execute(
            text("SELECT effective_level FROM risk_points WHERE id = :id"), {"id": p.id}
        ).scalar_one()
    assert level == p.level
