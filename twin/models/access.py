"""Users, the tables each role may write, and the append-only audit log (tables made by migration 0005)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from twin.db.types import LTree
from twin.models.base import Base

ROLES = ("admin", "leader", "safety_officer", "maintenance", "analyst", "parent")


class User(Base):
    """Someone who signs in: a role at a node of the org tree (a parent: linked to their person row)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="ck_users_role_known"),
        CheckConstraint("role <> 'parent' OR person_id IS NOT NULL", name="ck_users_parent_is_a_person"),
        Index("ix_users_org_path", "org_path", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"))
    org_path: Mapped[str] = mapped_column(LTree())
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    disabled: Mapped[bool] = mapped_column(server_default="false")
    token_version: Mapped[int] = mapped_column(server_default="1")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WriteGrant(Base):
    """Role → table it may change; read by the row-level security policies."""

    __tablename__ = "write_grants"

    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)


class AuditEntry(Base):
    """Who changed what and when; written by triggers, never updated or deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_org_path", "org_path", postgresql_using="gist"),
        Index("ix_audit_log_table_row", "table_name", "row_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
    user_id: Mapped[int | None]
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int | None] = mapped_column(BigInteger)
    org_path: Mapped[str | None] = mapped_column(LTree())
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
