"""Risk points and zones (风险点/区域), hazards (隐患) and inspections (排查)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from twin.db.summaries import OPEN as OPEN_STATES
from twin.models.base import Base, LTree, Versioned, geometry, school_owned

RISK_CATEGORIES = (
    "fire",
    "buildings",
    "laboratory",
    "canteen",
    "dormitory",
    "traffic",
    "sports",
    "utilities",
    "crowd",
    "events",
    "drowning",
    "bullying",
    "security",
    "natural_disaster",
    "epidemic",
)
METHODS = ("LS", "LEC")
HAZARD_GRADES = ("general", "major")
HAZARD_STATES = (
    "reported",
    "confirmed",
    "rejected",
    "assigned",
    "rectifying",
    "deferral_requested",
    "submitted",
    "supervised",
    "evaluated",
    "accepted",
    "closed",
)


def _risk_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(f"category IN {RISK_CATEGORIES}", name="category_known"),
        CheckConstraint(f"method IS NULL OR method IN {METHODS}", name="method_known"),
        CheckConstraint("level IS NULL OR level BETWEEN 1 AND 4", name="level_1_to_4"),
    )


class _RiskFields(Versioned):
    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    accident_types: Mapped[list[str] | None] = mapped_column(ARRAY(String(8)))
    description: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(String(4))
    inputs: Mapped[dict[str, Any] | None]
    score: Mapped[float | None]
    level: Mapped[int | None]
    dynamic: Mapped[bool] = mapped_column(server_default="false")
    measures: Mapped[dict[str, Any] | None]
    control_level: Mapped[str | None] = mapped_column(String(32))
    floor: Mapped[int | None]
    review_date: Mapped[datetime | None]


class RiskZone(_RiskFields, Base):
    """An area graded as a whole: a lab, a stairwell, the canteen kitchen, a stretch of road."""

    __tablename__ = "risk_zones"
    __table_args__ = school_owned("risk_zones", UniqueConstraint("campus_id", "code"), *_risk_checks())

    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    responsible_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    geom: Mapped[Any] = geometry("POLYGON")


class RiskPoint(_RiskFields, Base):
    """A place or piece of equipment whose risk is assessed and controlled (风险点)."""

    __tablename__ = "risk_points"
    __table_args__ = school_owned(
        "risk_points",
        UniqueConstraint("campus_id", "code"),
        CheckConstraint(
            "effective_level IS NULL OR effective_level BETWEEN 1 AND 4", name="effective_level_1_to_4"
        ),
        *_risk_checks(),
    )

    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("risk_zones.id", ondelete="SET NULL"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    responsible_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # The level in force: the static `level`, raised for a dynamic risk by linked open hazards and active
    # sensor alerts by `likelihood_steps` up the L list. Both set by the database (migration 0008).
    effective_level: Mapped[int | None]
    likelihood_steps: Mapped[int] = mapped_column(server_default="0")
    geom: Mapped[Any] = geometry("POINT")


class Inspection(Versioned, Base):
    """One occurrence of a recurring check of a risk point; overdue when not done by its due time."""

    __tablename__ = "inspections"
    # One task per risk point, frequency and due time: generating a period twice adds nothing.
    __table_args__ = school_owned(
        "inspections",
        UniqueConstraint("risk_point_id", "frequency", "due_at"),
        # Inspections not due yet (twin.db.summaries, 0018), read from the index alone.
        Index("ix_inspections_due_at", "due_at", postgresql_include=["org_path", "done_at"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    risk_point_id: Mapped[int | None] = mapped_column(ForeignKey("risk_points.id", ondelete="CASCADE"))
    frequency: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    result: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = geometry("POINT", nullable=True)


class Hazard(Versioned, Base):
    """A hazard found and driven through the closed loop to closure (隐患台账)."""

    __tablename__ = "hazards"
    __table_args__ = school_owned(
        "hazards",
        UniqueConstraint("campus_id", "number"),
        CheckConstraint(f"grade IS NULL OR grade IN {HAZARD_GRADES}", name="grade_known"),
        CheckConstraint(f"state IN {HAZARD_STATES}", name="state_known"),
        CheckConstraint(f"category IN {RISK_CATEGORIES}", name="category_known"),
        # The ledger pages newest first (twin.riskmap.queries_hazards.ledger_page).
        Index("ix_hazards_found_at_id", "found_at", "id"),
        # Open hazards not yet past their deadline: what the statistics subtract from the open ones (0018).
        Index(
            "ix_hazards_open_deadline",
            "deadline",
            postgresql_include=["org_path", "found_at"],  # index-only: no heap visit per hazard
            postgresql_where=text(OPEN_STATES),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(24), server_default="reported")
    found_at: Mapped[datetime]
    found_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    floor: Mapped[int | None]
    description: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[dict[str, Any] | None]
    measures: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[datetime | None]
    responsible_department: Mapped[str | None] = mapped_column(String(100))
    responsible_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    funds_cny: Mapped[float | None]
    rectified_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(Text)
    risk_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("risk_points.id", ondelete="SET NULL"), index=True
    )
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id", ondelete="SET NULL"))
    geom: Mapped[Any] = geometry("POINT")
