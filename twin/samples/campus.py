"""One campus as the layers of twin/ingest/spec.py: drawn in local metres, then placed on the map.

`build_local` returns rows (dicts) per table with shapely geometries in local metres under "geometry";
`place` turns them into GeoDataFrames in EPSG:4326 with the columns the layer contract allows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, MultiPolygon, Point

from twin.ingest.spec import LAYERS, LayerSpec
from twin.samples.frame import Frame, Site
from twin.samples.hazards import hazard_layer
from twin.samples.layout import buildings, campus_boundary, campus_outline, grounds, road_graph
from twin.samples.netbuild import Network
from twin.samples.networks import build_networks
from twin.samples.people import bus_routes, bus_trips, people, vehicles
from twin.samples.risks import risk_layers
from twin.samples.sensors import sensor_layer
from twin.samples.terrain import Terrain

Row = dict[str, Any]
Tables = dict[str, list[Row]]


@dataclass
class LocalCampus:
    site: Site
    tables: Tables
    networks: dict[str, Network]
    terrain: Terrain


# Names of the org chain above the sample school (GB/T 2260 codes, six digits at every admin level).
ORG_CHAIN = {"410311": (("410000", "河南省"), ("410300", "洛阳市"), ("410311", "洛龙区"))}
ORG_COLUMNS = ("code", "name", "level", "parent_code", "enrolment", "geometry")


def org_rows(site: Site, boundary: MultiPolygon) -> list[Row]:
    """The school's chain of org units, province first; only the school carries a boundary here."""
    (prov, prov_name), (city, city_name), (county, county_name) = ORG_CHAIN[site.county_code]
    rows = (
        (prov, prov_name, "province", None, None, None),
        (city, city_name, "city", prov, None, None),
        (county, county_name, "county", city, None, None),
        (site.school_code, site.school_name, "school", county, site.enrolment, boundary),
    )
    return [dict(zip(ORG_COLUMNS, row, strict=True)) for row in rows]


def campus_row(site: Site, boundary: MultiPolygon) -> Row:
    return {
        "code": site.campus_code,
        "name": site.campus_name,
        "school_code": site.school_code,
        "address": site.address,
        "metric_srid": site.metric_srid,
        "geometry": boundary,
    }


def build_local(site: Site, seed: int) -> LocalCampus:
    """Every layer of one campus, deterministic for a seed (the layout is fixed, attributes are drawn)."""
    rng = random.Random(seed)
    terrain = Terrain(offset_m=site.elevation_offset_m)
    boundary = MultiPolygon([campus_outline()])
    blds = buildings()
    roads = road_graph()
    ground_rows = grounds(blds, roads)
    routes, stops = bus_routes()
    staff = people(site, rng, stops)
    networks = build_networks(roads, blds, terrain, rng)
    zones, points = risk_layers(blds, ground_rows, campus_boundary(), staff.staff)
    tables: Tables = {
        "org_units": org_rows(site, boundary),
        "campuses": [campus_row(site, boundary)],
        "buildings": [
            {
                "code": b.code,
                "name": b.name,
                "use": b.use,
                "floors": b.floors,
                "height_m": b.height_m,
                "base_elev_m": terrain.at(b.footprint.centroid.x, b.footprint.centroid.y),
                "year_built": b.year_built,
                "occupancy": b.occupancy,
                "geometry": b.footprint,
            }
            for b in blds
        ],
        "grounds": ground_rows,
        "bus_routes": routes,
        "bus_stops": stops,
        "bus_trips": bus_trips(routes),
        "people": staff.people,
        "guardians": staff.guardians,
        "vehicles": vehicles(site, staff.drivers),
        **network_tables(networks, terrain),
        "risk_zones": zones,
        "risk_points": points,
        "sensors": sensor_layer(blds, networks["water"], site.device_prefix),
        "hazards": hazard_layer(points, blds, staff.staff),
    }
    return LocalCampus(site, tables, networks, terrain)


def network_tables(networks: dict[str, Network], terrain: Terrain) -> Tables:
    """The four network layers, utility by utility in the order of UTILITIES, rows in code order."""
    nodes: list[Row] = []
    segments: list[Row] = []
    valves: list[Row] = []
    services: list[Row] = []
    for net in networks.values():
        for node in net.nodes.values():
            nodes.append(
                {
                    "utility": net.utility,
                    "code": node.code,
                    "kind": node.kind,
                    "ground_elev_m": terrain.at(*node.xy),
                    "well_depth_m": node.well_depth,
                    "owner": "学校后勤处",
                    "geometry": Point(node.xy),
                }
            )
        for code, seg in net.segments.items():
            segments.append(
                {
                    "utility": net.utility,
                    "code": code,
                    "start_node": seg.start,
                    "end_node": seg.end,
                    "depth_ref": net.depth_ref,
                    "diameter_mm": float(seg.diameter),
                    "start_depth_m": net.nodes[seg.start].depth,
                    "end_depth_m": net.nodes[seg.end].depth,
                    "material": seg.material,
                    "laying": seg.laying,
                    "pressure_class": seg.pressure_class,
                    "status": "open",
                    "owner": seg.owner,
                    "year": seg.year,
                    "geometry": net.line(code),
                }
            )
        for v in net.valves:
            valves.append(
                {
                    "utility": net.utility,
                    "code": v.code,
                    "kind": v.kind,
                    "segment": v.segment,
                    "node": v.node,
                    "normal_position": v.position,
                    "operable": v.operable,
                    "geometry": Point(v.xy),
                }
            )
        for s in net.services:
            services.append(
                {
                    "utility": net.utility,
                    "node": s.node,
                    "building": s.building,
                    "geometry": LineString(s.line),
                }
            )
    return {"pipe_nodes": nodes, "pipe_segments": segments, "valves": valves, "service_connections": services}


def _column(values: list[Any]) -> Any:
    """A column typed by its values: nullable integers and booleans stay integers and booleans in the
    GeoPackage instead of turning into reals."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pd.array(values, dtype="boolean")
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.array(values, dtype="Int64")
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="float64").to_numpy()
    return pd.Series(values, dtype=object).to_numpy()


def attributes(spec: LayerSpec, rows: list[Row]) -> pd.DataFrame:
    """The attribute columns of a layer (those of the contract the rows fill), typed."""
    keys = {k for r in rows for k in r}
    columns = [c for c in spec.columns if c in keys]
    return pd.DataFrame({c: _column([r.get(c) for r in rows]) for c in columns}, columns=columns)


def place(tables: Tables, frame: Frame) -> dict[str, gpd.GeoDataFrame | pd.DataFrame]:
    """Tables as frames in EPSG:4326, columns in the order of the layer contract."""
    out: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {}
    for spec in LAYERS:
        rows = tables[spec.table]
        data = attributes(spec, rows)
        if spec.geometry is None:
            out[spec.table] = data
        else:
            geoms = frame.to_lonlat([r["geometry"] for r in rows])
            out[spec.table] = gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")
    return out
