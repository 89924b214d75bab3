"""Inspections (排查): frequencies from data, idempotent tasks per period, missed = overdue, failed = hazard."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.hazards.conftest import T0, Login, owner_query
from twin.config import Settings
from twin.riskmap.inspections import due_times, frequencies

HENAN = "+08:00"
WEEK = {"from": "2026-10-12", "to": "2026-10-18"}  # Monday to Sunday, no holiday or term start after it


def local(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp + HENAN)


@pytest.mark.parametrize(
    ("name", "start", "end", "expected"),
    [
        (
            "daily",
            "2026-10-12T00:00",
            "2026-10-15T00:00",
            ["2026-10-12T18:00", "2026-10-13T18:00", "2026-10-14T18:00"],
        ),
        ("weekly", "2026-10-12T00:00", "2026-10-26T00:00", ["2026-10-16T18:00", "2026-10-23T18:00"]),
        ("monthly", "2027-01-15T00:00", "2027-03-15T00:00", ["2027-01-31T18:00", "2027-02-28T18:00"]),
        (
            "seasonal",
            "2026-01-01T00:00",
            "2027-01-01T00:00",
            [f"2026-{m:02d}-15T18:00" for m in (3, 6, 9, 12)],
        ),
        ("before_holidays", "2026-09-01T00:00", "2026-10-31T00:00", ["2026-09-24T18:00", "2026-09-30T18:00"]),
        ("before_semester", "2026-08-01T00:00", "2026-09-30T00:00", ["2026-08-31T18:00"]),
        ("after_disaster", "2026-01-01T00:00", "2027-01-01T00:00", []),
    ],
)
def test_due_times_of_each_frequency(name: str, start: str, end: str, expected: list[str]) -> None:
    assert due_times(frequencies(), name, local(start), local(end)) == [local(e) for e in expected]


def test_a_due_time_at_the_end_of_the_period_belongs_to_the_next() -> None:
    assert due_times(frequencies(), "daily", local("2026-10-12T18:00"), local("2026-10-13T18:00")) == [
        local("2026-10-12T18:00")
    ]


def _points_by_level(settings: Settings, level: str) -> int:
    return int(owner_query(settings, "SELECT count(*) FROM risk_points WHERE control_level = :l", l=level))


def test_generating_a_week_makes_each_task_once(client: TestClient, login: Login, loop_db: Settings) -> None:
    # Defaults: post daily (7 in the week), grade weekly (Friday), department and school monthly/seasonal (none).
    expected = 7 * _points_by_level(loop_db, "post") + _points_by_level(loop_db, "grade")
    assert expected > 0
    first = client.post("/inspections/generate", json=WEEK, headers=login("officer"))
    assert first.status_code == 200, first.text
    assert first.json() == {"created": expected}
    again = client.post("/inspections/generate", json=WEEK, headers=login("officer"))
    assert again.json() == {"created": 0}
    assert owner_query(loop_db, "SELECT count(*) FROM inspections") == expected


def test_only_officers_and_admins_generate(client: TestClient, login: Login) -> None:
    response = client.post("/inspections/generate", json=WEEK, headers=login("analyst"))
    assert response.status_code == 403
    backwards = client.post(
        "/inspections/generate", json={"from": "2026-10-18", "to": "2026-10-12"}, headers=login("officer")
    )
    assert backwards.status_code == 422


def test_a_missed_inspection_is_overdue_and_recording_it_clears_that(
    client: TestClient,
    login: Login,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    client.post("/inspections/generate", json=WEEK, headers=login("officer"))
    due = client.get("/inspections", params={"status": "due", "limit": 10_000}, headers=login("crew")).json()
    first_due = min(datetime.fromisoformat(t["due_at"]) for t in due["items"])
    try:
        clock.now = first_due - timedelta(seconds=1)
        assert (
            client.get("/inspections", params={"status": "overdue"}, headers=login("crew")).json()["total"]
            == 0
        )
        clock.now = first_due + timedelta(seconds=1)
        late = client.get("/inspections", params={"status": "overdue"}, headers=login("crew")).json()
        assert late["total"] > 0 and all(t["overdue"] for t in late["items"])
        task = late["items"][0]
        done = client.post(
            f"/inspections/{task['id']}/record", json={"result": "pass"}, headers=login("crew")
        )
        assert done.status_code == 200, done.text
        again = client.get("/inspections", params={"status": "overdue"}, headers=login("crew")).json()
        assert again["total"] == late["total"] - 1
        twice = client.post(
            f"/inspections/{task['id']}/record", json={"result": "pass"}, headers=login("crew")
        )
        assert twice.status_code == 409
    finally:
        clock.now = T0


def test_a_failed_check_opens_a_hazard_from_the_inspection(client: TestClient, login: Login) -> None:
    client.post("/inspections/generate", json=WEEK, headers=login("officer"))
    task = client.get("/inspections", params={"status": "due"}, headers=login("officer")).json()["items"][-1]
    body = {"result": "fail", "note": "door blocked", "hazard": {"name": "安全出口堵塞"}}
    response = client.post(f"/inspections/{task['id']}/record", json=body, headers=login("officer"))
    assert response.status_code == 200, response.text
    hazard_id = response.json()["hazard_id"]
    hazard = client.get(f"/hazards/{hazard_id}", headers=login("leader")).json()
    assert hazard["inspection_id"] == task["id"] and hazard["risk_point_id"] == task["risk_point_id"]
    assert hazard["state"] == "reported" and hazard["description"] == "door blocked"
    passed = {"result": "pass", "hazard": {"name": "x"}}
    other = client.get("/inspections", params={"status": "due"}, headers=login("officer")).json()["items"][0]
    assert (
        client.post(f"/inspections/{other['id']}/record", json=passed, headers=login("officer")).status_code
        == 422
    )


def test_a_plan_replaces_the_defaults_of_a_risk_point(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    point = int(owner_query(loop_db, "SELECT min(id) FROM risk_points WHERE control_level = 'school'"))
    plan = {"risk_point_id": point, "frequencies": ["daily"]}
    assert client.put("/inspections/plans", json=plan, headers=login("officer")).status_code == 200
    bad = client.put("/inspections/plans", json={**plan, "frequencies": ["hourly"]}, headers=login("officer"))
    assert bad.status_code == 422 and "hourly" in bad.json()["detail"]
    week = {"from": "2026-11-02", "to": "2026-11-08"}
    client.post("/inspections/generate", json=week, headers=login("officer"))
    n = owner_query(
        loop_db,
        "SELECT count(*) FROM inspections WHERE risk_point_id = :p AND due_at >= '2026-11-02+08' AND due_at < '2026-11-09+08'",
        p=point,
    )
    assert n == 7


def test_another_school_cannot_record_an_inspection(client: TestClient, login: Login) -> None:
    client.post("/inspections/generate", json=WEEK, headers=login("officer"))
    task = client.get("/inspections", params={"status": "all"}, headers=login("officer")).json()["items"][0]
    response = client.post(
        f"/inspections/{task['id']}/record", json={"result": "pass"}, headers=login("sibling")
    )
    assert response.status_code == 404
    assert client.get("/inspections", params={"status": "all"}, headers=login("sibling")).json()["total"] == 0


def test_after_a_disaster_every_risk_point_is_due_for_a_check(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    points = owner_query(loop_db, "SELECT count(*) FROM risk_points")
    body = {"event": "暴雨", "campus": "LY01"}
    response = client.post("/inspections/after-disaster", json=body, headers=login("officer"))
    assert response.status_code == 200, response.text
    assert response.json()["created"] == points
    assert datetime.fromisoformat(response.json()["due_at"]) == T0 + timedelta(hours=24)
    again = client.post("/inspections/after-disaster", json=body, headers=login("officer"))
    assert again.json()["created"] == 0  # the same call twice is one call
    assert client.post("/inspections/after-disaster", json=body, headers=login("crew")).status_code == 403
