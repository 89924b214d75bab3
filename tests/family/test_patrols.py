"""Patrol rounds: a guard's phone near a checkpoint (OsmAnd) or a tag scan (MQTT) is a visit; the
scheduler judges each checkpoint of a shift on time, late or missed and alerts the late and missed."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import pytest
from sqlalchemy import text

from tests.family.conftest import CHECKPOINTS, SCHOOL, World, minutes, running_server, token
from twin.config import FamilySettings
from twin.live.ingest import IngestStats, handle
from twin.live.patrols import check_patrols

SETTINGS = FamilySettings()
METRE_LAT = 1 / 111_000  # degrees of latitude in a metre, near enough for offsets of a few metres


def _scan(event_id: str, tag: str, at: datetime) -> bytes:
    return json.dumps({"event_id": event_id, "tag": tag, "time": at.isoformat()}).encode()


def _visit_by_tag(world: World, i: int, at: datetime) -> None:
    topic = f"campus/{SCHOOL}/patrols/TAG-READER-1/scans"
    assert (
        handle(world.engine, topic, _scan(f"s{i}-{at.minute}", f"TAG-{i}", at), at, IngestStats()) == "visit"
    )


def _statuses(world: World) -> list[str]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status FROM patrol_checks c JOIN patrol_checkpoints p ON p.id = c.checkpoint_id"
                " ORDER BY p.sequence"
            )
        )
        return list(rows.scalars())


def _alerts(world: World) -> list[tuple[str, int]]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT type, (context->'checkpoint'->>'id')::int FROM alerts"
                " WHERE type LIKE 'patrol%' ORDER BY id"
            )
        )
        return [(t, c) for t, c in rows]


def _run(world: World, at: datetime) -> dict[str, int]:
    with world.engine.begin() as conn:
        return check_patrols(conn, at, SETTINGS)


def test_checkpoints_are_judged_on_time_late_or_missed_and_the_late_and_missed_alerted(world: World) -> None:
    cp1, cp2, cp3 = world.checkpoint_ids
    _visit_by_tag(world, 1, minutes(3))  # due +0, tolerance 5: on time
    counts = _run(world, minutes(12))
    assert counts["planned"] == 3
    assert _statuses(world) == ["on_time", "pending", "pending"]
    counts = _run(world, minutes(16))  # checkpoint 2 was due at +10 ± 5 and nobody came
    assert _statuses(world) == ["on_time", "missed", "pending"]
    assert _alerts(world) == [("patrol_missed", cp2)]
    _visit_by_tag(world, 2, minutes(18))  # the guard comes late, still within the shift
    _run(world, minutes(40))
    assert _statuses(world) == ["on_time", "late", "missed"]
    assert _alerts(world) == [("patrol_missed", cp2), ("patrol_late", cp2), ("patrol_missed", cp3)]
    assert _run(world, minutes(50)) == {"planned": 0, "on_time": 0, "late": 0, "missed": 0, "alerts": 0}
    with world.engine.connect() as conn:
        notify = conn.execute(
            text("SELECT context->'notify' FROM alerts WHERE type = 'patrol_missed' LIMIT 1")
        ).scalar_one()
    assert {p["title"] for p in notify} == {"保安队长", "安全办主任"}
    assert cp1 not in {c for _t, c in _alerts(world)}


def test_no_checks_are_planned_before_the_shift_or_on_days_off(world: World) -> None:
    assert _run(world, minutes(-1))["planned"] == 0
    with world.engine.begin() as conn:
        conn.execute(text("UPDATE patrol_schedules SET weekdays = '67'"))  # 2026-11-24 is a Tuesday
    assert _run(world, minutes(30))["planned"] == 0


def test_a_guard_phone_within_a_checkpoints_radius_visits_it_over_osmand(world: World) -> None:
    x, y = CHECKPOINTS[0]
    with running_server(world.settings) as host:
        near = {
            "id": "GUARD-PHONE-1",
            "lat": y + 8 * METRE_LAT,
            "lon": x,
            "timestamp": minutes(1).isoformat(),
        }
        far = {**near, "lat": y + 40 * METRE_LAT, "timestamp": minutes(2).isoformat()}
        assert httpx.get(f"http://{host}/osmand", params=near).status_code == 200
        assert httpx.get(f"http://{host}/osmand", params=near).status_code == 200  # a resend
        assert httpx.get(f"http://{host}/osmand", params=far).status_code == 200
        unknown = httpx.get(f"http://{host}/osmand", params={**near, "id": "NOBODY"})
        assert unknown.status_code == 400
        assert "neither a registered bus terminal nor a guard" in unknown.json()["detail"]
    with world.engine.connect() as conn:
        visits = conn.execute(text("SELECT checkpoint_id, source FROM patrol_visits")).all()
    assert visits == [(world.checkpoint_ids[0], "gps")]
    _run(world, minutes(30))
    assert _statuses(world)[0] == "on_time"


@pytest.mark.parametrize(
    ("device", "payload", "reason"),
    [
        ("TAG-READER-1", _scan("u1", "TAG-NOWHERE", minutes(0)), "unknown_tag"),
        ("NO-SUCH-READER", _scan("u2", "TAG-1", minutes(0)), "unknown_device"),
        ("TAG-READER-1", b'{"event_id": "u3", "tag": "TAG-1"}', "malformed"),
    ],
)
def test_bad_scans_are_refused_with_nothing_stored(
    world: World, device: str, payload: bytes, reason: str
) -> None:
    topic = f"campus/{SCHOOL}/patrols/{device}/scans"
    assert handle(world.engine, topic, payload, minutes(0), IngestStats()) == reason
    with world.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol_visits")).scalar_one() == 0


def test_coverage_per_shift_in_the_api_the_statistics_and_on_the_map(world: World) -> None:
    _visit_by_tag(world, 1, minutes(2))
    _visit_by_tag(world, 2, minutes(19))
    _run(world, minutes(40))  # on time, late, missed
    with running_server(world.settings) as host:
        leader = {"Authorization": f"Bearer {token(host, 'leader')}"}
        sibling = {"Authorization": f"Bearer {token(host, 'sibling')}"}
        window = {"start": minutes(-60).isoformat(), "end": minutes(120).isoformat()}
        answer = httpx.get(f"http://{host}/patrols/coverage", params=window, headers=leader).json()
        assert [(s["route_code"], s["schedule_name"]) for s in answer["shifts"]] == [("P1", "Evening")]
        shift = answer["shifts"][0]
        assert (shift["judged"], shift["on_time"], shift["late"], shift["missed"]) == (3, 1, 1, 1)
        assert shift["on_time_pct"] == pytest.approx(100 / 3, abs=0.05)
        assert (
            httpx.get(f"http://{host}/patrols/coverage", params=window, headers=sibling).json()["shifts"]
            == []
        )
        backwards = httpx.get(
            f"http://{host}/patrols/coverage",
            params={"start": window["end"], "end": window["start"]},
            headers=leader,
        )
        assert backwards.status_code == 400
        assert backwards.headers["content-type"].startswith("application/problem+json")

        stats = httpx.get(f"http://{host}/stats/patrols?period=2026-11-24", headers=leader).json()
        row = next(r for r in stats["rows"] if r["code"] == SCHOOL)
        assert (row["due"], row["on_time"], row["late"], row["missed"]) == (3, 1, 1, 1)
        assert row["on_time_pct"] == pytest.approx(100 / 3, abs=0.05)

        items = httpx.get(f"http://{host}/collections/patrol_checkpoints/items", headers=leader).json()
        ours = [f for f in items["features"] if f["properties"]["route_id"] == world.patrol_route_id]
        assert sorted(f["properties"]["code"] for f in ours) == ["CP1", "CP2", "CP3"]
        with world.engine.connect() as conn:
            recent_on_time = conn.execute(
                text(
                    "SELECT count(*) FROM patrol_checks WHERE status = 'on_time'"
                    " AND due_at > now() - interval '7 days' AND checkpoint_id = :c"
                ),
                {"c": world.checkpoint_ids[0]},
            ).scalar_one()
        first = next(f for f in ours if f["properties"]["code"] == "CP1")
        assert first["properties"]["on_time_7d"] == recent_on_time
        assert first["geometry"]["coordinates"] == pytest.approx(list(CHECKPOINTS[0]))
        routes = httpx.get(f"http://{host}/collections/patrol_routes/items", headers=leader).json()
        assert {f["properties"]["code"]: f["geometry"]["type"] for f in routes["features"]}[
            "P1"
        ] == "LineString"
        hidden = httpx.get(f"http://{host}/collections/patrol_checkpoints/items", headers=sibling).json()
        assert hidden["features"] == []
        gates = httpx.get(f"http://{host}/collections/gates/items", headers=leader).json()
        names = {f["properties"]["name"] for f in gates["features"]}
        assert {"North Gate", "South Gate"} <= names
