"""The org tree (province → city → county → school) and people."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree, Timestamps, geometry, school_owned, valid_geometry

ORG_LEVELS = ("province", "city", "county", "school")


class OrgUnit(Timestamps, Base):
    """A node of the administrative tree, keyed by its GB/T 2260 code (school: its 10-digit id)."""

    __tablename__ = "org_units"
    __table_args__ = (
        CheckConstraint(f"level IN {ORG_LEVELS}", name="level_known"),
        CheckConstraint("level = 'school' OR code ~ '^[0-9]{6}$'", name="admin_code_6_digits"),
        Index("ix_org_units_path", "path", postgresql_using="gist"),
        # The roots of the tree: twin_begin_request asks whether a caller's root has a sibling on every
        # request (migration 0024).
        Index("ix_org_units_roots", "id", postgresql_where=text("parent_id IS NULL")),
        valid_geometry("boundary"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"))
    path: Mapped[str] = mapped_column(LTree(), unique=True)
    enrolment: Mapped[int | None]
    boundary: Mapped[Any] = geometry("MULTIPOLYGON", nullable=True)


PERSON_ROLES = ("staff", "teacher", "student", "parent", "guard", "driver")


class Person(Timestamps, Base):
    """Someone the platform knows: staff to notify, students on buses, their parents."""

    __tablename__ = "people"
    __table_args__ = school_owned(
        "people", CheckConstraint(f"role IN {PERSON_ROLES}", name="role_known"), geoms=()
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    route_id: Mapped[int | None] = mapped_column(ForeignKey("bus_routes.id", ondelete="SET NULL"))
    stop_id: Mapped[int | None] = mapped_column(ForeignKey("bus_stops.id", ondelete="SET NULL"))


class Guardian(Base):
    """A parent's link to a student (a child may have several guardians)."""

    __tablename__ = "guardians"
    __table_args__ = school_owned("guardians", UniqueConstraint("parent_id", "student_id"), geoms=())

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    parent_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    relation: Mapped[str | None] = mapped_column(String(32))
