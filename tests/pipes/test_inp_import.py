"""`twin load water.inp --campus CODE --crs EPSG:...`: an EPANET model becomes the campus's water network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyogrio
import pytest
from sqlalchemy import create_engine, text

from tests.db.test_migrations import CAMPUS, SCHOOL
from twin.config import Settings
from twin.errors import ImportRejected
from twin.ingest import load_path


@pytest.fixture
def campus_db(fresh_db: Settings) -> Any:
    engine = create_engine(fresh_db.db.sync_url())
    with engine.begin() as conn:
        conn.execute(text(SCHOOL))
        conn.execute(text(CAMPUS))
    yield engine
    engine.dispose()


def test_inp_loads_junctions_sources_and_pipes_where_the_geopackage_has_them(
    campus_db: Any, sample_files: Any
) -> None:
    report = load_path(campus_db, sample_files.inp, campus="C1", crs="EPSG:4546")
    nodes = pyogrio.read_dataframe(sample_files.gpkg, layer="pipe_nodes")
    water = nodes[nodes["utility"] == "water"].set_index("code")
    assert report.counts["pipe_nodes"] == len(water)
    with campus_db.connect() as conn:
        rows = conn.execute(text("SELECT code, kind, ST_X(geom) AS x, ST_Y(geom) AS y FROM pipe_nodes")).all()
        closed = conn.execute(text("SELECT count(*) FROM pipe_segments WHERE status = 'closed'")).scalar_one()
        depths = conn.execute(
            text("SELECT count(*) FROM pipe_segments WHERE start_depth_m IS NOT NULL")
        ).scalar_one()
    for code, kind, x, y in rows:
        point = water.loc[code].geometry
        assert (x, y) == pytest.approx((point.x, point.y), abs=1e-6)  # 4546 -> 4326 within ~0.1 m
        assert (kind == "source") == (water.loc[code]["kind"] == "source")
    assert closed >= 1  # pipes behind the sample's normally closed valves are written Closed
    assert depths == 0  # .inp has no depths: reported by the topology check, not invented


def test_inp_without_a_crs_is_refused(campus_db: Any, sample_files: Any) -> None:
    with pytest.raises(ImportRejected, match="--crs"):
        load_path(campus_db, sample_files.inp, campus="C1")


def test_inp_needs_a_campus(campus_db: Any, sample_files: Any) -> None:
    with pytest.raises(ImportRejected, match="--campus"):
        load_path(campus_db, sample_files.inp, crs="EPSG:4546")


def test_unreadable_inp_is_refused(campus_db: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.inp"
    bad.write_text("[PIPES]\n P1 A B 10 100\n")
    with pytest.raises(ImportRejected, match="EPANET"):
        load_path(campus_db, bad, campus="C1", crs="EPSG:4546")
