"""A surveyor's delivery: one point and one line Shapefile per utility, Chinese field names, GBK, no .cpg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point
from sqlalchemy import create_engine, text

from tests.db.test_migrations import CAMPUS, SCHOOL
from twin.config import Settings
from twin.errors import ImportRejected
from twin.ingest import load_path
from twin.pipes.survey import diameter_mm

E, N = 632_900.0, 3_833_300.0  # CGCS2000 / 3-degree GK CM 111E (EPSG:4546), inside the test campus


@pytest.fixture
def engine(fresh_db: Settings) -> Any:
    eng = create_engine(fresh_db.db.sync_url())
    with eng.begin() as conn:
        conn.execute(text(SCHOOL))
        conn.execute(text(CAMPUS))
    yield eng
    eng.dispose()


def write(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame.to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)  # as delivered: no code page file


def delivery(folder: Path) -> Path:
    folder.mkdir()
    points = gpd.GeoDataFrame(
        {
            "物探点号": ["JS1", "JS2", "JS3"],
            "附属物": ["水源", "阀门", "消防栓"],
            "地面高程": [150.2, 150.4, 150.1],
            "权属单位": ["学校后勤处"] * 3,
        },
        geometry=[Point(E, N), Point(E + 20, N), Point(E + 40, N)],
        crs="EPSG:4546",
    )
    lines = gpd.GeoDataFrame(
        {
            "起点点号": ["JS1", "JS2"],
            "终点点号": ["JS2", "JS3"],
            "起点埋深": [1.2, 1.3],
            "终点埋深": [1.3, 1.4],
            "管径": ["DN150", "100"],
            "材质": ["球墨铸铁", "PE"],
        },
        geometry=[LineString([(E, N), (E + 20, N)]), LineString([(E + 20, N), (E + 40, N)])],
        crs="EPSG:4546",
    )
    sewer_points = gpd.GeoDataFrame(
        {"物探点号": ["PS1", "PS2"], "附属物": ["检查井", "出水口"], "井深": [2.1, 2.4]},
        geometry=[Point(E, N + 5), Point(E + 30, N + 5)],
        crs="EPSG:4546",
    )
    sewer_lines = gpd.GeoDataFrame(
        {"起点点号": ["PS1"], "终点点号": ["PS2"], "起点埋深": [2.0], "终点埋深": [2.3], "管径": ["Φ300"]},
        geometry=[LineString([(E, N + 5), (E + 30, N + 5)])],
        crs="EPSG:4546",
    )
    write(points, folder / "JS_point.shp")
    write(lines, folder / "JS_line.shp")
    write(sewer_points, folder / "PS_point.shp")
    write(sewer_lines, folder / "PS_line.shp")
    return folder


def test_survey_delivery_becomes_nodes_pipes_and_valves(engine: Any, tmp_path: Path) -> None:
    report = load_path(engine, delivery(tmp_path / "survey"), campus="C1")
    assert report.counts == {"pipe_nodes": 5, "pipe_segments": 3, "valves": 1}
    with engine.connect() as conn:
        kinds = dict(conn.execute(text("SELECT code, kind FROM pipe_nodes")).all())
        pipes = {r.code: r for r in conn.execute(text("SELECT * FROM pipe_segments")).all()}
        valve = conn.execute(
            text(
                "SELECT v.kind, s.code AS pipe, n.code AS node FROM valves v JOIN pipe_segments s ON s.id = v.segment_id"
                " JOIN pipe_nodes n ON n.id = v.node_id"
            )
        ).one()
        owner = conn.execute(text("SELECT owner FROM pipe_nodes WHERE code = 'JS1'")).scalar_one()
    assert kinds == {"JS1": "source", "JS2": "valve", "JS3": "hydrant", "PS1": "manhole", "PS2": "outlet"}
    assert owner == "学校后勤处"  # GBK without .cpg decoded
    assert pipes["JS1-JS2"].diameter_mm == 150 and pipes["JS1-JS2"].material == "ductile_iron"
    assert pipes["JS1-JS2"].depth_ref == "top"
    assert pipes["PS1-PS2"].depth_ref == "invert" and pipes["PS1-PS2"].diameter_mm == 300
    assert (valve.kind, valve.pipe, valve.node) == ("gate_valve", "JS1-JS2", "JS2")


def test_survey_line_without_point_numbers_is_refused(engine: Any, tmp_path: Path) -> None:
    folder = delivery(tmp_path / "survey")
    lines = gpd.read_file(folder / "JS_line.shp", encoding="GBK")
    lines.loc[1, "终点点号"] = None
    write(lines, folder / "JS_line.shp")
    with pytest.raises(ImportRejected, match=r"JS_line.*start and end point numbers"):
        load_path(engine, folder, campus="C1")


@pytest.mark.parametrize(
    ("value", "expected"), [("DN150", 150.0), ("Φ300", 300.0), ("400×300", 400.0), (200, 200.0), ("", None)]
)
def test_diameters_as_surveyors_write_them(value: object, expected: float | None) -> None:
    assert diameter_mm(value) == expected
