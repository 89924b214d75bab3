"""What an operator needs the moment an alert is raised, kept in `alerts.context` as it was then.

Building, floor, 3D point, nearest camera (PostGIS KNN), the responsible person (of the risk zone holding
the point, else of the building), the people to notify, and for a fire the evacuation routes from the
building to the nearest assembly points.
"""

from __future__ import annotations

from typing import Any

import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Polygon
from sqlalchemy import Connection

from twin.live import queries_ingest as q
from twin.live.evacuation import AssemblyPoint, evacuation_routes
from twin.live.policy import Policy
from twin.live.queries_ingest import SensorRow

FIRE_TYPES = frozenset({"fire", "smoke", "heat"})


def gather_context(conn: Connection, sensor: SensorRow, alert_type: str, policy: Policy) -> dict[str, Any]:
    """The context of a new alert of `alert_type` from `sensor`."""
    bld = q.building(conn, sensor.building_id) if sensor.building_id else None
    height = sensor.height_m or 0.0
    elevation = round(bld["base_elev_m"] + height, 2) if bld else None
    responsible = q.responsible_person(
        conn, sensor.campus_id, sensor.lon, sensor.lat, sensor.building_id, sensor.floor
    )
    notify = _dedupe(
        ([responsible] if responsible else [])
        + q.people_titled(conn, sensor.org_path, policy.titles_to_notify(alert_type))
    )
    context: dict[str, Any] = {
        "building": bld,
        "floor": sensor.floor,
        "point": {"lon": sensor.lon, "lat": sensor.lat, "height_m": height, "elevation_m": elevation},
        "camera": q.nearest_camera(conn, sensor.campus_id, sensor.lon, sensor.lat),
        "responsible": responsible,
        "notify": notify,
    }
    if alert_type in FIRE_TYPES and bld is not None:
        context["evacuation"] = {
            "people_in_building": bld.get("occupancy"),
            "routes": _routes(conn, sensor),
        }
    return context


def _dedupe(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[int] = set()
    out = []
    for person in people:
        if person["id"] not in seen:
            seen.add(person["id"])
            out.append({k: person[k] for k in ("id", "name", "title", "phone")})
    return out


def _routes(conn: Connection, sensor: SensorRow) -> list[dict[str, Any]]:
    assert sensor.building_id is not None
    found = q.footprint_metric(conn, sensor.building_id)
    if found is None:
        return []
    wkb, srid = found
    footprint = shapely.from_wkb(wkb)
    lines: list[LineString] = []
    points: list[AssemblyPoint] = []
    for row in q.walk_network(conn, sensor.campus_id):
        geom = shapely.from_wkb(bytes(row["wkb"]))
        if row["kind"] == "assembly_point":
            points.append(AssemblyPoint(row["code"], row["name"], geom.centroid))
        else:
            lines.extend(
                shapely.get_parts(shapely.line_merge(geom)) if geom.geom_type.startswith("Multi") else [geom]
            )
    if not isinstance(footprint, Polygon):
        footprint = footprint.convex_hull
    to_lonlat = Transformer.from_crs(srid, 4326, always_xy=True)
    return [
        {
            "assembly_point": route.assembly_point,
            "name": route.name,
            "length_m": route.length_m,
            "geometry": {
                "type": "LineString",
                "coordinates": [
                    [round(v, 7) for v in to_lonlat.transform(x, y)] for x, y in route.line.coords
                ],
            },
        }
        for route in evacuation_routes(lines, footprint, points)
    ]


__all__ = ["gather_context"]
