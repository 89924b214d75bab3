"""Roles and what each may do; which tables a role writes is data (`write_grants`, used by the policies)."""

from __future__ import annotations

from enum import StrEnum

from twin.models.access import ROLES


class Role(StrEnum):
    admin = "admin"  # users of its subtree, and every table in it
    leader = "leader"  # reads everything in its subtree
    safety_officer = "safety_officer"  # risks, hazards and inspections of its schools
    maintenance = "maintenance"  # pipes and excavation of its schools
    analyst = "analyst"  # reads and statistics of its subtree
    parent = "parent"  # their children's bus, ETA and school announcements only


assert tuple(Role) == ROLES, "roles and the users table's check constraint must agree"
