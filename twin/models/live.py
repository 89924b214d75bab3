"""Sensors and alerts; school bus routes, stops, vehicles and their positions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, PrimaryKeyConstraint, String, UniqueConstraint
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
    geom: Mapped[Any] = geometry("POINT")


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
