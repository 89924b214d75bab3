"""Deadlines per grade and category, and the escalation ladder, read from hazard_rules.yaml (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from twin.models.hazards import NOTIFICATION_LEVELS
from twin.models.risk import HAZARD_GRADES, RISK_CATEGORIES

HERE = Path(__file__).resolve().parent
UP_THE_TREE = ("school", "county", "city", "province")


@dataclass(frozen=True)
class Step:
    """One rung of the escalation ladder: whom to tell, how long after the deadline."""

    step: int
    level: str
    after: timedelta


@dataclass(frozen=True)
class HazardRules:
    zone: ZoneInfo
    due_hour: int
    days: dict[str, int]  # grade -> days
    category_days: dict[tuple[str, str], int]  # (grade, category) -> days
    ladders: dict[str, tuple[Step, ...]]  # grade -> steps
    major_report_to: tuple[str, ...]

    def days_to_fix(self, grade: str, category: str) -> int:
        return self.category_days.get((grade, category), self.days[grade])

    def deadline(self, grade: str, category: str, assigned_at: datetime) -> datetime:
        """The default deadline: `days_to_fix` days after assignment, at `due_hour` local time."""
        local = assigned_at.astimezone(self.zone) + timedelta(days=self.days_to_fix(grade, category))
        return local.replace(hour=self.due_hour, minute=0, second=0, microsecond=0)

    def ladder(self, grade: str, deadline: datetime) -> list[tuple[Step, datetime]]:
        """Each step of escalating a hazard of `grade` overdue at `deadline`, with when it falls due."""
        return [(s, deadline + s.after) for s in self.ladders[grade]]


def _load(raw: dict[str, Any]) -> HazardRules:
    days, category_days, ladders = {}, {}, {}
    for grade in HAZARD_GRADES:
        rule = raw["deadlines"][grade]
        _sourced(rule, f"deadline of {grade}")
        days[grade] = int(rule["days"])
        for category, override in rule.get("categories", {}).items():
            if category not in RISK_CATEGORIES:
                raise ValueError(f"hazard_rules.yaml: unknown category {category!r}")
            _sourced(override, f"deadline of {grade} {category}")
            category_days[(grade, category)] = int(override["days"])
        steps = []
        for i, step in enumerate(raw["escalation"][grade]):
            _sourced(step, f"escalation step {i} of {grade}")
            if step["level"] not in NOTIFICATION_LEVELS:
                raise ValueError(f"hazard_rules.yaml: unknown level {step['level']!r}")
            steps.append(Step(i, step["level"], timedelta(hours=float(step["after_hours"]))))
        if [s.after for s in steps] != sorted(s.after for s in steps):
            raise ValueError(f"hazard_rules.yaml: escalation delays of {grade} must not decrease")
        ladders[grade] = tuple(steps)
    report = raw["major_report_to"]
    _sourced(report, "major_report_to")
    if set(report["levels"]) - set(UP_THE_TREE):
        raise ValueError("hazard_rules.yaml: major_report_to names an unknown level")
    return HazardRules(
        zone=ZoneInfo(raw["timezone"]),
        due_hour=int(raw["due_hour"]),
        days=days,
        category_days=category_days,
        ladders=ladders,
        major_report_to=tuple(report["levels"]),
    )


def _sourced(entry: dict[str, Any], what: str) -> None:
    if not entry.get("source") or entry.get("status") not in ("adopted", "assumed"):
        raise ValueError(f"hazard_rules.yaml: {what} needs a source and a status (adopted or assumed)")


def load_rules(path: Path = HERE / "hazard_rules.yaml") -> HazardRules:
    return _load(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache
def rules() -> HazardRules:
    """The rules of hazard_rules.yaml, loaded and validated once."""
    return load_rules()
