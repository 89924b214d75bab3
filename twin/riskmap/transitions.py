"""The hazard state machine (隐患闭环) of transitions.yaml: which move is legal, for whom, needing what.

Pure: no database. `Machine.check` is what every transition goes through; it raises 409 for a move the
loop does not have (naming the moves this caller has), 403 for a legal move the caller's role may not
make, and 422 for a move missing a field the data requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from twin.errors import Conflict, Forbidden, UnprocessableContent
from twin.models.risk import HAZARD_GRADES, HAZARD_STATES

HERE = Path(__file__).resolve().parent
ROLES = ("admin", "leader", "safety_officer", "maintenance", "analyst", "parent")
STATUSES = ("adopted", "assumed")


@dataclass(frozen=True)
class Transition:
    """One legal move of the loop."""

    source_state: str
    to: str
    roles: tuple[str, ...]
    grades: tuple[str, ...] = ()  # empty: any grade, or none yet
    requires: tuple[str, ...] = ()
    requires_if: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    source: str = ""
    status: str = "adopted"

    def applies_to(self, grade: str | None) -> bool:
        return not self.grades or grade in self.grades

    def missing(self, fields: dict[str, Any]) -> list[str]:
        """The required fields absent (None or blank) from `fields`."""
        needed = list(self.requires)
        for name, by_value in self.requires_if.items():
            needed += by_value.get(str(fields.get(name)), ())
        return [n for n in needed if _blank(fields.get(n))]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True)
class Machine:
    states: tuple[str, ...]
    terminal: frozenset[str]
    open_states: frozenset[str]
    transitions: tuple[Transition, ...]
    report_roles: tuple[str, ...] = ()

    def moves(self, state: str, grade: str | None) -> list[Transition]:
        """The legal moves out of `state` for a hazard of `grade`, whoever makes them."""
        return [t for t in self.transitions if t.source_state == state and t.applies_to(grade)]

    def next_states(self, state: str, grade: str | None, role: str) -> list[str]:
        """The states this role may move a hazard to from `state` (what a client offers as buttons)."""
        return sorted({t.to for t in self.moves(state, grade) if role in t.roles})

    def check(self, state: str, grade: str | None, role: str, to: str, fields: dict[str, Any]) -> Transition:
        """The move from `state` to `to`, if legal, allowed for `role` and complete; else 409, 403 or 422."""
        allowed = self.next_states(state, grade, role)
        legal = [t for t in self.moves(state, grade) if t.to == to]
        if not legal:
            listed = ", ".join(allowed) or "none"
            raise Conflict(
                f"a {state} hazard cannot go to {to}; the states you may move it to are: {listed}",
                state=state,
                allowed_next=allowed,
            )
        move = next((t for t in legal if role in t.roles), None)
        if move is None:
            roles = ", ".join(legal[0].roles)
            raise Forbidden(
                f"moving a {state} hazard to {to} needs the role {roles}; you are {role}",
                state=state,
                allowed_next=allowed,
            )
        missing = move.missing(fields)
        if missing:
            raise UnprocessableContent(
                f"moving a hazard to {to} needs {', '.join(missing)}", field=missing[0], missing=missing
            )
        return move


def _transition(raw: dict[str, Any]) -> Transition:
    return Transition(
        source_state=raw["from"],
        to=raw["to"],
        roles=tuple(raw["roles"]),
        grades=tuple(raw.get("grades", ())),
        requires=tuple(raw.get("requires", ())),
        requires_if={
            name: {value: tuple(fields) for value, fields in by_value.items()}
            for name, by_value in raw.get("requires_if", {}).items()
        },
        source=raw.get("source", ""),
        status=raw.get("status", ""),
    )


def validate(machine: Machine) -> Machine:
    """Refuse a table that names unknown states, grades or roles, or lacks a source (a typo is a bug)."""
    if set(machine.states) != set(HAZARD_STATES):
        raise ValueError(f"transitions.yaml states {machine.states} differ from the hazards table's")
    if set(machine.report_roles) & {"analyst", "parent"} or set(machine.report_roles) - set(ROLES):
        raise ValueError("report_roles: staff roles only")
    for t in machine.transitions:
        where = f"transition {t.source_state} -> {t.to}"
        if {t.source_state, t.to} - set(machine.states):
            raise ValueError(f"{where}: unknown state")
        if set(t.grades) - set(HAZARD_GRADES) or set(t.roles) - set(ROLES) or not t.roles:
            raise ValueError(f"{where}: unknown grade or role, or no role at all")
        if not t.source or t.status not in STATUSES:
            raise ValueError(f"{where}: needs a source and a status ({', '.join(STATUSES)})")
        if {"analyst", "parent"} & set(t.roles):
            raise ValueError(f"{where}: analysts and parents only read")
    return machine


def load_machine(path: Path = HERE / "transitions.yaml") -> Machine:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return validate(
        Machine(
            states=tuple(raw["states"]),
            terminal=frozenset(raw["terminal"]),
            open_states=frozenset(raw["open_states"]),
            transitions=tuple(_transition(t) for t in raw["transitions"]),
            report_roles=tuple(raw["report_roles"]),
        )
    )


@lru_cache
def machine() -> Machine:
    """The loop of transitions.yaml, loaded and validated once."""
    return load_machine()
