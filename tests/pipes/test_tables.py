"""The standards' tables are data with a source and a status on every row, loaded and checked once."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from twin.pipes.clearances import PipeSide, clearance, table
from twin.pipes.dem import Dem
from twin.pipes.excavation import soils, working_widths
from twin.pipes.survey import mapping

DATA = Path(__file__).parents[2] / "twin" / "pipes" / "data"


@pytest.mark.parametrize("name", ["clearances.csv", "trench_slopes.csv", "working_width.csv"])
def test_every_row_names_its_source_and_status(name: str) -> None:
    with (DATA / name).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["source"].strip() and r["status"].strip() for r in rows)


def test_tables_load_and_validate() -> None:
    assert {"sand", "sandy_loam", "clay"} <= set(soils())
    assert soils()["clay"].vertical_max_m == 1.5  # domain note: vertical walls to 1.5 m in clay
    assert working_widths()[0][0] == 500
    assert len(table()) >= 20
    assert mapping()["utilities"]["PS"]["depth_ref"] == "invert"


def test_gb50289_water_sewer_clearance_depends_on_the_water_pipe() -> None:
    small = clearance("horizontal", PipeSide("drainage", 600), PipeSide("water", 150), 9.0)
    large = clearance("horizontal", PipeSide("water", 300), PipeSide("drainage", 200), 9.0)
    assert (small.min_m, large.min_m) == (1.0, 1.5)


def test_gas_clearance_follows_the_gas_pressure_class() -> None:
    sewer = PipeSide("drainage", 300)
    assert clearance("horizontal", sewer, PipeSide("gas", 100, "low"), 9.0).min_m == 1.0
    assert clearance("horizontal", PipeSide("gas", 100, "subhigh_a"), sewer, 9.0).min_m == 2.0


def test_dem_in_another_crs_is_sampled_through_pyproj(tmp_path: Path) -> None:
    """A DEM in CGCS2000 GK (EPSG:4546) read at points given in UTM 49N (EPSG:32649): a plane z = x/100."""
    path = tmp_path / "dem.tif"
    x0, y0 = 632_800.0, 3_833_400.0
    cols = np.arange(100) + 0.5
    band = np.tile((x0 + cols) / 100.0, (100, 1)).astype("float32")
    profile = {"driver": "GTiff", "height": 100, "width": 100, "count": 1, "dtype": "float32",
               "crs": "EPSG:4546", "transform": from_origin(x0, y0, 1.0, 1.0)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(band, 1)
    from pyproj import Transformer

    to_utm = Transformer.from_crs(4546, 32649, always_xy=True)
    inside = to_utm.transform(x0 + 40.2, y0 - 30.0)
    outside = to_utm.transform(x0 + 500.0, y0 - 30.0)
    dem = Dem(path, 4546)
    [z, none] = dem.heights([inside, outside], 32649)
    assert z == pytest.approx((x0 + 40.2) / 100.0, abs=1e-3)
    assert none is None
