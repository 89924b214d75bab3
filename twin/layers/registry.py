"""The collections served: which table, geometry, time and editable columns each one exposes.

One registry serves Features, Tiles and editing, so a collection is described once. Collection ids are
the contract's (../shared/design/contract.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Numeric,
    Table,
    cast,
    func,
    literal_column,
    select,
    text,
)

from twin.errors import NotFound
from twin.models import (
    Alert,
    Building,
    BusRoute,
    BusStop,
    Campus,
    Gate,
    Hazard,
    Inspection,
    PatrolCheck,
    PatrolCheckpoint,
    PatrolRoute,
    PatrolVisit,
    PipeNode,
    PipeSegment,
    Position,
    RiskPoint,
    RiskRollup,
    RiskZone,
    Sensor,
    Valve,
    Vehicle,
)

# Never shown as properties: the scope key is an implementation detail of access control.
HIDDEN = frozenset({"org_path", "geom", "boundary"})


@dataclass(frozen=True)
class Collection:
    """A feature collection over one table (or, for vehicles, a table joined to its latest position)."""

    id: str
    title: str
    description: str
    table: Table
    geometry_column: str
    geometry_type: str
    temporal_column: str | None = None
    editable: bool = False
    source: FromClause | None = None  # when the features are not the table's rows as they are
    # Collections whose edits change this one's features: their invalidated tiles drop this one's too.
    derived_from: tuple[str, ...] = ()
    extra_hidden: frozenset[str] = field(default_factory=frozenset)
    # The versioned tables the features are read from, in dependency order: what `as-at` reads the past
    # of (twin.db.asat). Empty: the collection keeps no history.
    versioned: tuple[str, ...] = ()

    @property
    def from_clause(self) -> FromClause:
        return self.source if self.source is not None else self.table

    @property
    def id_column(self) -> ColumnElement[Any]:
        return self.from_clause.c.id

    @property
    def geometry(self) -> ColumnElement[Any]:
        return self.from_clause.c[self.geometry_column]

    @property
    def property_columns(self) -> list[ColumnElement[Any]]:
        hidden = HIDDEN | self.extra_hidden | {"id", self.geometry_column}
        return [c for c in self.from_clause.c if c.name not in hidden]

    @property
    def scope_column(self) -> ColumnElement[Any]:
        return self.from_clause.c.org_path


def _vehicles_with_position() -> FromClause:
    latest = (
        select(Position.geom, Position.time, Position.speed_kmh, Position.heading)
        .where(Position.vehicle_id == Vehicle.id)
        .order_by(Position.time.desc())
        .limit(1)
        .lateral("latest")
    )
    return (
        select(
            Vehicle.id,
            Vehicle.org_path,
            Vehicle.campus_id,
            Vehicle.plate,
            Vehicle.route_id,
            Vehicle.capacity,
            latest.c.time.label("position_time"),
            latest.c.speed_kmh,
            latest.c.heading,
            latest.c.geom,
        )
        .select_from(Vehicle)
        .outerjoin(latest, literal_column("true"))
        .subquery("vehicles_latest")
    )


def _four_colour() -> FromClause:
    """Risk zones with the level of the four-colour map (the highest of the zone and its points, from the
    roll-up kept by the database) and its colour on the zone's scale (twin.riskmap)."""
    highest = func.coalesce(func.twin_rollup_highest(RiskRollup.points, RiskRollup.zones), RiskZone.level)
    return (
        select(
            RiskZone.id,
            RiskZone.org_path,
            RiskZone.campus_id,
            RiskZone.building_id,
            RiskZone.floor,
            RiskZone.code,
            RiskZone.name,
            RiskZone.category,
            RiskZone.level,
            highest.label("effective_level"),
            func.twin_risk_colour(RiskZone.org_path, highest).label("colour"),
            RiskZone.geom,
        )
        .select_from(RiskZone)
        .outerjoin(RiskRollup, RiskRollup.key == func.concat("zone:", RiskZone.id))
        .subquery("four_colour")
    )


def _patrol_coverage() -> FromClause:
    """Checkpoints with how their checks of the last seven days went (巡更 coverage on the map)."""
    c = PatrolCheck
    recent = (
        select(
            func.count().filter(c.status != "pending").label("due_7d"),
            func.count().filter(c.status == "on_time").label("on_time_7d"),
            func.count().filter(c.status == "late").label("late_7d"),
            func.count().filter(c.status == "missed").label("missed_7d"),
            func.max(c.visited_at).label("last_visit"),
        )
        .where(c.checkpoint_id == PatrolCheckpoint.id, c.due_at > func.now() - text("interval '7 days'"))
        .lateral("recent")
    )
    pct = func.round(cast(100.0 * recent.c.on_time_7d / func.nullif(recent.c.due_7d, 0), Numeric), 1)
    return (
        select(
            PatrolCheckpoint.id,
            PatrolCheckpoint.org_path,
            PatrolCheckpoint.route_id,
            PatrolCheckpoint.sequence,
            PatrolCheckpoint.code,
            PatrolCheckpoint.name,
            PatrolCheckpoint.radius_m,
            PatrolCheckpoint.offset_min,
            recent.c.due_7d,
            recent.c.on_time_7d,
            recent.c.late_7d,
            recent.c.missed_7d,
            pct.label("on_time_pct_7d"),
            recent.c.last_visit,
            PatrolCheckpoint.geom,
        )
        .select_from(PatrolCheckpoint)
        .join(recent, literal_column("true"))
        .subquery("patrol_coverage")
    )


