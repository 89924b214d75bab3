"""Retention of the monthly logs (twin.db.retention, `twin db retention`) and migration 0021 both ways.

Old months are dropped whole, newer ones and the default partition are kept, the statistics' summary keeps
the retired months' counts, a dump holds the retired rows, and a dry run changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas
import pandas
import psycopg
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.db.test_migrations import CAMPUS, SCHOOL, connect
from twin.cli import app
from twin.config import Settings, get_settings
from twin.db import migrate, retention
from twin.db.engine import sync_engine

NOW = datetime(2020, 6, 15, 12, tzinfo=UTC)
KEEP = 3  # with NOW: March to June 2020 are kept, February and before retired
MONTHS = {"2020_01": "2020-01-15T04:00Z", "2020_02": "2020-02-10T04:00Z", "2020_03": "2020-03-03T04:00Z"}
ODD = "1999-12-31T23:00Z"  # no month holds it: the default partition


def _rows(conn: psycopg.Connection) -> None:
    conn.execute(SCHOOL)
    conn.execute(CAMPUS)
    conn.execute(
        "INSERT INTO vehicles (org_path, campus_id, plate, device_id) SELECT org_path, id, 'P', 'D' FROM campuses"
    )
    conn.execute(
        "INSERT INTO alerts (org_path, campus_id, event_id, type, severity, first_at, last_at, geom)"
        " SELECT org_path, id, 'a-1', 'smoke', 'major', now(), now(), ST_SetSRID(ST_MakePoint(112.45, 34.62), 4326)"
        " FROM campuses"
    )
    for table in retention.TABLES:
        for t in MONTHS.values():
            conn.execute("SELECT twin_ensure_month_partition(%s, %s)", (table, t))
    for i, t in enumerate(MONTHS.values()):  # positions has no default partition: no odd time
        conn.execute(
            "INSERT INTO positions (vehicle_id, time, org_path, geom) SELECT id, %s, org_path,"
            " ST_SetSRID(ST_MakePoint(112.45, 34.62 + %s / 1000.0), 4326) FROM vehicles",
            (t, i),
        )
    for i, t in enumerate([*MONTHS.values(), ODD]):
        conn.execute(
            "INSERT INTO alert_events (event_id, org_path, alert_id, severity, time)"
            " SELECT %s, org_path, id, 'major', %s FROM alerts",
            (f"e-{i}", t),
        )
        conn.execute(
            "INSERT INTO bus_incidents (org_path, vehicle_id, kind, at, value, geom)"
            " SELECT org_path, id, 'late', %s, %s, ST_SetSRID(ST_MakePoint(112.45, 34.62 + %s / 1000.0), 4326)"
            " FROM vehicles",
            (t, i, i),
        )


def summary(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT org_path::text, county, grain, day, n_rows, incidents, late FROM stats_bus_incidents"
        " ORDER BY 1, 2, 3, 4"
    ).fetchall()


def partitions(conn: psycopg.Connection) -> list[tuple[str, str, int]]:
    """Every partition of the three tables and its row count."""
    names = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent::regclass::text = ANY(%s) ORDER BY 1",
        (list(retention.TABLES),),
    ).fetchall()
    return [(n, *conn.execute(f"SELECT count(*) FROM {n}").fetchone()) for (n,) in names]  # type: ignore[misc]


@pytest.fixture
def loaded(fresh_db: Settings) -> Iterator[tuple[Settings, Engine]]:
    with connect(fresh_db) as conn:
        _rows(conn)
    engine = sync_engine(fresh_db.db)
    yield fresh_db, engine
    engine.dispose()


def test_old_months_are_dumped_and_dropped_and_the_summary_keeps_their_counts(
    loaded: tuple[Settings, Engine], tmp_path: Path
) -> None:
    settings, engine = loaded
    with connect(settings) as conn:
        before = summary(conn)
        january = [r[4:] for r in before if r[1:4] == (False, "month", date(2020, 1, 1))]
        assert january == [(1, 1, 1)]
    retired = {}
    for table in retention.TABLES:
        made, gone = retention.retire_months(engine, table, KEEP, now=NOW, export_dir=tmp_path)
        assert f"{table}_2020_06" in made and f"{table}_2021_06" in made
        retired[table] = [(r.partition.name, r.rows) for r in gone]
    assert retired == {t: [(f"{t}_2020_01", 1), (f"{t}_2020_02", 1)] for t in retention.TABLES}
    with connect(settings) as conn:
        assert summary(conn) == before  # a detach and a drop fire no trigger
        left = {
            n: count
            for n, count in partitions(conn)
            if n.endswith(("2020_01", "2020_02", "2020_03", "default"))
        }
        assert left == {"positions_2020_03": 1, "alert_events_2020_03": 1, "bus_incidents_2020_03": 1,
                        "alert_events_default": 1, "bus_incidents_default": 1}  # fmt: skip
    dumped = geopandas.read_parquet(tmp_path / "bus_incidents_2020_02.parquet")
    assert dumped.crs.to_string() == "OGC:CRS84" and dumped.geometry.name == "geom"  # lon/lat order
    assert (dumped.at[0, "kind"], dumped.at[0, "value"], dumped.geometry[0].y) == (
        "late",
        1.0,
        pytest.approx(34.621),
    )
    assert str(dumped.at[0, "at"]) == "2020-02-10 04:00:00+00:00"
    assert geopandas.read_parquet(tmp_path / "positions_2020_01.parquet").geometry[0].y == pytest.approx(
        34.62
    )
    events = pandas.read_parquet(tmp_path / "alert_events_2020_01.parquet")
    assert list(events["event_id"]) == ["e-0"] and events.at[0, "org_path"] == "41.4103.410311.4103110001"


def test_a_dry_run_names_what_would_go_and_changes_nothing(
    loaded: tuple[Settings, Engine], tmp_path: Path
) -> None:
    settings, engine = loaded
    with connect(settings) as conn:
        before = partitions(conn), summary(conn)
    made, gone = retention.retire_months(
        engine, "bus_incidents", KEEP, now=NOW, export_dir=tmp_path, dry_run=True
    )
    assert "bus_incidents_2020_06" in made
    assert [r.partition.name for r in gone] == ["bus_incidents_2020_01", "bus_incidents_2020_02"]
    with connect(settings) as conn:
        assert (partitions(conn), summary(conn)) == before
    assert list(tmp_path.iterdir()) == []


def test_making_a_month_takes_its_rows_out_of_the_default_without_counting_them_again(
    loaded: tuple[Settings, Engine],
) -> None:
    settings, _engine = loaded
    with connect(settings) as conn:
        before = summary(conn)
        conn.execute("SELECT twin_ensure_month_partition('bus_incidents', %s)", (ODD,))
        assert conn.execute("SELECT count(*) FROM bus_incidents_1999_12").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM bus_incidents_default").fetchone() == (0,)
        assert summary(conn) == before


def test_downgrade_keeps_every_row_and_the_summary_and_upgrade_partitions_them_again(
    loaded: tuple[Settings, Engine],
) -> None:
    settings, _engine = loaded
    with connect(settings) as conn:
        before = summary(conn)
        ids = conn.execute("SELECT id, at FROM bus_incidents ORDER BY id").fetchall()
    migrate.downgrade(settings.db, "0020")
    with connect(settings) as conn:
        kinds = conn.execute(
            "SELECT relname, relkind FROM pg_class WHERE relname IN ('alert_events', 'bus_incidents') ORDER BY 1"
        ).fetchall()
        assert kinds == [("alert_events", "r"), ("bus_incidents", "r")]
        assert conn.execute("SELECT id, at FROM bus_incidents ORDER BY id").fetchall() == ids
        assert conn.execute("SELECT count(*) FROM alert_events").fetchone() == (4,)
        assert summary(conn) == before
    migrate.upgrade(settings.db)
    with connect(settings) as conn:
        assert conn.execute("SELECT relkind FROM pg_class WHERE relname = 'bus_incidents'").fetchone() == (
            "p",
        )
        assert conn.execute("SELECT id, at FROM bus_incidents ORDER BY id").fetchall() == ids
        # the migration makes the months around its own date: the 2020 rows wait in the default partition
        assert conn.execute("SELECT count(*) FROM alert_events_default").fetchone() == (4,)
        assert summary(conn) == before
        conn.execute(  # the statistics' triggers are back and the ids go on after the copied ones
            "INSERT INTO bus_incidents (org_path, kind, at) SELECT org_path, 'late', '2020-01-20T04:00Z' FROM campuses"
        )
        assert conn.execute("SELECT max(id) FROM bus_incidents").fetchone() == (max(i for i, _ in ids) + 1,)
        month = conn.execute(
            "SELECT n_rows FROM stats_bus_incidents WHERE NOT county AND grain = 'month' AND day = '2020-01-01'"
        ).fetchone()
        assert month == (2,)


@pytest.fixture
def cli_env(loaded: tuple[Settings, Engine], monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    settings, _engine = loaded
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql://postgres@127.0.0.1:{settings.db.private_port}/{settings.db.name}"
    )
    monkeypatch.setenv("TWIN_DATA_DIR", str(settings.paths.data_dir))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_the_command_retires_months_older_than_kept_and_refuses_keeping_none(
    cli_env: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["db", "retention", "--keep-months", "0"])
    assert refused.exit_code == 2 and "keep at least 1 month" in refused.output
    dry = runner.invoke(
        app, ["db", "retention", "--keep-months", "1", "--table", "bus_incidents", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "bus_incidents_2020_01" in dry.output and "would retire" in dry.output
    done = runner.invoke(
        app, ["db", "retention", "--keep-months", "1", "--table", "bus_incidents", "--export", str(tmp_path)]
    )
    assert done.exit_code == 0, done.output
    with connect(cli_env) as conn:
        months = [n for n, _count in partitions(conn) if n.startswith("bus_incidents_")]
    oldest = min(n for n in months if n != "bus_incidents_default")
    last_month = datetime.now(UTC).year * 12 + datetime.now(UTC).month - 2
    assert oldest == f"bus_incidents_{last_month // 12}_{last_month % 12 + 1:02d}"
    assert (tmp_path / "bus_incidents_2020_01.parquet").exists()
