"""Every state an editable feature has had: who made it, when and how (table and triggers of migration 0006).

Triggers on the editable tables fill it in the transaction of the change, so no code path can skip it:
an insert records the new state, an update the state it leads to (the version bumped by the database),
a delete a tombstone carrying the last state, which is what makes a deleted feature recoverable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from twin.db.types import LTree
from twin.models.base import Base, geometry

# baseline: the state a row had when history first met it (bulk loads, rows older than migration 0006).
OPERATIONS = ("insert", "update", "delete", "restore", "baseline")
# The tables whose rows are features editable through OGC API Features Part 4 (twin.layers.registry).
VERSIONED_TABLES = ("buildings", "pipe_nodes", "pipe_segments", "risk_zones", "risk_points", "hazards")


class FeatureVersion(Base):
    """One version of one feature of an editable collection; the current version included."""

    __tablename__ = "feature_versions"
    __table_args__ = (
        UniqueConstraint("collection", "feature_id", "version"),
        CheckConstraint(f"operation IN {OPERATIONS}", name="operation_known"),
        Index("ix_feature_versions_org_path", "org_path", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    collection: Mapped[str] = mapped_column(String(64))
    feature_id: Mapped[int]
    version: Mapped[int]
    org_path: Mapped[str] = mapped_column(LTree())
    operation: Mapped[str] = mapped_column(String(8))
    properties: Mapped[dict[str, Any]]
    geom: Mapped[Any] = geometry("GEOMETRY", nullable=True)
    changed_by: Mapped[int | None]
    changed_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
