"""The per-school summaries: every edit of a fact moves them in its own transaction, and a statistic read
from them equals the same statistic counted over the raw rows, for any period, bucket and level."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from tests.layers.conftest import SCHOOL
from tests.stats.conftest import NOW
from twin.access.roles import Role
from twin.access.scope import Caller
from twin.config import StatsSettings
from twin.db.summaries import SUMMARIES
from twin.stats import queries as q
from twin.stats.period import Period
from twin.stats.service import Query, build_request
from twin.stats.summary_sql import cells, summary_for
from twin.stats.topics import TOPICS

PROVINCE = Caller(0, "test", Role.analyst, "410000", None, whole=True)
SETTINGS = StatsSettings()


def _rows(conn: Connection, sql: str, params: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {}
    for r in conn.execute(text(sql), params).mappings():
        row = dict(r)
        out[(row["code"], row.get("split"), row.get("period"))] = row
    return out


def both(conn: Connection, query: Query) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """The statistic from the summary and from the raw rows, on the same connection and snapshot."""
    req = build_request(PROVINCE, query, NOW, SETTINGS)
    assert summary_for(req) is not None, query
    summary_sql, params = q.stats_sql(req)
    assert "FROM stats_" in summary_sql
    raw_sql, raw_params = q.raw_stats_sql(req)
    assert "FROM stats_" not in raw_sql
    return _rows(conn, summary_sql, params), _rows(conn, raw_sql, raw_params)


def school_row(conn: Connection, query: Query) -> dict[str, Any]:
    summary, raw = both(conn, query)
    assert summary == raw  # the summary is right after every step, not only at the end
    return summary[(SCHOOL, None, None)]


@pytest.fixture
def tx(owner: Engine) -> Iterator[Connection]:
    """One transaction, rolled back: the edits and the reads in between see the same uncommitted rows."""
    with owner.connect() as conn, conn.begin() as t:
        yield conn
        t.rollback()


def copy_row(conn: Connection, table: str, overrides: str) -> int:
    """A copy of the table's first row of the sample school, with `overrides` (a jsonb object in SQL)."""
    row_id = conn.execute(
        text(
            f"INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, to_jsonb(x)"
            f" || jsonb_build_object('id', nextval(pg_get_serial_sequence('{table}', 'id')),"
            f" 'geom', x.geom::text) || {overrides})).*"
            f" FROM {table} x WHERE x.id = (SELECT min(id) FROM {table}) RETURNING id"
        )
    ).scalar_one()
    return int(row_id)


def delta(after: dict[str, Any], before: dict[str, Any], *names: str) -> tuple[int, ...]:
    return tuple(after[n] - before[n] for n in names)


def test_a_risk_point_insert_update_delete_moves_the_summary(tx: Connection) -> None:
    query = Query("risks", "school")
    before = school_row(tx, query)
    rid = copy_row(tx, "risk_points", "jsonb_build_object('code', 'T-NEW', 'level', 4, 'effective_level', 4)")
    inserted = school_row(tx, query)
    assert delta(inserted, before, "points", "level_4", "level_1") == (1, 1, 0)
    tx.execute(text("UPDATE risk_points SET effective_level = 1, level = 1 WHERE id = :id"), {"id": rid})
    updated = school_row(tx, query)
    assert delta(updated, before, "points", "level_4", "level_1") == (1, 0, 1)
    tx.execute(text("DELETE FROM risk_points WHERE id = :id"), {"id": rid})
    assert school_row(tx, query) == before


def test_a_hazard_insert_update_delete_moves_the_summary(tx: Connection) -> None:
    query = Query("hazards", "school", period="2026")
    before = school_row(tx, query)
    overdue = (
        "jsonb_build_object('number', 'T-NEW', 'state', 'reported', 'grade', 'major',"
        " 'found_at', '2026-06-01T10:00:00+08:00', 'deadline', '2026-11-19T10:00:00+08:00')"
    )
    hid = copy_row(tx, "hazards", overdue)
    inserted = school_row(tx, query)
    assert delta(inserted, before, "found", "open", "overdue", "major", "closed") == (1, 1, 1, 1, 0)
    # Deadline moved past now: still open, no longer overdue (the "not yet" correction).
    tx.execute(
        text("UPDATE hazards SET deadline = :d WHERE id = :id"), {"d": NOW + timedelta(days=3), "id": hid}
    )
    later = school_row(tx, query)
    assert delta(later, before, "found", "open", "overdue") == (1, 1, 0)
    tx.execute(text("UPDATE hazards SET state = 'closed' WHERE id = :id"), {"id": hid})
    closed = school_row(tx, query)
    assert delta(closed, before, "found", "open", "overdue", "closed") == (1, 0, 0, 1)
    tx.execute(text("DELETE FROM hazards WHERE id = :id"), {"id": hid})
    assert school_row(tx, query) == before


