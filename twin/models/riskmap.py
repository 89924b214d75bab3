"""Grading scales chosen per province or school, and the incremental roll-up of the four-colour map."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree

ROLLUP_KINDS = ("zone", "floor", "building", "campus", "org")


class RiskScale(Base):
    """The grading scheme of an org unit and its subtree (nearest ancestor wins; the root row '' is the
    default). `definition` is twin.riskmap.Scale.definition(): what the database re-grades with."""

    __tablename__ = "risk_scales"
    __table_args__ = (Index("ix_risk_scales_org_path", "org_path", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree(), unique=True)
    scheme: Mapped[str] = mapped_column(String(32))
    colours: Mapped[dict[str, Any] | None]
    dynamic: Mapped[dict[str, Any] | None]
    definition: Mapped[dict[str, Any]]
    updated_by: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class RiskRollup(Base):
    """Counts per level of the risk points and zones under one zone, floor, building, campus or org unit.

    Kept by triggers on risk_points and risk_zones (migration 0008): an edit adds and subtracts its row
    along its own path, O(depth). `key` is 'zone:<id>', 'floor:<building>:<floor>', 'building:<id>',
    'campus:<id>' or 'org:<path>'; `org_path` is the school's (or, for org rows, the unit's) for the scope.
    """

    __tablename__ = "risk_rollup"
    __table_args__ = (
        CheckConstraint(f"kind IN {ROLLUP_KINDS}", name="kind_known"),
        Index("ix_risk_rollup_org_path", "org_path", postgresql_using="gist"),
    )

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int | None]
    building_id: Mapped[int | None]
    floor: Mapped[int | None]
    zone_id: Mapped[int | None]
    points: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default=text("'{0,0,0,0}'"))
    zones: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default=text("'{0,0,0,0}'"))
