"""Security patrols (人防, 巡更): routes, checkpoints, shifts, guard devices, visits and the checks due."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    String,
    Time,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree, Timestamps, geometry, school_owned

VISIT_SOURCES = ("gps", "tag")
CHECK_STATES = ("pending", "on_time", "late", "missed")


class PatrolRoute(Timestamps, Base):
    """The path a guard walks on a round."""

    __tablename__ = "patrol_routes"
    __table_args__ = school_owned("patrol_routes", UniqueConstraint("campus_id", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    geom: Mapped[Any] = geometry("LINESTRING")


class PatrolCheckpoint(Timestamps, Base):
    """A point of a round: visited when a guard's fix falls within `radius_m` or its tag is scanned."""

    __tablename__ = "patrol_checkpoints"
    __table_args__ = school_owned(
        "patrol_checkpoints",
        UniqueConstraint("route_id", "sequence"),
        CheckConstraint("radius_m > 0 AND radius_m <= 500", name="radius_sensible"),
        CheckConstraint("offset_min >= 0", name="offset_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    route_id: Mapped[int] = mapped_column(ForeignKey("patrol_routes.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    radius_m: Mapped[float] = mapped_column(server_default="15")
    offset_min: Mapped[float] = mapped_column(server_default="0")  # due this long after the shift starts
    tag_id: Mapped[str | None] = mapped_column(String(128), unique=True)  # an NFC tag fixed there
    geom: Mapped[Any] = geometry("POINT")


class PatrolSchedule(Timestamps, Base):
    """A shift walking a route: local start time, length, weekdays and the tolerance of each checkpoint."""

    __tablename__ = "patrol_schedules"
    __table_args__ = school_owned(
        "patrol_schedules",
        CheckConstraint("duration_min > 0 AND duration_min <= 1440", name="duration_sensible"),
        CheckConstraint("tolerance_min >= 0", name="tolerance_not_negative"),
        CheckConstraint("weekdays ~ '^[1-7]{1,7}$'", name="weekdays_iso"),
        geoms=(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    route_id: Mapped[int] = mapped_column(ForeignKey("patrol_routes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    starts: Mapped[time] = mapped_column(Time())
    duration_min: Mapped[int]
    tolerance_min: Mapped[int] = mapped_column(server_default="10")
    weekdays: Mapped[str] = mapped_column(String(7), server_default="1234567")  # ISO: 1 Monday … 7 Sunday
    tz: Mapped[str] = mapped_column(String(64), server_default="Asia/Shanghai")


class PatrolDevice(Timestamps, Base):
    """A guard's phone (OsmAnd) or tag reader (MQTT), and the guard carrying it."""

    __tablename__ = "patrol_devices"
    __table_args__ = school_owned("patrol_devices", geoms=())

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class PatrolVisit(Base):
    """A guard at a checkpoint: from a fix within its radius or a scan of its tag."""

    __tablename__ = "patrol_visits"
    __table_args__ = school_owned(
        "patrol_visits",
        CheckConstraint(f"source IN {VISIT_SOURCES}", name="source_known"),
        Index("ix_patrol_visits_checkpoint_id_time", "checkpoint_id", "time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    event_id: Mapped[str] = mapped_column(String(160), unique=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("patrol_checkpoints.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_devices.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(8))
    time: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    geom: Mapped[Any] = geometry("POINT")


class PatrolCheck(Base):
    """One checkpoint due in one shift, and how it went; written by the scheduler, read by coverage."""

    __tablename__ = "patrol_checks"
    __table_args__ = school_owned(
        "patrol_checks",
        CheckConstraint(f"status IN {CHECK_STATES}", name="status_known"),
        UniqueConstraint("schedule_id", "checkpoint_id", "due_at"),
        Index("ix_patrol_checks_due_at", "due_at"),
        geoms=(),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    schedule_id: Mapped[int] = mapped_column(ForeignKey("patrol_schedules.id", ondelete="CASCADE"))
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("patrol_checkpoints.id", ondelete="CASCADE"))
    shift_start: Mapped[datetime]
    shift_end: Mapped[datetime]
    due_at: Mapped[datetime]
    tolerance_min: Mapped[int]
    status: Mapped[str] = mapped_column(String(8), server_default="pending")
    visit_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("patrol_visits.id", ondelete="SET NULL")
    )
    visited_at: Mapped[datetime | None]