def test_an_inspection_insert_update_delete_moves_the_summary(tx: Connection) -> None:
    query = Query("inspections", "school")
    before = school_row(tx, query)
    iid = tx.execute(
        text(
            "INSERT INTO inspections (org_path, campus_id, risk_point_id, frequency, due_at, geom)"
            " SELECT org_path, campus_id, id, 'test', :due, geom FROM risk_points"
            " WHERE id = (SELECT min(id) FROM risk_points) RETURNING id"
        ),
        {"due": NOW - timedelta(hours=5)},
    ).scalar_one()
    inserted = school_row(tx, query)
    assert delta(inserted, before, "due", "done", "missed", "done_late") == (1, 0, 1, 0)
    tx.execute(
        text("UPDATE inspections SET done_at = due_at + interval '1 hour' WHERE id = :id"), {"id": iid}
    )
    done = school_row(tx, query)
    assert delta(done, before, "due", "done", "missed", "done_late") == (1, 1, 0, 1)
    tx.execute(
        text("UPDATE inspections SET due_at = :t, done_at = NULL WHERE id = :id"),
        {"t": NOW + timedelta(hours=1), "id": iid},
    )
    ahead = school_row(tx, query)
    assert delta(ahead, before, "due", "done", "missed") == (0, 0, 0)
    tx.execute(text("DELETE FROM inspections WHERE id = :id"), {"id": iid})
    assert school_row(tx, query) == before


def test_an_alert_insert_update_delete_moves_the_summary(tx: Connection) -> None:
    query = Query("alerts", "school", period="2026-06")
    before = school_row(tx, query)
    aid = tx.execute(
        text(
            "INSERT INTO alerts (org_path, campus_id, event_id, type, severity, first_at, last_at, geom)"
            " SELECT org_path, campus_id, 'T-NEW', 'smoke', 'critical', :at, :at, geom FROM risk_points"
            " WHERE id = (SELECT min(id) FROM risk_points) RETURNING id"
        ),
        {"at": "2026-06-30T23:30:00+08:00"},
    ).scalar_one()
    inserted = school_row(tx, query)
    assert delta(inserted, before, "alerts", "critical", "active") == (1, 1, 1)
    tx.execute(
        text("UPDATE alerts SET cleared_at = first_at + interval '1 hour' WHERE id = :id"), {"id": aid}
    )
    cleared = school_row(tx, query)
    assert delta(cleared, before, "alerts", "critical", "active") == (1, 1, 0)
    # Local midnight decides the month: 23:30 on 30 June in Shanghai is still June, 00:30 on 1 July is not.
    tx.execute(text("UPDATE alerts SET first_at = '2026-07-01T00:30:00+08:00' WHERE id = :id"), {"id": aid})
    assert school_row(tx, query) == before
    tx.execute(text("DELETE FROM alerts WHERE id = :id"), {"id": aid})
    assert school_row(tx, query) == before


def test_an_update_that_changes_nothing_counted_or_only_swaps_it_between_rows_keeps_the_summary(
    tx: Connection,
) -> None:
    """The triggers skip an update whose old and new rows count the same (a count-up, two rows trading all
    they count); one that trades only part of it still moves the summary."""
    query = Query("alerts", "school", period="2026-06", split="type")
    insert = (
        "INSERT INTO alerts (org_path, campus_id, event_id, type, severity, first_at, last_at, geom)"
        " SELECT org_path, campus_id, :e, :type, :severity, :at, :at, geom FROM risk_points"
        " WHERE id = (SELECT min(id) FROM risk_points) RETURNING id"
    )
    one = tx.execute(
        text(insert), {"e": "T-ONE", "type": "smoke", "severity": "critical", "at": "2026-06-03T10:00+08:00"}
    ).scalar_one()
    two = tx.execute(
        text(insert),
        {"e": "T-TWO", "type": "water_leak", "severity": "minor", "at": "2026-06-20T10:00+08:00"},
    ).scalar_one()
    before, _raw = both(tx, query)
    tx.execute(
        text("UPDATE alerts SET count = count + 5, last_at = now() WHERE id IN (:a, :b)"),
        {"a": one, "b": two},
    )
    assert both(tx, query) == (before, before)
    swap = "UPDATE alerts a SET {cols} FROM alerts b WHERE (a.id, b.id) IN ((:a, :b), (:b, :a))"
    tx.execute(
        text(swap.format(cols="type = b.type, severity = b.severity, first_at = b.first_at")),
        {"a": one, "b": two},
    )
    assert both(tx, query) == (before, before)
    tx.execute(text(swap.format(cols="severity = b.severity")), {"a": one, "b": two})
    summary, raw = both(tx, query)
    assert summary == raw and summary != before


