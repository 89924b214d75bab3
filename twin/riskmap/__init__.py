"""Risk grading, the four-colour map and the hazard loop (风险分级管控 + 隐患排查治理).

Grading: `assess` with LS or LEC against a `Scale` (scales.yaml, overridable per province or school); the
four-colour map and its roll-up, control lists, boards and cards. The hazard loop: `report` a hazard,
move it with `transition` through the state machine of transitions.yaml, read the `ledger`; `run_due`
escalates overdue hazards; inspections recur per risk point.
"""

from twin.riskmap.deadlines import HazardRules, rules
from twin.riskmap.escalation import Scheduler, run_due
from twin.riskmap.hazards import HazardReport, TransitionRequest, report, transition
from twin.riskmap.ledger import LedgerFilter, read_ledger
from twin.riskmap.scales import Assessment, Scale, assess, build_scale, default_scale
from twin.riskmap.transitions import Machine, machine

__all__ = [
    "Assessment",
    "HazardReport",
    "HazardRules",
    "LedgerFilter",
    "Machine",
    "Scale",
    "Scheduler",
    "TransitionRequest",
    "assess",
    "build_scale",
    "default_scale",
    "machine",
    "read_ledger",
    "report",
    "rules",
    "run_due",
    "transition",
]
