"""The layers `twin load` understands: one per table, references between layers by code.

A delivery (GeoPackage, Shapefile folder, GeoJSON) names its layers after the tables. Columns not listed
are refused, so a typo never silently drops data. Ids and org paths are assigned on import.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LayerSpec:
    """What one layer must look like, and how its code references resolve to ids."""

    table: str
    geometry: str | None  # OGC type the table stores; None for attribute tables
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # column in the file -> (table it refers to, id column it fills)
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)
    json_fields: tuple[str, ...] = ()
    list_fields: tuple[str, ...] = ()
    per_campus: bool = True
    geometry_optional: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


_RISK_OPTIONAL = (
    "accident_types",
    "description",
    "method",
    "inputs",
    "score",
    "level",
    "dynamic",
    "measures",
    "control_level",
    "floor",
    "building",
    "responsible",
    "review_date",
)

# In load order: a layer may refer only to layers above it.
LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec(
        "org_units",
        "MULTIPOLYGON",
        ("code", "name", "level"),
        ("parent_code", "enrolment"),
        per_campus=False,
        geometry_optional=True,
    ),
    LayerSpec(
        "campuses",
        "MULTIPOLYGON",
        ("code", "name", "school_code"),
        ("address", "metric_srid"),
        per_campus=False,
    ),
    LayerSpec(
        "buildings",
        "POLYGON",
        ("code", "name", "use", "floors", "height_m", "base_elev_m"),
        ("year_built", "occupancy"),
    ),
    LayerSpec("grounds", "GEOMETRY", ("code", "kind"), ("name",)),
    LayerSpec("bus_routes", "LINESTRING", ("code", "name")),
    LayerSpec(
        "bus_stops",
        "POINT",
        ("route", "code", "name", "sequence"),
        ("scheduled_min",),
        refs={"route": ("bus_routes", "route_id")},
    ),
    LayerSpec(
        "bus_trips",  # the timetable: a departure of the route (minutes after local midnight)
        None,
        ("route", "code", "departs_min"),
        refs={"route": ("bus_routes", "route_id")},
    ),
    LayerSpec(
        "people",
        None,
        ("code", "name", "role"),
        ("title", "phone", "route", "stop"),
        refs={"route": ("bus_routes", "route_id"), "stop": ("bus_stops", "stop_id")},
    ),
    LayerSpec(
        "guardians",
        None,
        ("parent", "student"),
        ("relation",),
        refs={"parent": ("people", "parent_id"), "student": ("people", "student_id")},
    ),
    LayerSpec(
        "vehicles",
        None,
        ("plate", "device_id"),
        ("route", "capacity", "driver"),
        refs={"route": ("bus_routes", "route_id"), "driver": ("people", "driver_id")},
    ),
    LayerSpec("pipe_nodes", "POINT", ("utility", "code", "kind"), ("ground_elev_m", "well_depth_m", "owner")),
    LayerSpec(
        "pipe_segments",
        "LINESTRING",
        ("utility", "code", "start_node", "end_node", "depth_ref", "diameter_mm"),
        ("start_depth_m", "end_depth_m", "material", "laying", "pressure_class", "status", "owner", "year"),
        refs={"start_node": ("pipe_nodes", "start_node_id"), "end_node": ("pipe_nodes", "end_node_id")},
    ),
    LayerSpec(
        "valves",
        "POINT",
        ("utility", "code", "kind", "segment", "node"),
        ("normal_position", "operable"),
        refs={"segment": ("pipe_segments", "segment_id"), "node": ("pipe_nodes", "node_id")},
    ),
    LayerSpec(
        "service_connections",
        "LINESTRING",
        ("utility", "node", "building"),
        refs={"node": ("pipe_nodes", "node_id"), "building": ("buildings", "building_id")},
    ),
    LayerSpec(
        "risk_zones",
        "POLYGON",
        ("code", "name", "category"),
        _RISK_OPTIONAL,
        refs={"building": ("buildings", "building_id"), "responsible": ("people", "responsible_person_id")},
        json_fields=("inputs", "measures"),
        list_fields=("accident_types",),
    ),
    LayerSpec(
        "risk_points",
        "POINT",
        ("code", "name", "category"),
        (*_RISK_OPTIONAL, "zone"),
        refs={
            "building": ("buildings", "building_id"),
            "responsible": ("people", "responsible_person_id"),
            "zone": ("risk_zones", "zone_id"),
        },
        json_fields=("inputs", "measures"),
        list_fields=("accident_types",),
    ),
    LayerSpec(
        "sensors",
        "POINT",
        ("device_id", "type"),
        ("name", "building", "floor", "height_m"),
        refs={"building": ("buildings", "building_id")},
    ),
    LayerSpec(
        "hazards",
        "POINT",
        ("number", "name", "category", "found_at"),
        (
            "grade",
            "state",
            "building",
            "floor",
            "description",
            "measures",
            "deadline",
            "responsible_department",
            "responsible",
            "risk_point",
        ),
        refs={
            "building": ("buildings", "building_id"),
            "responsible": ("people", "responsible_person_id"),
            "risk_point": ("risk_points", "risk_point_id"),
        },
    ),
)

BY_NAME = {spec.table: spec for spec in LAYERS}

# Pipe node and segment codes are unique per utility, so their references are looked up per utility.
UTILITY_SCOPED = {"pipe_nodes", "pipe_segments"}