def test_a_bulk_statement_and_truncate_keep_the_summary_right(tx: Connection) -> None:
    query = Query("drills", "county", period="2026-05-01/2026-05-31", per="week")
    tx.execute(text("UPDATE drills SET participants = participants + 7, held_on = held_on + 3"))
    summary, raw = both(tx, query)
    assert summary == raw
    tx.execute(text("TRUNCATE education_sessions"))
    summary, raw = both(tx, Query("education", "school"))
    assert summary == raw and all(r["sessions"] == 0 for r in summary.values())


@pytest.mark.parametrize("group_by", ["school", "county", "province"])
@pytest.mark.parametrize(
    "period",
    [None, "2026", "2026-Q2", "2026-05", "2026-05-17", "2025-12-30/2026-02-01", "2026-03-15/2027-02-10"],
)
@pytest.mark.parametrize("per", [None, "day", "week", "month", "quarter", "year"])
def test_statistics_from_summaries_equal_counts_over_the_raw_rows(
    owner: Engine, group_by: str, period: str | None, per: str | None
) -> None:
    with owner.connect() as conn:
        for topic in ("hazards", "inspections", "alerts", "drills", "education", "bus_incidents"):
            summary, raw = both(conn, Query(topic, group_by, period=period, per=per))
            assert summary == raw, topic
    assert any(summary.values())


def test_other_calendars_and_topics_without_a_summary_read_the_raw_rows() -> None:
    incidents = build_request(PROVINCE, Query("incidents", "county", split="type"), NOW, SETTINGS)
    assert summary_for(incidents) is None
    utc = build_request(PROVINCE, Query("hazards", "county"), NOW, StatsSettings(timezone="UTC"))
    assert summary_for(utc) is None
    # Dates have no time zone: drills are summed whatever the calendar.
    drills = build_request(PROVINCE, Query("drills", "county"), NOW, StatsSettings(timezone="UTC"))
    assert summary_for(drills) is not None


def test_cells_cover_a_period_exactly_once_and_as_coarse_as_the_bucket_allows() -> None:
    rng = random.Random(9)
    for _ in range(500):
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(1500))
        period = Period(start, start + timedelta(days=rng.randrange(1, 900)))
        for coarsest in ("day", "month", "year"):
            covered: list[date] = []
            for grain, first, end in cells(period, coarsest):
                assert first < end
                if grain != "day":
                    assert first.day == 1 and end.day == 1
                if grain == "year":
                    assert coarsest == "year" and first.month == 1 and end.month == 1
                if grain == "month":
                    assert coarsest != "day"
                covered += [first + timedelta(days=i) for i in range((end - first).days)]
            assert sorted(covered) == [
                period.start + timedelta(days=i) for i in range((period.end - period.start).days)
            ]
    assert cells(Period(date(2025, 11, 20), date(2027, 2, 3)), "year") == [
        ("day", date(2025, 11, 20), date(2025, 12, 1)),
        ("day", date(2027, 2, 1), date(2027, 2, 3)),
        ("month", date(2025, 12, 1), date(2026, 1, 1)),
        ("year", date(2026, 1, 1), date(2027, 1, 1)),
        ("month", date(2027, 1, 1), date(2027, 2, 1)),
    ]


def test_a_fact_owned_by_a_county_counts_in_the_county_totals(tx: Connection) -> None:
    query = Query("drills", "county")
    before, _ = both(tx, query)
    tx.execute(
        text(
            "INSERT INTO drills (org_path, type, held_on, participants)"
            " SELECT path, 'fire', date '2026-04-01', 40 FROM org_units WHERE code = '410311'"
        )
    )
    after, raw = both(tx, query)
    assert after == raw
    assert after[("410311", None, None)]["drills"] == before[("410311", None, None)]["drills"] + 1


