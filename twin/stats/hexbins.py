"""H3 hexagon bins (h3 4.x): points counted per cell, cells as GeoJSON polygons."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import h3

from twin.errors import InvalidInput

RESOLUTIONS = range(4, 11)  # about 23 km down to 66 m across
KM_PER_DEGREE = 111.32
SNAP_FRACTION = 20  # grid step before binning: this fraction of a cell's edge


def check_resolution(res: int) -> int:
    if res not in RESOLUTIONS:
        raise InvalidInput(
            f"res: H3 resolution {res} is not offered; use {RESOLUTIONS.start}-{RESOLUTIONS.stop - 1}",
            field="res",
        )
    return res


def snap_grid_deg(res: int) -> float:
    """A grid step in degrees, a twentieth of a cell edge: a point moves at most that much before binning."""
    return h3.average_hexagon_edge_length(res, "km") / KM_PER_DEGREE / SNAP_FRACTION


def bin_points(points: Iterable[tuple[float, float, int]], res: int) -> dict[str, int]:
    """Weighted points (lon, lat, n) counted per H3 cell at `res`."""
    counts: Counter[str] = Counter()
    for lon, lat, n in points:
        counts[h3.latlng_to_cell(lat, lon, res)] += n
    return dict(counts)


def cell_polygon(cell: str) -> dict[str, Any]:
    """The cell's boundary as a GeoJSON Polygon in lon/lat, ring closed."""
    ring = [[round(lng, 7), round(lat, 7)] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def feature_collection(cells: dict[str, dict[str, Any]], **meta: Any) -> dict[str, Any]:
    """Cells (id -> properties) as a GeoJSON FeatureCollection; `meta` goes beside the features."""
    features = [
        {"type": "Feature", "id": cell, "geometry": cell_polygon(cell), "properties": {"h3": cell, **props}}
        for cell, props in sorted(cells.items())
    ]
    return {"type": "FeatureCollection", **meta, "features": features}
