"""`twin load`: good deliveries land whole in 4326; bad ones are refused by layer, feature and problem,
and leave the database as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, box
from sqlalchemy import Engine

from tests.ingest import deliveries as d
from twin.config import Settings
from twin.crs import wgs84_to_gcj02
from twin.db.engine import sync_engine
from twin.db.provision import libpq_dsn
from twin.errors import ImportRejected
from twin.ingest import load_path

COUNTED = ("org_units", "campuses", "buildings", "pipe_nodes", "pipe_segments")


@pytest.fixture
def engine(fresh_db: Settings) -> Iterator[Engine]:
    engine = sync_engine(fresh_db.db)
    yield engine
    engine.dispose()


@pytest.fixture
def campus(engine: Engine, tmp_path: Path) -> str:
    load_path(engine, d.org_and_campus(tmp_path / "org.gpkg"))
    return d.CAMPUS


def counts(settings: Settings) -> dict[str, int]:
    with psycopg.connect(libpq_dsn(settings.db.sync_url())) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}  # type: ignore[index]


def stored_centroids(settings: Settings) -> dict[str, tuple[float, float]]:
    with psycopg.connect(libpq_dsn(settings.db.sync_url())) as conn:
        rows = conn.execute(
            "SELECT code, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), ST_SRID(geom) FROM buildings"
        ).fetchall()
    assert all(srid == 4326 for *_, srid in rows)
    return {code: (x, y) for code, x, y, _ in rows}


def test_org_tree_and_campus_get_paths_and_a_metric_crs(
    engine: Engine, fresh_db: Settings, campus: str
) -> None:
    with psycopg.connect(libpq_dsn(fresh_db.db.sync_url())) as conn:
        path, srid = conn.execute(
            "SELECT org_path::text, metric_srid FROM campuses WHERE code = %s", (campus,)
        ).fetchone()  # type: ignore[misc]
    assert path == f"410000.410300.410311.{d.SCHOOL}"
    assert srid == 4546  # CGCS2000 3-degree Gauss-Krüger CM 111E covers 112.45 E


def test_geojson_buildings_land_in_4326(
    engine: Engine, fresh_db: Settings, campus: str, tmp_path: Path
) -> None:
    path = tmp_path / "buildings.geojson"
    d.buildings([d.square(112.449, 34.619), d.square(112.450, 34.620)]).to_file(path, driver="GeoJSON")
    report = load_path(engine, path, campus=campus)
    assert report.counts == {"buildings": 2}
    centroids = stored_centroids(fresh_db)
    assert centroids["B01"] == pytest.approx((112.4491, 34.6191), abs=1e-9)


def test_gauss_kruger_input_is_transformed_to_lonlat(
    engine: Engine, fresh_db: Settings, campus: str, tmp_path: Path
) -> None:
    to_gk = Transformer.from_crs(4326, 4546, always_xy=True)
    x, y = to_gk.transform(112.45, 34.62)
    path = tmp_path / "buildings.gpkg"
    d.buildings([box(x - 10, y - 10, x + 10, y + 10)], crs="EPSG:4546").to_file(path, layer="buildings")
    load_path(engine, path, campus=campus)
    assert stored_centroids(fresh_db)["B01"] == pytest.approx((112.45, 34.62), abs=1e-7)


def test_gcj02_input_named_on_the_command_is_shifted_back(
    engine: Engine, fresh_db: Settings, campus: str, tmp_path: Path
) -> None:
    gx, gy = wgs84_to_gcj02(112.45, 34.62)
    # The published offset near Luoyang is several hundred metres: far more than the tolerance below.
    assert abs(gx - 112.45) + abs(gy - 34.62) > 0.003
    path = tmp_path / "buildings.geojson"
    d.buildings([Point(gx, gy).buffer(0.0001, quad_segs=16)]).to_file(path, driver="GeoJSON")
    load_path(engine, path, campus=campus, crs="GCJ-02")
    assert stored_centroids(fresh_db)["B01"] == pytest.approx((112.45, 34.62), abs=1e-6)


def test_shapefile_with_gbk_attributes_and_no_cpg(
    engine: Engine, fresh_db: Settings, campus: str, tmp_path: Path
) -> None:
    path = tmp_path / "buildings.shp"
    d.buildings([d.square(112.449, 34.619)], name=["实验楼"]).to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    load_path(engine, path, campus=campus)
    with psycopg.connect(libpq_dsn(fresh_db.db.sync_url())) as conn:
        assert conn.execute("SELECT name FROM buildings").fetchone() == ("实验楼",)


BOWTIE = Polygon([(112.449, 34.619), (112.450, 34.620), (112.450, 34.619), (112.449, 34.620)])


@pytest.mark.parametrize(
    ("frame", "crs", "expected"),
    [
        (
            lambda: d.buildings([d.square(112.449, 34.619), BOWTIE]),
            None,
            "layer 'buildings', feature 2 (code 'B02'): invalid geometry: Self-intersection",
        ),
        (
            lambda: d.buildings([LineString([(112.449, 34.619), (112.45, 34.62)])]),
            None,
            "layer 'buildings', feature 1 (code 'B01'): wrong geometry type LineString; expected Polygon",
        ),
        (
            lambda: d.buildings([d.square(112.449, 34.619), d.square(212.0, 34.619)]),
            None,
            "layer 'buildings', feature 2 (code 'B02'): in EPSG:4326, coordinate 1 (212.0002, 34.619) is out of range",
        ),
        (
            lambda: d.buildings([d.square(112.449, 34.619)], height_m=[float("inf")]),
            None,
            "layer 'buildings', feature 1 (code 'B01'), field 'height_m': inf is not a finite number",
        ),
        (
            lambda: d.buildings([d.square(112.449, 34.619)], crs="EPSG:32650"),
            None,
            "layer 'buildings': CRS 32650 is not supported; accepted: OGC:CRS84, EPSG:4326, EPSG:4490",
        ),
        (
            lambda: d.buildings([d.square(112.449, 34.619)], use=["spaceport"]),
            None,
            "field 'use': 'spaceport' is not allowed; allowed: teaching",
        ),
        (
            lambda: d.buildings([d.square(112.449, 34.619)], colour=["red"]),
            None,
            "layer 'buildings': unknown columns ['colour']",
        ),
        (
            lambda: d.buildings([d.square(112.449, 34.619)], crs=None),
            None,
            "layer 'buildings': declares no CRS",
        ),
        (lambda: d.buildings([d.square(112.449, 34.619)]), "EPSG:2000", "layer 'buildings': "),
    ],
    ids=[
        "invalid ring",
        "wrong geometry type",
        "out of range",
        "non-finite number",
        "unsupported CRS",
        "value not in list",
        "unknown column",
        "no CRS",
        "unknown CRS named",
    ],
)
def test_bad_layers_are_refused_and_nothing_is_stored(
    engine: Engine, fresh_db: Settings, campus: str, tmp_path: Path, frame, crs, expected
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "buildings.gpkg"
    frame().to_file(path, layer="buildings", driver="GPKG")
    before = counts(fresh_db)
    with pytest.raises(ImportRejected) as excinfo:
        load_path(engine, path, campus=campus, crs=crs)
    assert expected in excinfo.value.detail
    assert counts(fresh_db) == before


def test_non_finite_coordinates_are_refused(
    engine: Engine, fresh_db: Settings, campus: str, tmp_path: Path
) -> None:
    path = tmp_path / "nodes.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"utility":"water","code":"N1","kind":"junction"},"geometry":{"type":"Point","coordinates":[NaN, 34.6]}}]}'
    )
    with pytest.raises(ImportRejected, match=r"layer 'nodes'"):
        load_path(engine, path, campus=campus)


def test_missing_layer_is_named_and_the_whole_file_rolls_back(
    engine: Engine, fresh_db: Settings, campus: str, tmp_path: Path
) -> None:
    path = tmp_path / "delivery.gpkg"
    nodes = gpd.GeoDataFrame(
        {"utility": ["water"], "code": ["N1"], "kind": ["junction"]},
        geometry=[Point(112.449, 34.619)],
        crs="EPSG:4326",
    )
    segments = gpd.GeoDataFrame(
        {
            "utility": ["water"],
            "code": ["P1"],
            "start_node": ["N1"],
            "end_node": ["N2"],
            "depth_ref": ["top"],
            "diameter_mm": [100.0],
        },
        geometry=[LineString([(112.449, 34.619), (112.450, 34.619)])],
        crs="EPSG:4326",
    )
    nodes.to_file(path, layer="pipe_nodes")
    segments.to_file(path, layer="pipe_segments")
    before = counts(fresh_db)
    with pytest.raises(ImportRejected) as excinfo:
        load_path(engine, path, campus=campus)
    assert excinfo.value.detail == (
        "layer 'pipe_segments', feature 1, field 'end_node': refers to pipe_nodes 'N2', "
        "which is neither in the delivery nor stored"
    )
    assert counts(fresh_db) == before  # pipe_nodes were written first, and rolled back with the rest


def test_unknown_layer_lists_the_known_ones(engine: Engine, campus: str, tmp_path: Path) -> None:
    path = tmp_path / "delivery.gpkg"
    d.buildings([d.square(112.449, 34.619)]).to_file(path, layer="JS_LINE")
    with pytest.raises(
        ImportRejected, match="layer 'JS_LINE': unknown layer; known layers: org_units, campuses"
    ):
        load_path(engine, path, campus=campus)


def test_loading_a_stored_campus_again_needs_replace(engine: Engine, tmp_path: Path, campus: str) -> None:
    with pytest.raises(ImportRejected, match="campus 'T01' is already stored; use --replace"):
        load_path(engine, d.org_and_campus(tmp_path / "again.gpkg"))
    load_path(engine, d.org_and_campus(tmp_path / "again2.gpkg"), replace=True)
