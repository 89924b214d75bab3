"""The COPY loader builds the same province as the import path, row for row, roll-up and levels included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from sqlalchemy import create_engine

from tests.conftest import TEMPLATE_DB, clone_database, drop_database
from twin.config import Settings
from twin.db.provision import libpq_dsn
from twin.db.summaries import SUMMARIES
from twin.samples.copyload import load_province_copy
from twin.samples.loading import load_province
from twin.samples.positions import FIX_S, SCHOOL_RUNS, load_day_positions
from twin.samples.province import PER_CAMPUS

SCHOOLS, SEED = 3, 11
TABLES = ("org_units", "campuses", *(s.table for s in PER_CAMPUS), "drills", "education_sessions")


@pytest.fixture
def two_dbs(services: Settings) -> Iterator[tuple[Settings, Settings]]:
    a, b = clone_database(services, TEMPLATE_DB), clone_database(services, TEMPLATE_DB)
    try:
        yield a, b
    finally:
        drop_database(a)
        drop_database(b)


def snapshot(settings: Settings) -> dict[str, object]:
    with psycopg.connect(libpq_dsn(settings.db.sync_url())) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone() for t in TABLES}
        return {
            **counts,
            "paths": conn.execute(
                "SELECT code, path::text, enrolment FROM org_units ORDER BY code"
            ).fetchall(),
            "levels": conn.execute(
                "SELECT code, level, effective_level, likelihood_steps FROM risk_points"
                " ORDER BY org_path, code"
            ).fetchall(),
            "rollup": conn.execute("SELECT key, points, zones FROM risk_rollup ORDER BY key").fetchall(),
            "refs": conn.execute(
                "SELECT count(*) FROM hazards h JOIN risk_points r ON r.id = h.risk_point_id"
                " WHERE r.campus_id = h.campus_id"
            ).fetchone(),
            "geoms": conn.execute(
                "SELECT md5(string_agg(ST_AsEWKT(geom), ',' ORDER BY org_path, code)) FROM buildings"
            ).fetchone(),
            "people": conn.execute("SELECT code, role, name FROM people ORDER BY code").fetchall(),
            "vehicles": conn.execute(
                "SELECT plate, device_id, d.code FROM vehicles v LEFT JOIN people d ON d.id = v.driver_id"
                " ORDER BY plate"
            ).fetchall(),
            "sensors": conn.execute(
                "SELECT device_id, ST_AsEWKT(geom) FROM sensors ORDER BY device_id"
            ).fetchall(),
            "heights": conn.execute(
                "SELECT code, base_elev_m, height_m FROM buildings ORDER BY org_path, code"
            ).fetchall(),
            "guardians": conn.execute(
                "SELECT p.code, s.code FROM guardians g JOIN people p ON p.id = g.parent_id"
                " JOIN people s ON s.id = g.student_id ORDER BY 1, 2"
            ).fetchall(),
            "drills": conn.execute(
                "SELECT org_path::text, type, held_on, participants FROM drills ORDER BY 1, 2, 3, 4"
            ).fetchall(),
            # Kept by triggers on the import path, rebuilt once after the COPY load: the same rows.
            **{
                s.table: conn.execute(
                    f"SELECT row(s.*)::text FROM {s.table} s WHERE n_rows <> 0 ORDER BY 1"
                ).fetchall()
                for s in SUMMARIES.values()
            },
            **{
                s.split_table(split): conn.execute(
                    f"SELECT row(s.*)::text FROM {s.split_table(split)} s WHERE n_rows <> 0 ORDER BY 1"
                ).fetchall()
                for s in SUMMARIES.values()
                for split in s.splits
            },
        }


def test_copy_load_matches_the_import_path(two_dbs: tuple[Settings, Settings]) -> None:
    imported, copied = two_dbs
    engine = create_engine(imported.db.sync_url())
    assert load_province(engine, SCHOOLS, seed=SEED) == SCHOOLS
    engine.dispose()
    seen: list[int] = []
    assert (
        load_province_copy(
            libpq_dsn(copied.db.sync_url()), SCHOOLS, seed=SEED, chunk_size=2, progress=seen.append
        )
        == SCHOOLS
    )
    assert seen == [2, 3]
    expected, got = snapshot(imported), snapshot(copied)
    assert got["campuses"] == (SCHOOLS,)
    for key in expected:
        assert got[key] == expected[key], key


def test_a_school_day_of_bus_fixes_lands_in_its_month_on_each_route(services: Settings) -> None:
    settings = clone_database(services, TEMPLATE_DB)
    try:
        dsn = libpq_dsn(settings.db.sync_url())
        load_province_copy(dsn, 1, seed=SEED)
        with psycopg.connect(dsn) as conn:
            buses = conn.execute("SELECT count(*) FROM vehicles WHERE route_id IS NOT NULL").fetchone()
        assert buses is not None and buses[0] >= 2
        seen: list[int] = []
        per_bus = sum(120 * 60 // FIX_S for _ in SCHOOL_RUNS)  # two 2-hour runs
        assert load_day_positions(dsn, date(2026, 12, 1), 2, block=1, progress=seen.append) == 2 * per_bus
        assert seen == [1, 2]
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(
                "SELECT p.tableoid::regclass::text, count(*), count(DISTINCT p.vehicle_id),"
                " min(p.time AT TIME ZONE 'Asia/Shanghai')::text, max(p.time AT TIME ZONE 'Asia/Shanghai')::text,"
                " max(ST_Distance(p.geom::geography, r.geom::geography)), bool_and(p.org_path = v.org_path)"
                " FROM positions p JOIN vehicles v ON v.id = p.vehicle_id JOIN bus_routes r ON r.id = v.route_id"
                " GROUP BY 1 ORDER BY 1"
            ).fetchall()
        # 06:30 local on 1 December is 22:30 UTC on 30 November: the morning run is in November's partition.
        assert [r[0] for r in rows] == ["positions_2026_11", "positions_2026_12"]
        assert sum(r[1] for r in rows) == 2 * per_bus and max(r[2] for r in rows) == 2
        assert rows[0][3] == "2026-12-01 06:30:00" and rows[-1][4] == "2026-12-01 17:59:30"
        assert all(r[5] < 1.0 and r[6] for r in rows)  # on the bus's own route, in its school's scope
    finally:
        drop_database(settings)
