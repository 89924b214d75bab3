"""Emergency drills (应急演练), safety-education sessions (安全教育) and school-bus incidents.

Tables of migration 0014, counted by twin.stats. Drills and sessions are records a school keeps (type,
date, participants); bus incidents are what the bus tracking reports (overspeed, deviation from the
route, late at a stop) — the table has its shape now and the bus work fills it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree, Versioned, geometry, school_owned

DRILL_TYPES = ("fire", "earthquake", "flood", "intrusion", "stampede", "gas", "first_aid", "other")
EDUCATION_TYPES = (
    "fire",
    "traffic",
    "drowning",
    "bullying",
    "food",
    "lab",
    "cyber",
    "mental_health",
    "other",
)
BUS_INCIDENT_KINDS = ("overspeed", "deviation", "late", "offline", "enter", "exit")


def _held(table: str, types: tuple[str, ...]) -> tuple[Any, ...]:
    return (
        Index(f"ix_{table}_org_path", "org_path", postgresql_using="gist"),
        Index(f"ix_{table}_held_on", "held_on"),
        CheckConstraint(f"type IN {types}", name="type_known"),
        CheckConstraint("participants >= 0", name="participants_not_negative"),
    )


class Drill(Versioned, Base):
    """An emergency drill a school held: what kind, when, how many took part."""

    __tablename__ = "drills"
    __table_args__ = _held("drills", DRILL_TYPES)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    type: Mapped[str] = mapped_column(String(32))
    held_on: Mapped[date]
    participants: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)


class EducationSession(Versioned, Base):
    """A safety-education session (class, assembly, talk) a school held."""

    __tablename__ = "education_sessions"
    __table_args__ = _held("education_sessions", EDUCATION_TYPES)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    type: Mapped[str] = mapped_column(String(32))
    held_on: Mapped[date]
    participants: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)


class BusIncident(Base):
    """A bus that sped, left its route, ran late, went silent, entered or left the campus; never edited.

    Partitioned by month of `at` (migration 0021), so the key holds it; old months are retired by
    twin.db.retention.
    """

    __tablename__ = "bus_incidents"
    __table_args__ = (
        *school_owned(
            "bus_incidents",
            Index("ix_bus_incidents_at", "at"),
            CheckConstraint(f"kind IN {BUS_INCIDENT_KINDS}", name="kind_known"),
        ),
        {"postgresql_partition_by": "RANGE (at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[float | None]  # km/h over the limit, metres off the route, minutes late or silent
    geom: Mapped[Any] = geometry("POINT", nullable=True)
