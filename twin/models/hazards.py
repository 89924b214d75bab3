"""The hazard loop's records: transitions, photos, numbers, escalations, notifications, inspection plans.

Tables of migration 0009. Every one belongs to a school (or, for a notification sent up the tree, to the
county, city or province it was sent to) and carries that org path, so the one scope rule filters it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree

NOTIFICATION_LEVELS = ("person", "school", "county", "city", "province")
ESCALATION_OUTCOMES = ("notified", "skipped")


def _scoped(table: str, *extra: Any) -> tuple[Any, ...]:
    return (Index(f"ix_{table}_org_path", "org_path", postgresql_using="gist"), *extra)


class HazardTransition(Base):
    """One step of a hazard through the loop: who moved it from which state to which, when and why.

    Append-only (a trigger refuses updates and deletes); it keeps no foreign key to the hazard, so the
    record outlives the row, as feature versions do.
    """

    __tablename__ = "hazard_transitions"
    __table_args__ = _scoped("hazard_transitions", Index("ix_hazard_transitions_hazard_id", "hazard_id"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    hazard_id: Mapped[int]
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    user_id: Mapped[int | None]
    role: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
    note: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None]


class HazardPhoto(Base):
    """A photo of a hazard: the file lives under TWIN_DATA_DIR/media by its sha256, the facts here."""

    __tablename__ = "hazard_photos"
    __table_args__ = _scoped(
        "hazard_photos",
        Index("ix_hazard_photos_sha256", "sha256"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("media_type IN ('image/jpeg', 'image/png', 'image/webp')", name="media_type_known"),
    )

    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    media_type: Mapped[str] = mapped_column(String(16))
    bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    uploaded_by: Mapped[int | None]
    uploaded_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class HazardNumber(Base):
    """The last hazard number given per school and year (YH-<school>-<year>-<n>); locked per report."""

    __tablename__ = "hazard_numbers"
    __table_args__ = _scoped("hazard_numbers")

    org_path: Mapped[str] = mapped_column(LTree(), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int]


class Escalation(Base):
    """A scheduled step of escalating an overdue hazard: whom to notify, when; done once, by one worker."""

    __tablename__ = "escalations"
    __table_args__ = _scoped(
        "escalations",
        Index("ix_escalations_pending", "due_at", postgresql_where=text("done_at IS NULL")),
        CheckConstraint(f"level IN {NOTIFICATION_LEVELS}", name="level_known"),
        CheckConstraint(f"outcome IS NULL OR outcome IN {ESCALATION_OUTCOMES}", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id", ondelete="CASCADE"), index=True)
    step: Mapped[int]
    level: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime]  # the deadline it escalates; a new deadline makes it moot
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Notification(Base):
    """A message to a person or to an org level: the row is the truth, the MQTT message only the bell."""

    __tablename__ = "notifications"
    __table_args__ = _scoped(
        "notifications", CheckConstraint(f"level IN {NOTIFICATION_LEVELS}", name="level_known")
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())  # whom it is for: the school, or the level it went up to
    school_path: Mapped[str] = mapped_column(LTree())  # where it comes from (the MQTT topic)
    level: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class InspectionPlan(Base):
    """A recurring check of a risk point at a frequency of the data table (排查计划)."""

    __tablename__ = "inspection_plans"
    __table_args__ = _scoped(
        "inspection_plans",
        UniqueConstraint("risk_point_id", "frequency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"))
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_points.id", ondelete="CASCADE"))
    frequency: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
