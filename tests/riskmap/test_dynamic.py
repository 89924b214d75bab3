"""Dynamic risks: a linked open hazard or active sensor alert raises the likelihood, in the database.

Written as the other writers (the hazard loop, the live ingest) would: plain INSERT/UPDATE on hazards,
sensors and alerts, no call into twin.riskmap. Expected levels are worked out here from risk.md's bands.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from twin.riskmap.scales import default_scale


@pytest.fixture
def conn(owner: Engine) -> Any:
    with owner.connect() as c:
        transaction = c.begin()
        yield c
        transaction.rollback()


def make_point(
    conn: Connection, method: str, inputs: dict[str, float], level: int, dynamic: bool = True
) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO risk_points (org_path, campus_id, code, name, category, method, inputs, level,"
                " dynamic, geom)"
                " SELECT org_path, campus_id, :code, 'boiler room', 'utilities', :m, CAST(:i AS jsonb), :l, :d, geom"
                " FROM risk_points ORDER BY id LIMIT 1 RETURNING id"
            ),
            {
                "code": f"DYN-{method}-{level}-{dynamic}",
                "m": method,
                "i": json.dumps(inputs),
                "l": level,
                "d": dynamic,
            },
        ).scalar_one()
    )


def effective(conn: Connection, point: int) -> tuple[int, int, int]:
    r = conn.execute(
        text("SELECT level, effective_level, likelihood_steps FROM risk_points WHERE id = :id"), {"id": point}
    ).one()
    return r.level, r.effective_level, r.likelihood_steps


def hazard(conn: Connection, point: int, state: str = "reported") -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO hazards (org_path, campus_id, number, name, category, state, found_at, risk_point_id, geom)"
                " SELECT org_path, campus_id, 'H-' || :p || '-' || :s, 'leaking valve', 'utilities', :s, now(), id, geom"
                " FROM risk_points WHERE id = :p RETURNING id"
            ),
            {"p": point, "s": state},
        ).scalar_one()
    )


def sensor_alert(conn: Connection, point: int) -> tuple[int, int]:
    sensor = conn.execute(
        text(
            "INSERT INTO sensors (org_path, campus_id, device_id, type, geom, risk_point_id)"
            " SELECT org_path, campus_id, 'gas-' || id, 'gas', geom, id FROM risk_points WHERE id = :p RETURNING id"
        ),
        {"p": point},
    ).scalar_one()
    alert = conn.execute(
        text(
            "INSERT INTO alerts (org_path, campus_id, sensor_id, event_id, type, severity, first_at, last_at, geom)"
            " SELECT org_path, campus_id, id, 'ev-' || id, 'gas', 'major', now(), now(), geom FROM sensors"
            " WHERE id = :s RETURNING id"
        ),
        {"s": sensor},
    ).scalar_one()
    return int(sensor), int(alert)


def test_an_open_hazard_raises_a_dynamic_point_one_step_and_closing_it_restores(conn: Connection) -> None:
    # LS L=3 S=4: R=12 general (3); one step up L=4: R=16 considerable (2).
    point = make_point(conn, "LS", {"L": 3, "S": 4}, 3)
    assert effective(conn, point) == (3, 3, 0)
    h = hazard(conn, point)
    assert effective(conn, point) == (3, 2, 1)
    conn.execute(text("UPDATE hazards SET state = 'closed' WHERE id = :h"), {"h": h})
    assert effective(conn, point) == (3, 3, 0)


def test_a_rejected_hazard_does_not_raise(conn: Connection) -> None:
    point = make_point(conn, "LS", {"L": 3, "S": 4}, 3)
    hazard(conn, point, "rejected")
    assert effective(conn, point) == (3, 3, 0)


def test_a_static_point_keeps_its_level_whatever_is_linked(conn: Connection) -> None:
    point = make_point(conn, "LS", {"L": 3, "S": 4}, 3, dynamic=False)
    hazard(conn, point)
    sensor_alert(conn, point)
    assert effective(conn, point) == (3, 3, 0)


def test_an_active_alert_and_an_open_hazard_add_up_to_the_cap(conn: Connection) -> None:
    # LEC L=1 E=6 C=15: D=90 general (3). L list up: 1 -> 3 -> 6. Two steps: D=540 major (1).
    point = make_point(conn, "LEC", {"L": 1, "E": 6, "C": 15}, 3)
    _, alert = sensor_alert(conn, point)
    assert effective(conn, point) == (3, 2, 1)  # L=3: D=270 considerable
    hazard(conn, point)
    assert effective(conn, point) == (3, 1, 2)
    conn.execute(text("UPDATE alerts SET cleared_at = now() WHERE id = :a"), {"a": alert})
    assert effective(conn, point) == (3, 2, 1)


def test_unlinking_the_sensor_drops_its_raise(conn: Connection) -> None:
    point = make_point(conn, "LS", {"L": 3, "S": 4}, 3)
    sensor, _ = sensor_alert(conn, point)
    assert effective(conn, point)[1] == 2
    conn.execute(text("UPDATE sensors SET risk_point_id = NULL WHERE id = :s"), {"s": sensor})
    assert effective(conn, point) == (3, 3, 0)


def test_the_raise_reaches_the_roll_up(conn: Connection) -> None:
    point = make_point(conn, "LS", {"L": 3, "S": 4}, 3)
    campus = conn.execute(text("SELECT campus_id FROM risk_points WHERE id = :p"), {"p": point}).scalar_one()

    def orange() -> int:
        return int(
            conn.execute(
                text("SELECT points[2] FROM risk_rollup WHERE key = :k"), {"k": f"campus:{campus}"}
            ).scalar_one()
        )

    before = orange()
    hazard(conn, point)
    assert orange() == before + 1


def test_a_client_cannot_set_the_effective_level(conn: Connection) -> None:
    point = make_point(conn, "LS", {"L": 3, "S": 4}, 3)
    conn.execute(
        text("UPDATE risk_points SET effective_level = 1, likelihood_steps = 2 WHERE id = :p"), {"p": point}
    )
    assert effective(conn, point) == (3, 3, 0)


def test_the_database_grades_with_the_shipped_default_scale(conn: Connection) -> None:
    """The root row seeded by migration 0008 must not drift from scales.yaml."""
    stored = conn.execute(text("SELECT definition FROM risk_scales WHERE org_path = ''")).scalar_one()
    assert stored == json.loads(json.dumps(default_scale().definition()))
