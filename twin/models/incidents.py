"""Bullying and violence incidents (校园欺凌与暴力事件) and their follow-up steps (migration 0019).

An incident is located at a place of a campus (a point; a building and floor when known) with a place
kind (stairwell, toilet…) so hot spots by kind of place work across a region. People are kept by the
part they had (victim, perpetrator, witness) and what they are (student, teacher, staff, outsider),
with a person id only where one is known: statistics count roles and never read ids or names.

Types and place kinds are data (twin/incidents/incidents.yaml), checked by the application, so a
province can add a kind without a migration; the follow-up states are fixed here because the state
machine of the same file is validated against them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from twin.models.base import Base, LTree, Versioned, geometry, school_owned

INCIDENT_STATES = ("reported", "investigating", "confirmed", "dismissed", "intervening", "closed")


class Incident(Versioned, Base):
    """One reported bullying or violence incident at a place of a campus."""

    __tablename__ = "incidents"
    __table_args__ = school_owned(
        "incidents",
        CheckConstraint(f"state IN {INCIDENT_STATES}", name="state_known"),
        CheckConstraint("floor IS NULL OR floor BETWEEN -10 AND 200", name="floor_plausible"),
        CheckConstraint("jsonb_typeof(involved) = 'array'", name="involved_is_list"),
        Index("ix_incidents_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    place_kind: Mapped[str] = mapped_column(String(32))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    floor: Mapped[int | None]
    occurred_at: Mapped[datetime]
    reported_at: Mapped[datetime]
    reported_by: Mapped[int | None]  # the user; not a foreign key, so the record outlives the account
    state: Mapped[str] = mapped_column(String(24), server_default="reported")
    summary: Mapped[str | None] = mapped_column(Text)
    # [{"kind": "student", "role": "victim", "person_id": 12 | null}, …]
    involved: Mapped[dict[str, Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    geom: Mapped[Any] = geometry("POINT")


class IncidentTransition(Base):
    """One follow-up step: who moved an incident from which state to which, when and why (append-only)."""

    __tablename__ = "incident_transitions"
    __table_args__ = (
        Index("ix_incident_transitions_org_path", "org_path", postgresql_using="gist"),
        Index("ix_incident_transitions_incident_id", "incident_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    org_path: Mapped[str] = mapped_column(LTree())
    incident_id: Mapped[int]
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    user_id: Mapped[int | None]
    role: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
    note: Mapped[str | None] = mapped_column(Text)
