"""Time travel: the risk map, zones, points and hazards of a campus as they were at a past instant.

The past comes from the versions the triggers keep (feature_versions): edit a zone's level, delete a
point, close a hazard, then ask for the instant before — the old state is there and today's is not
touched.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.hazards.conftest import CAMPUS, SCHOOL, SIBLING
from tests.signing import Login


def _iso(t: datetime) -> str:
    return quote(t.isoformat().replace("+00:00", "Z"))


def _items(client: TestClient, login: Login, url: str, user: str = "officer") -> dict[int, dict[str, Any]]:
    response = client.get(url, headers=login(user))
    assert response.status_code == 200, response.text
    return {f["id"]: f for f in response.json()["features"]}


def _zone_colours(client: TestClient, login: Login, query: str = "") -> dict[int, dict[str, Any]]:
    response = client.get(f"/riskmap/{SCHOOL}/four-colour{query}", headers=login("officer"))
    assert response.status_code == 200, response.text
    return {f["id"]: f["properties"] for f in response.json()["features"]}


@pytest.fixture(scope="module")
def history(client: TestClient, login: Login, owner: Engine) -> dict[str, Any]:
    """The campus before and after: a zone raised to level 1, a risk point deleted, a hazard rejected."""
    report = {
        "name": "楼梯扶手松动",
        "category": "buildings",
        "campus": CAMPUS,
        "building": "B01",
        "floor": 2,
    }
    hazard = client.post("/hazards", json=report, headers=login("officer"))
    assert hazard.status_code == 201, hazard.text
    with owner.begin() as conn:
        zone = conn.execute(
            text(
                "SELECT z.id, z.level FROM risk_zones z JOIN risk_rollup r ON r.key = 'zone:' || z.id"
                " WHERE twin_rollup_highest(r.points, r.zones) > 1 ORDER BY z.id LIMIT 1"
            )
        ).one()
        point = conn.execute(
            text(
                "SELECT p.id, p.zone_id FROM risk_points p WHERE NOT EXISTS"
                " (SELECT 1 FROM hazards h WHERE h.risk_point_id = p.id) AND NOT EXISTS"
                " (SELECT 1 FROM inspections i WHERE i.risk_point_id = p.id) ORDER BY p.id LIMIT 1"
            )
        ).one()
    time.sleep(0.05)
    before = datetime.now(UTC)
    time.sleep(0.05)
    with owner.begin() as conn:
        conn.execute(text("UPDATE risk_zones SET level = 1 WHERE id = :id"), {"id": zone.id})
        conn.execute(text("DELETE FROM risk_points WHERE id = :id"), {"id": point.id})
    moved = client.post(
        f"/hazards/{hazard.json()['id']}/transitions",
        json={"to": "rejected", "reason": "已修复"},
        headers=login("officer"),
    )
    assert moved.status_code == 200, moved.text
    return {"before": before, "zone": zone, "point": point.id, "hazard": hazard.json()["id"]}


def test_zone_level_and_colour_as_they_were(
    client: TestClient, login: Login, history: dict[str, Any]
) -> None:
    zone, before = history["zone"], history["before"]
    today = _zone_colours(client, login)
    past = _zone_colours(client, login, f"?datetime={_iso(before)}")
    assert today[zone.id]["level"] == 1 and today[zone.id]["effective_level"] == 1
    assert past[zone.id]["level"] == zone.level
    assert past[zone.id]["effective_level"] > 1
    assert past[zone.id]["colour"] != today[zone.id]["colour"]
    # Every other zone reads the same then and now: only the edit moved.
    assert {k: v for k, v in past.items() if k != zone.id} == {k: v for k, v in today.items() if k != zone.id}
    items = _items(client, login, f"/collections/risk_zones/items?limit=1000&datetime={_iso(before)}")
    assert items[zone.id]["properties"]["level"] == zone.level
    now = _items(client, login, "/collections/risk_zones/items?limit=1000")
    assert now[zone.id]["properties"]["level"] == 1 and set(now) == set(items)
    layer = _items(client, login, f"/collections/four_colour/items?limit=1000&as-at={_iso(before)}")
    assert layer[zone.id]["properties"]["effective_level"] == past[zone.id]["effective_level"]


def test_deleted_point_is_there_in_the_past(
    client: TestClient, login: Login, history: dict[str, Any]
) -> None:
    point, before = history["point"], history["before"]
    past = _items(client, login, f"/collections/risk_points/items?limit=1000&datetime={_iso(before)}")
    today = _items(client, login, "/collections/risk_points/items?limit=1000")
    assert point in past and point not in today
    assert set(past) - set(today) == {point}
    one = client.get(
        f"/collections/risk_points/items?limit=1000&as-at={_iso(before)}&code={quote(past[point]['properties']['code'])}",
        headers=login("officer"),
    )
    assert [f["id"] for f in one.json()["features"]] == [point] and one.json()["numberMatched"] == 1
    rollup_then = client.get(f"/riskmap/{SCHOOL}/rollup?datetime={_iso(before)}", headers=login("officer"))
    rollup_now = client.get(f"/riskmap/{SCHOOL}/rollup", headers=login("officer"))
    assert rollup_then.json()["total_points"] == rollup_now.json()["total_points"] + 1
    control = client.get(
        f"/riskmap/{SCHOOL}/control-list?f=json&datetime={_iso(before)}", headers=login("officer")
    )
    assert len(control.json()["rows"]) == rollup_then.json()["total_points"]


def test_hazard_open_then_closed_now(client: TestClient, login: Login, history: dict[str, Any]) -> None:
    hazard, before = history["hazard"], history["before"]
    past = _items(client, login, f"/collections/hazards/items?limit=1000&as-at={_iso(before)}&state=reported")
    today = _items(client, login, "/collections/hazards/items?limit=1000&state=reported")
    assert hazard in past and hazard not in today
    then = _items(client, login, f"/collections/hazards/items?limit=1000&as-at={_iso(before)}")
    assert then[hazard]["properties"]["state"] == "reported"


def test_a_date_before_the_campus_existed_names_the_earliest(
    client: TestClient, login: Login, owner: Engine
) -> None:
    with owner.begin() as conn:
        first = conn.execute(text("SELECT min(created_at) FROM campuses")).scalar_one()
    early = _iso(first - timedelta(days=30))
    for url in (
        f"/collections/risk_zones/items?datetime={early}",
        f"/collections/hazards/items?as-at={early}",
        f"/riskmap/{SCHOOL}/four-colour?datetime={early}",
        f"/riskmap/{SCHOOL}/rollup?datetime={early}",
    ):
        response = client.get(url, headers=login("officer"))
        assert response.status_code == 400, (url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "earliest" in response.json()["detail"] and first.isoformat()[:19] in response.json()["detail"]


def test_bad_instants_are_400s(client: TestClient, login: Login) -> None:
    for url, named in (
        ("/collections/four_colour/items?datetime=2026-05-01", "datetime"),
        ("/collections/risk_zones/items?as-at=yesterday", "as-at"),
        ("/collections/risk_zones/items?as-at=2026-05-01T00:00:00Z/..", "as-at"),
        ("/collections/sensors/items?as-at=2026-05-01T00:00:00Z", "no history"),
        (f"/riskmap/{SCHOOL}/four-colour?datetime=last-week", "datetime"),
    ):
        response = client.get(url, headers=login("officer"))
        assert response.status_code == 400, (url, response.text)
        assert named in response.json()["detail"], response.json()["detail"]


def test_the_past_keeps_to_the_jurisdiction(
    client: TestClient, login: Login, history: dict[str, Any]
) -> None:
    before = _iso(history["before"])
    assert _items(client, login, f"/collections/risk_zones/items?datetime={before}", "sibling") == {}
    response = client.get(f"/riskmap/{SCHOOL}/four-colour?datetime={before}", headers=login("sibling"))
    assert response.status_code == 404
    assert (
        client.get(f"/riskmap/{SIBLING}/rollup?datetime={before}", headers=login("parent")).status_code == 404
    )
