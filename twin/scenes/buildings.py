"""Buildings: footprints extruded from base elevation to roof, one feature per building."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from twin.scenes.frame import Frame
from twin.scenes.glb import Primitive, PropertyTable, write_glb
from twin.scenes.prism import MeshArrays, prisms

COLOUR = (0.86, 0.84, 0.80, 1.0)


@dataclass(frozen=True)
class BuildingRow:
    id: int
    code: str
    name: str
    use: str
    floors: int
    height_m: float
    base_elev_m: float
    footprint: bytes  # WKB, lon/lat (EPSG:4326)


def local_polygons(frame: Frame, footprints: Sequence[bytes]) -> np.ndarray:
    """Footprints as shapely polygons in the frame's east/north metres (height ignored)."""
    geoms = shapely.from_wkb(np.asarray(footprints, dtype=object))
    coords = shapely.get_coordinates(geoms)
    enu = frame.from_lonlat(coords[:, 0], coords[:, 1], np.zeros(len(coords)))
    return shapely.set_coordinates(geoms, enu[:, :2])


def building_mesh(frame: Frame, rows: Sequence[BuildingRow]) -> MeshArrays:
    polygons = local_polygons(frame, [r.footprint for r in rows])
    base = np.array([r.base_elev_m for r in rows], dtype="float64") - frame.h
    top = base + np.array([r.height_m for r in rows], dtype="float64")
    return prisms(polygons, base, top)


def building_table(rows: Sequence[BuildingRow]) -> PropertyTable:
    return PropertyTable(
        "building",
        {
            "id": [r.id for r in rows],
            "code": [r.code for r in rows],
            "name": [r.name for r in rows],
            "use": [r.use for r in rows],
            "floors": [r.floors for r in rows],
            "height_m": [float(r.height_m) for r in rows],
            "base_elev_m": [float(r.base_elev_m) for r in rows],
        },
    )


def buildings_glb(frame: Frame, rows: Sequence[BuildingRow]) -> bytes:
    """The GLB of the buildings: one primitive, feature id = row index, property table `building`."""
    mesh = building_mesh(frame, rows)
    prim = Primitive(
        mesh.positions.astype("float32"),
        mesh.normals.astype("float32"),
        mesh.indices.astype("uint32"),
        mesh.feature_ids.astype("float32"),
        colour=COLOUR,
    )
    return write_glb([prim], building_table(rows))
