"""The COPY loader builds the same province as the import path, row for row, roll-up and levels included."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine

from tests.conftest import TEMPLATE_DB, clone_database, drop_database
from twin.config import Settings
from twin.db.provision import libpq_dsn
from twin.samples.copyload import load_province_copy
from twin.samples.loading import load_province
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
