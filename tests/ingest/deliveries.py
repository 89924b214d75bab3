"""Small deliveries written on the fly, in the formats surveyors send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry import Polygon, box

CAMPUS = "T01"
SCHOOL = "4103110099"
# A campus square around (112.45 E, 34.62 N).
CAMPUS_BOX = box(112.448, 34.618, 112.452, 34.622)


def org_and_campus(path: Path) -> Path:
    """A GeoPackage with the org tree down to one school and its campus."""
    orgs = gpd.GeoDataFrame(
        {
            "code": ["410000", "410300", "410311", SCHOOL],
            "name": ["河南省", "洛阳市", "洛龙区", "测试中学"],
            "level": ["province", "city", "county", "school"],
            "parent_code": [None, "410000", "410300", "410311"],
        },
        geometry=[None, None, None, None],
        crs="EPSG:4326",
    )
    campuses = gpd.GeoDataFrame(
        {"code": [CAMPUS], "name": ["测试校区"], "school_code": [SCHOOL]},
        geometry=[CAMPUS_BOX],
        crs="EPSG:4326",
    )
    orgs.to_file(path, layer="org_units", driver="GPKG")
    campuses.to_file(path, layer="campuses", driver="GPKG")
    return path


def square(x: float, y: float, size: float = 0.0002) -> Polygon:
    return box(x, y, x + size, y + size)


def buildings(geoms: list[Any], crs: str | None = "EPSG:4326", **overrides: list[Any]) -> gpd.GeoDataFrame:
    n = len(geoms)
    columns: dict[str, list[Any]] = {
        "code": [f"B{i + 1:02d}" for i in range(n)],
        "name": [f"教学楼{i + 1}" for i in range(n)],
        "use": ["teaching"] * n,
        "floors": [4] * n,
        "height_m": [15.0] * n,
        "base_elev_m": [150.0] * n,
    }
    columns.update(overrides)
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)
