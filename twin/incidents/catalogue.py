"""The data of incidents.yaml, loaded and validated once: types, places, people, roles, follow-up steps.

Pure: no database. `Machine.check` is what every follow-up step goes through: 409 for a move the
procedure does not have (naming the moves this caller has), 403 for a move the caller's role may not
make, 422 for a move that needs a note without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from twin.access.roles import Role
from twin.errors import Conflict, Forbidden, UnprocessableContent
from twin.models.incidents import INCIDENT_STATES

HERE = Path(__file__).resolve().parent
STATUSES = ("adopted", "assumed")


@dataclass(frozen=True)
class Kind:
    """A type of incident or a kind of place, with its names and where it comes from."""

    code: str
    zh: str
    en: str
    source: str
    status: str


@dataclass(frozen=True)
class Step:
    source_state: str
    to: str
    roles: tuple[str, ...]
    requires_note: bool = False


@dataclass(frozen=True)
class Catalogue:
    types: dict[str, Kind]
    places: dict[str, Kind]
    person_kinds: tuple[str, ...]
    involvement: tuple[str, ...]
    roles: dict[str, tuple[str, ...]]
    terminal: frozenset[str]
    steps: tuple[Step, ...]

    def may(self, what: str, role: Role) -> bool:
        return role.value in self.roles[what]

    def require(self, what: str, role: Role, doing: str) -> None:
        """403 unless `role` is one of those the data lets do `what`."""
        if not self.may(what, role):
            raise Forbidden(f"{doing} needs the role {', '.join(self.roles[what])}; you are {role.value}")

    def next_states(self, state: str, role: str) -> list[str]:
        return sorted({s.to for s in self.steps if s.source_state == state and role in s.roles})

    def check(self, state: str, role: str, to: str, note: str | None) -> Step:
        """The step from `state` to `to` if the procedure has it, the role may take it and it is complete."""
        allowed = self.next_states(state, role)
        legal = [s for s in self.steps if s.source_state == state and s.to == to]
        if not legal:
            raise Conflict(
                f"a {state} incident cannot go to {to}; the states you may move it to are:"
                f" {', '.join(allowed) or 'none'}",
                state=state,
                allowed_next=allowed,
            )
        step = next((s for s in legal if role in s.roles), None)
        if step is None:
            raise Forbidden(
                f"moving a {state} incident to {to} needs the role {', '.join(legal[0].roles)};"
                f" you are {role}",
                state=state,
                allowed_next=allowed,
            )
        if step.requires_note and not (note and note.strip()):
            raise UnprocessableContent(f"moving an incident to {to} needs a note saying why", field="note")
        return step


def _kinds(rows: list[dict[str, Any]], what: str) -> dict[str, Kind]:
    kinds = {r["code"]: Kind(r["code"], r["zh"], r["en"], r.get("source", ""), r["status"]) for r in rows}
    if len(kinds) != len(rows) or any(k.status not in STATUSES for k in kinds.values()):
        raise ValueError(f"incidents.yaml {what}: codes repeat or a status is not one of {STATUSES}")
    return kinds


def validate(c: Catalogue, states: list[str]) -> Catalogue:
    """Refuse data naming unknown states or roles, or letting parents in (a typo is a bug, not a policy)."""
    if tuple(states) != INCIDENT_STATES or not c.terminal <= set(states):
        raise ValueError(
            f"incidents.yaml states {states} differ from the incidents table's {INCIDENT_STATES}"
        )
    roles = {r.value for r in Role}
    for what, names in c.roles.items():
        if set(names) - roles or "parent" in names:
            raise ValueError(f"incidents.yaml roles.{what}: unknown role, or a parent")
    if set(c.roles) != {"report", "detail", "statistics"}:
        raise ValueError("incidents.yaml roles: report, detail and statistics, no more, no less")
    for s in c.steps:
        if {s.source_state, s.to} - set(states) or set(s.roles) - set(c.roles["detail"]) or not s.roles:
            raise ValueError(f"incidents.yaml step {s.source_state} -> {s.to}: unknown state or role")
    return c


def load(path: Path = HERE / "incidents.yaml") -> Catalogue:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = tuple(
        Step(t["from"], t["to"], tuple(t["roles"]), bool(t.get("requires_note"))) for t in raw["transitions"]
    )
    catalogue = Catalogue(
        types=_kinds(raw["types"], "types"),
        places=_kinds(raw["places"], "places"),
        person_kinds=tuple(raw["person_kinds"]),
        involvement=tuple(raw["involvement"]),
        roles={k: tuple(v) for k, v in raw["roles"].items()},
        terminal=frozenset(raw["terminal"]),
        steps=steps,
    )
    return validate(catalogue, raw["states"])


@lru_cache
def catalogue() -> Catalogue:
    """incidents.yaml, loaded and validated once."""
    return load()
