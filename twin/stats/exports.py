"""A statistic as a file: CSV, XLSX, GeoPackage (QGIS users) or GeoParquet (Python/DuckDB users)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import shapely.geometry

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
    "parquet": "application/vnd.apache.parquet",
}
SPATIAL = ("gpkg", "parquet")
Progress = Callable[[str], None]


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    return [c for c in (rows[0] if rows else {}) if c != "geom"]


def to_frame(rows: list[dict[str, Any]], columns: list[str]) -> gpd.GeoDataFrame:
    """Rows (with `geom` as WKB or None) as a GeoDataFrame in EPSG:4326."""
    data = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    wkb = [bytes(r["geom"]) if r.get("geom") is not None else None for r in rows]
    return gpd.GeoDataFrame(data, geometry=shapely.from_wkb(wkb), crs="EPSG:4326")


def feature_collection(rows: list[dict[str, Any]], columns: list[str], **members: Any) -> dict[str, Any]:
    """Rows as GeoJSON features (the group's boundary, null where none is stored) for a web map."""
    features = []
    for r in rows:
        wkb = r.get("geom")
        geometry = shapely.geometry.mapping(shapely.from_wkb(bytes(wkb))) if wkb is not None else None
        properties = {c: r.get(c) for c in columns}
        features.append(
            {"type": "Feature", "id": r.get("code"), "geometry": geometry, "properties": properties}
        )
    return {"type": "FeatureCollection", **members, "columns": columns, "features": features}


def export(
    rows: list[dict[str, Any]], columns: list[str], f: str, layer: str, progress: Progress | None = None
) -> bytes:
    """The file's bytes; the first row names the columns (CSV with a BOM so Excel reads UTF-8)."""
    step = progress or (lambda _: None)
    if f == "csv":
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([r.get(c) for c in columns] for r in rows)
        return out.getvalue().encode()
    if f == "xlsx":
        return _xlsx(rows, columns, layer)
    step("building the table")
    frame = to_frame(rows, columns)
    step(f"writing {f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{layer}.{f}"
        if f == "gpkg":
            frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
        else:
            frame.to_parquet(path, index=False)
        return path.read_bytes()


def _xlsx(rows: list[dict[str, Any]], columns: list[str], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(columns)
    for r in rows:
        sheet.append([r.get(c) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