def _entry(
    id_: str,
    title: str,
    description: str,
    model: Any,
    geometry_type: str,
    *,
    geometry_column: str = "geom",
    temporal: str | None = "updated_at",
    editable: bool = False,
    source: FromClause | None = None,
    derived_from: tuple[str, ...] = (),
    versioned: tuple[str, ...] | None = None,
) -> Collection:
    return Collection(
        id=id_,
        title=title,
        description=description,
        table=model.__table__,
        geometry_column=geometry_column,
        geometry_type=geometry_type,
        temporal_column=temporal,
        editable=editable,
        source=source,
        derived_from=derived_from,
        versioned=versioned if versioned is not None else (model.__tablename__,) if editable else (),
    )


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        _entry(
            "campuses",
            "Campuses",
            "School campuses and their boundaries",
            Campus,
            "MultiPolygon",
            geometry_column="boundary",
        ),
        _entry(
            "buildings",
            "Buildings",
            "Footprints with height, floors and base elevation",
            Building,
            "Polygon",
            editable=True,
        ),
        _entry(
            "pipe_segments",
            "Pipe segments",
            "Pipes and cables of six utilities",
            PipeSegment,
            "LineString",
            editable=True,
        ),
        _entry(
            "pipe_nodes", "Pipe nodes", "Surveyed points of the networks", PipeNode, "Point", editable=True
        ),
        _entry(
            "valves",
            "Isolation devices",
            "Valves, switches and breakers with their normal position",
            Valve,
            "Point",
        ),
        _entry(
            "risk_points", "Risk points", "Graded risk points (LS/LEC)", RiskPoint, "Point", editable=True
        ),
        _entry(
            "risk_zones",
            "Risk zones",
            "Graded risk zones, the four-colour map",
            RiskZone,
            "Polygon",
            editable=True,
        ),
        _entry(
            "four_colour",
            "Four-colour risk map",
            "Risk zones at the highest level of themselves and their risk points, with the colour (四色图)",
            RiskZone,
            "Polygon",
            temporal=None,
            source=_four_colour(),
            derived_from=("risk_zones", "risk_points"),
            versioned=("risk_zones", "risk_points", "risk_rollup"),
        ),
        _entry(
            "hazards",
            "Hazards",
            "The hazard ledger (隐患台账)",
            Hazard,
            "Point",
            temporal="found_at",
            editable=True,
        ),
        _entry(
            "inspections",
            "Inspections",
            "Inspection tasks and their results",
            Inspection,
            "Point",
            temporal="due_at",
        ),
        _entry("sensors", "Sensors", "Registered devices, pinned to building and floor", Sensor, "Point"),
        _entry("alerts", "Alerts", "Sensor alerts", Alert, "Point", temporal="last_at"),
        _entry("bus_routes", "Bus routes", "School bus routes", BusRoute, "LineString"),
        _entry("bus_stops", "Bus stops", "Stops of the bus routes", BusStop, "Point"),
        _entry(
            "vehicles",
            "Vehicles",
            "School buses at their latest position",
            Vehicle,
            "Point",
            temporal="position_time",
            source=_vehicles_with_position(),
        ),
        _entry("gates", "Gates", "Campus gates with card and face terminals (家校)", Gate, "Point"),
        _entry("patrol_routes", "Patrol routes", "Security patrol rounds (巡更)", PatrolRoute, "LineString"),
        _entry(
            "patrol_checkpoints",
            "Patrol checkpoints",
            "Checkpoints of the patrol rounds with their coverage over the last seven days",
            PatrolCheckpoint,
            "Point",
            temporal="last_visit",
            source=_patrol_coverage(),
        ),
        _entry(
            "patrol_visits",
            "Patrol visits",
            "Guards at checkpoints (GPS or tag)",
            PatrolVisit,
            "Point",
            temporal="time",
        ),
    )
}


def collection(collection_id: str) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        known = ", ".join(COLLECTIONS)
        raise NotFound(f"no collection {collection_id!r}; collections: {known}") from None


def extent_sql(c: Collection) -> Any:
    """The collection's bounding box in 4326 (a cheap estimate where PostGIS has statistics)."""
    return select(func.ST_Extent(c.geometry)).select_from(c.from_clause)
