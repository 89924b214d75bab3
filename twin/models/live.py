"""Sensors and alerts; school bus routes, stops, vehicles and their positions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree, Timestamps, Versioned, geometry, school_owned, valid_geometry

SENSOR_TYPES = (
    "smoke",
    "heat",
    "fire",
    "gas",
    "water_pressure",
    "flow",
    "water_level",
    "power",
    "access",
    "intrusion",
    "camera",
    "fight",
    "knife",
    "temperature",
    "air_quality",
)
SEVERITIES = ("critical", "major", "minor", "warning")
LIVE_KINDS = ("alert", "position", "notification")


class Sensor(Versioned, Base):
    """A registered device, pinned to a point, building and floor so its events need no coordinates."""

    __tablename__ = "sensors"
    __table_args__ = school_owned("sensors", CheckConstraint(f"type IN {SENSOR_TYPES}", name="type_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    floor: Mapped[int | None]
    height_m: Mapped[float | None]
    # The risk point whose likelihood this sensor's active alerts raise (dynamic risks, migration 0008).
    risk_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("risk_points.id", ondelete="SET NULL"), index=True
    )
    geom: Mapped[Any] = geometry("POINT")


class Alert(Timestamps, Base):
    """A raised condition; repeats of the same (source, type) while active count up instead."""

    __tablename__ = "alerts"
    __table_args__ = school_owned(
        "alerts",
        CheckConstraint(f"severity IN {SEVERITIES}", name="severity_known"),
        # One active alert per (sensor, type): concurrent ingest workers meet here, repeats count up.
        Index(
            "uq_alerts_active_sensor_type",
            "sensor_id",
            "type",
            unique=True,
            postgresql_where=text("cleared_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("sensors.id", ondelete="SET NULL"))
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(server_default="1")
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    acked_at: Mapped[datetime | None]
    acked_by: Mapped[str | None] = mapped_column(String(100))
    cleared_at: Mapped[datetime | None]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    context: Mapped[dict[str, Any] | None]
    escalation_step: Mapped[int] = mapped_column(server_default="0")
    geom: Mapped[Any] = geometry("POINT")


class AlertEvent(Base):
    """Every sensor event id taken in, so a redelivered repeat is not counted twice; partitioned by month.

    Keyed (event_id, time): a redelivery carries its original time, so it meets its first copy in the same
    partition (migration 0021); old months are retired by twin.db.retention.
    """

    __tablename__ = "alert_events"
    __table_args__ = (
        Index("ix_alert_events_org_path", "org_path", postgresql_using="gist"),
        {"postgresql_partition_by": "RANGE (time)"},
    )

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    time: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[float | None]
    unit: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AlertTimer(Base):
    """A durable escalation step: due at a time, fired (or skipped) once by whichever worker claims it."""

    __tablename__ = "alert_timers"
    __table_args__ = (
        Index("ix_alert_timers_org_path", "org_path", postgresql_using="gist"),
        Index("ix_alert_timers_due", "due_at", postgresql_where=text("done_at IS NULL")),
        UniqueConstraint("alert_id", "step"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    step: Mapped[int]
    due_at: Mapped[datetime]
    notify: Mapped[dict[str, Any] | None]
    done_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))


class LiveEvent(Base):
    """The log the live streams replay: written in the transaction that changed the alert (or position)."""

    __tablename__ = "live_events"
    __table_args__ = (
        Index("ix_live_events_org_path", "org_path", postgresql_using="gist"),
        Index("ix_live_events_at", "at"),  # the retention purge
        CheckConstraint(f"kind IN {LIVE_KINDS}", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]
    at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class BusRoute(Versioned, Base):
    """A school bus route as driven."""

    __tablename__ = "bus_routes"
    __table_args__ = school_owned("bus_routes", UniqueConstraint("campus_id", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    geom: Mapped[Any] = geometry("LINESTRING")


class BusStop(Versioned, Base):
    """A stop of a route, in driving order."""

    __tablename__ = "bus_stops"
    __table_args__ = school_owned("bus_stops", UniqueConstraint("route_id", "sequence"))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    route_id: Mapped[int] = mapped_column(ForeignKey("bus_routes.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int]
    scheduled_min: Mapped[int | None]
    geom: Mapped[Any] = geometry("POINT")


class BusTrip(Base):
    """A departure of a route on school days; its stop times are `departs_min` + each stop's offset."""

    __tablename__ = "bus_trips"
    __table_args__ = school_owned(
        "bus_trips",
        UniqueConstraint("route_id", "code"),
        CheckConstraint("departs_min >= 0 AND departs_min < 2880", name="departs_in_day"),
        geoms=(),
    )

    id: Mapped[int] = mapped_column(Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    route_id: Mapped[int] = mapped_column(ForeignKey("bus_routes.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    departs_min: Mapped[int]  # minutes after local midnight (≥ 1440: after midnight of the next day)


class Vehicle(Versioned, Base):
    """A school bus and the terminal that reports its position."""

    __tablename__ = "vehicles"
    __table_args__ = school_owned("vehicles", geoms=())

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    plate: Mapped[str] = mapped_column(String(16), unique=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("bus_routes.id", ondelete="SET NULL"))
    capacity: Mapped[int | None]
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class Position(Base):
    """A GPS fix; the table is partitioned by month (see the migration that creates the partitions)."""

    __tablename__ = "positions"
    __table_args__ = (
        PrimaryKeyConstraint("vehicle_id", "time"),
        Index("ix_positions_org_path", "org_path", postgresql_using="gist"),
        Index("ix_positions_time", "time"),
        valid_geometry(),
        {"postgresql_partition_by": "RANGE (time)"},
    )

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"))
    time: Mapped[datetime]
    org_path: Mapped[str] = mapped_column(LTree())
    speed_kmh: Mapped[float | None]
    heading: Mapped[float | None]
    received_at: Mapped[datetime | None]
    geom: Mapped[Any] = geometry("POINT")


class BusFenceState(Base):
    """What the geofences knew of a bus after its last fix; shared by every worker (written by the owner)."""

    __tablename__ = "bus_fence_state"

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"), primary_key=True)
    inside: Mapped[bool | None]
    off_route: Mapped[bool] = mapped_column(server_default=text("false"))
    speeding: Mapped[bool] = mapped_column(server_default=text("false"))
    offline: Mapped[bool] = mapped_column(server_default=text("false"))
    last_at: Mapped[datetime | None]
    stop_visit: Mapped[str | None] = mapped_column(String(96))  # day/trip/stop judged for lateness
