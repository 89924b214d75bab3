"""Family level (家校): campus gates, their card and face terminals, credentials, gate events, classes."""

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
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree, Timestamps, geometry, school_owned

ACCESS_METHODS = ("card", "face")
TERMINAL_DIRECTIONS = ("in", "out", "both")
GATE_DIRECTIONS = ("in", "out")


class Gate(Timestamps, Base):
    """A campus gate: the point its terminals stand at."""

    __tablename__ = "gates"
    __table_args__ = school_owned("gates", UniqueConstraint("campus_id", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    geom: Mapped[Any] = geometry("POINT")


class GateTerminal(Timestamps, Base):
    """A card reader or face terminal of a gate; its device id is the MQTT topic's."""

    __tablename__ = "gate_terminals"
    __table_args__ = school_owned(
        "gate_terminals",
        CheckConstraint(f"method IN {ACCESS_METHODS}", name="method_known"),
        CheckConstraint(f"direction IN {TERMINAL_DIRECTIONS}", name="direction_known"),
        geoms=(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    method: Mapped[str] = mapped_column(String(8))
    direction: Mapped[str] = mapped_column(String(8))  # 'both': the event says which way


class AccessCredential(Timestamps, Base):
    """A card number or an enrolled face id, and the person it belongs to."""

    __tablename__ = "access_credentials"
    __table_args__ = school_owned(
        "access_credentials",
        CheckConstraint(f"method IN {ACCESS_METHODS}", name="method_known"),
        UniqueConstraint("method", "credential"),
        geoms=(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(8))
    credential: Mapped[str] = mapped_column(String(128))


class GateEvent(Base):
    """Someone passed a gate: who, which way, when; the terminal's event id makes a repeat a no-op."""

    __tablename__ = "gate_events"
    __table_args__ = school_owned(
        "gate_events",
        CheckConstraint(f"direction IN {GATE_DIRECTIONS}", name="direction_known"),
        Index("ix_gate_events_person_id_time", "person_id", "time"),
        geoms=(),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("gate_terminals.id", ondelete="SET NULL"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))
    time: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SchoolClass(Timestamps, Base):
    """A class (班级) and its class teacher (班主任), who hears of a pupil missing at the gate."""

    __tablename__ = "school_classes"
    __table_args__ = school_owned("school_classes", UniqueConstraint("org_path", "code"), geoms=())

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class ClassStudent(Base):
    """A student's class (one at a time)."""

    __tablename__ = "class_students"
    __table_args__ = school_owned("class_students", geoms=())

    student_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    class_id: Mapped[int] = mapped_column(ForeignKey("school_classes.id", ondelete="CASCADE"), index=True)
