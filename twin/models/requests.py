"""Idempotency keys of hazard reports: a retried report (its answer lost) finds the hazard it made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree


class HazardRequest(Base):
    """A report's `Idempotency-Key` per user; hazard_id is set in the transaction that made the hazard."""

    __tablename__ = "hazard_requests"
    __table_args__ = (Index("ix_hazard_requests_org_path", "org_path", postgresql_using="gist"),)

    user_id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