SPLITS = [(name, split) for name, s in SUMMARIES.items() for split in s.splits]


def test_every_split_a_summarised_topic_allows_has_a_split_table() -> None:
    for name, s in SUMMARIES.items():
        assert set(s.splits) == set(TOPICS[name].splits), name
        assert s.splits == TOPICS[name].splits, name  # the same expression, so the same groups


@pytest.mark.parametrize(
    ("group_by", "period", "per"),
    [
        ("school", None, None),
        ("county", "2026", "month"),
        ("province", "2026-03-15/2026-09-30", None),
        ("city", "2026-04-20/2026-06-10", "week"),
    ],
)
def test_split_statistics_from_summaries_equal_counts_over_the_raw_rows(
    owner: Engine, group_by: str, period: str | None, per: str | None
) -> None:
    compared = set()
    with owner.connect() as conn:
        for topic, split in SPLITS:
            timed = TOPICS[topic].time is not None
            query = Query(topic, group_by, period if timed else None, per if timed else None, split)
            summary, raw = both(conn, query)
            assert summary == raw, (topic, split)
            if any(k[1] is not None for k in summary):
                compared.add(topic)
    assert {"risks", "hazards", "drills"} <= compared, "the sample's facts were not split at all"


def test_a_hazard_edit_moves_its_split_rows(tx: Connection) -> None:
    query = Query("hazards", "school", period="2026", split="grade")
    before, _ = both(tx, query)
    overdue = (
        "jsonb_build_object('number', 'T-NEW', 'state', 'reported', 'grade', NULL,"
        " 'found_at', '2026-06-01T10:00:00+08:00', 'deadline', '2026-11-19T10:00:00+08:00')"
    )
    hid = copy_row(tx, "hazards", overdue)
    summary, raw = both(tx, query)
    assert summary == raw
    ungraded = summary[(SCHOOL, "ungraded", None)]
    was = before.get((SCHOOL, "ungraded", None), {"found": 0, "overdue": 0})
    assert delta(ungraded, was, "found", "overdue") == (1, 1)
    tx.execute(text("UPDATE hazards SET grade = 'major', state = 'closed' WHERE id = :id"), {"id": hid})
    summary, raw = both(tx, query)
    assert summary == raw
    assert delta(summary[(SCHOOL, "major", None)], before[(SCHOOL, "major", None)], "found", "closed") == (
        1,
        1,
    )
    tx.execute(text("DELETE FROM hazards WHERE id = :id"), {"id": hid})
    assert both(tx, query)[0] == before


def test_a_risk_point_with_no_level_is_a_split_of_its_own(tx: Connection) -> None:
    query = Query("risks", "school", split="level")
    copy_row(
        tx, "risk_points", "jsonb_build_object('code', 'T-NULL', 'level', NULL, 'effective_level', NULL)"
    )
    copy_row(
        tx, "risk_points", "jsonb_build_object('code', 'T-NULL2', 'level', NULL, 'effective_level', NULL)"
    )
    summary, raw = both(tx, query)
    assert summary == raw
    assert summary[(SCHOOL, None, None)]["points"] >= 2


def test_a_bucket_whose_rows_were_all_deleted_is_not_shown(tx: Connection) -> None:
    """Its summary row stays with n_rows 0; the raw rows have no such bucket, nor must the answer."""
    query = Query("hazards", "school", period="2031", per="month")
    hid = copy_row(
        tx, "hazards", "jsonb_build_object('number', 'T-2031', 'found_at', '2031-03-03T10:00:00+08:00')"
    )
    summary, raw = both(tx, query)
    assert summary == raw and (SCHOOL, None, "2031-03-01") in {(k[0], k[1], str(k[2])) for k in summary}
    tx.execute(text("DELETE FROM hazards WHERE id = :id"), {"id": hid})
    assert tx.execute(
        text("SELECT count(*) FROM stats_hazards WHERE day = '2031-03-01' AND n_rows = 0")
    ).scalar()
    summary, raw = both(tx, query)
    assert summary == raw
    assert all(k[2] is None for k in summary)  # the school's one row, with zeros and no bucket
