"""The alert policy (policy.yaml): people to notify by alert type, escalation steps, inhibition rules."""

from __future__ import annotations

import itertools
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, model_validator

from twin.models.live import SENSOR_TYPES, SEVERITIES

POLICY_FILE = Path(__file__).with_name("policy.yaml")

# Alerts the scheduler computes from the database rather than a sensor sends (gate watch, patrols).
DERIVED_TYPES = ("missed_entry", "patrol_missed", "patrol_late")
SensorType = Literal[SENSOR_TYPES]  # type: ignore[valid-type]
AlertType = Literal[(*SENSOR_TYPES, *DERIVED_TYPES)]  # type: ignore[valid-type]
Severity = Literal[SEVERITIES]  # type: ignore[valid-type]


class Sourced(BaseModel):
    source: str = Field(min_length=1)
    status: str = Field(min_length=1)


class NotifyRule(Sourced):
    types: list[AlertType]
    titles: list[str]


class EscalationStep(Sourced):
    severity: Severity
    step: int = Field(ge=1)
    after_min: float = Field(gt=0)
    titles: list[str]


class InhibitRule(Sourced):
    parent: SensorType
    children: list[SensorType]


class Policy(BaseModel):
    notify: list[NotifyRule]
    escalation: list[EscalationStep]
    inhibit: list[InhibitRule]

    @model_validator(mode="after")
    def _steps_in_order(self) -> Policy:
        for severity in SEVERITIES:
            steps = [s for s in self.escalation if s.severity == severity]
            if [s.step for s in steps] != list(range(1, len(steps) + 1)):
                raise ValueError(f"escalation steps of {severity} must be numbered 1, 2, … in order")
            if any(a.after_min >= b.after_min for a, b in itertools.pairwise(steps)):
                raise ValueError(f"escalation steps of {severity} must come later and later")
        return self

    def titles_to_notify(self, alert_type: str) -> list[str]:
        return [t for rule in self.notify if alert_type in rule.types for t in rule.titles]

    def steps(self, severity: str) -> list[EscalationStep]:
        return [s for s in self.escalation if s.severity == severity]

    def parent_types(self, child_type: str) -> list[str]:
        """Alert types whose active alarm in the same building inhibits an alert of `child_type`."""
        return [r.parent for r in self.inhibit if child_type in r.children]

    def child_types(self, parent_type: str) -> list[str]:
        return [c for r in self.inhibit if r.parent == parent_type for c in r.children]


@lru_cache
def load_policy(path: Path = POLICY_FILE) -> Policy:
    """The policy, validated once."""
    return Policy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
