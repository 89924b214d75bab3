"""`twin stats export` writes the files an analyst takes away; dask-geopandas reads the GeoParquet back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask_geopandas
import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from tests.layers.conftest import SCHOOL, SIBLING
from twin.cli import app
from twin.config import Settings, get_settings

runner = CliRunner()


@pytest.fixture
def env(stats_db: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    url = f"postgresql://postgres@127.0.0.1:{stats_db.db.private_port}/{stats_db.db.name}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield stats_db
    get_settings.cache_clear()


def export(*args: str) -> None:
    result = runner.invoke(app, ["stats", "export", *args])
    assert result.exit_code == 0, result.output


def test_export_a_county_as_geopackage_and_csv(env: Settings, tmp_path: Path) -> None:
    export("drills", "--org", "410311", "--out", str(tmp_path / "drills.gpkg"))
    frame = pyogrio.read_dataframe(tmp_path / "drills.gpkg")
    assert set(frame["code"]) == {SCHOOL, SIBLING}
    export("drills", "--org", SIBLING, "--out", str(tmp_path / "drills.csv"))
    table = pd.read_csv(tmp_path / "drills.csv", dtype={"code": str}, encoding="utf-8-sig")
    assert list(table["code"]) == [SIBLING]


def test_an_unknown_format_or_org_is_a_one_line_error(env: Settings, tmp_path: Path) -> None:
    bad = runner.invoke(app, ["stats", "export", "drills", "--out", str(tmp_path / "drills.shp")])
    assert bad.exit_code == 2 and ".gpkg" in bad.output
    nobody = runner.invoke(
        app, ["stats", "export", "drills", "--org", "999999", "--out", str(tmp_path / "x.csv")]
    )
    assert nobody.exit_code == 2 and "999999" in nobody.output


def test_dask_geopandas_aggregates_geoparquet_partitions_like_pandas(env: Settings, tmp_path: Path) -> None:
    """One GeoParquet file per school as partitions, summed in parallel: the scale-out path of docs/scale.md."""
    for org in (SCHOOL, SIBLING):
        export("drills", "--org", org, "--split", "type", "--out", str(tmp_path / f"drills-{org}.parquet"))
    parts = dask_geopandas.read_parquet(str(tmp_path / "drills-*.parquet"))
    assert parts.npartitions == 2
    by_type = parts.groupby("split")["participants"].sum().compute()
    whole = pd.concat(gpd.read_parquet(p) for p in sorted(tmp_path.glob("drills-*.parquet")))
    assert (
        by_type.sort_index().to_dict() == whole.groupby("split")["participants"].sum().sort_index().to_dict()
    )
    assert parts.crs.to_epsg() == 4326
