"""What each statistic counts: its table, its time column, its measures and how it may be split.

Every SQL fragment here is a constant of the code, never built from a request; the request only picks
names from these tables (twin.stats.queries binds the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.errors import InvalidInput, NotFound

OPEN = "state NOT IN ('closed', 'rejected')"
RISK_LEVEL = "coalesce(effective_level, level)"


@dataclass(frozen=True)
class Topic:
    """One statistic: rows of `table` under the caller's scope, counted by `measures` per group."""

    name: str
    table: str
    title: str
    measures: dict[str, str]  # output column -> aggregate over the table's rows (alias t)
    splits: dict[str, str] = field(default_factory=dict)  # split name -> column expression
    time: str | None = None  # the column `period` filters and buckets; None: a snapshot of now
    time_is_date: bool = False
    per_1000: tuple[str, ...] = ()  # measures that also get a rate per 1,000 students enrolled
    percent: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (numerator, denominator)
    spatial: bool = True  # rows have a point geometry (hex bins, hot spots)

    def split(self, name: str | None) -> str | None:
        if name is None:
            return None
        if name not in self.splits:
            allowed = ", ".join(self.splits) or "nothing"
            raise InvalidInput(f"{self.name} can be split by {allowed}, not {name!r}", field="split")
        return self.splits[name]

    @property
    def columns(self) -> list[str]:
        rates = [f"{m}_per_1000" for m in self.per_1000]
        return [*self.measures, *rates, *self.percent]


def _count(where: str) -> str:
    return f"count(*) FILTER (WHERE {where})"


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic(
            "risks",
            "risk_points",
            "Risk points by level (in force: static level raised by open hazards and alerts)",
            {
                "points": "count(*)",
                **{f"level_{n}": _count(f"{RISK_LEVEL} = {n}") for n in (1, 2, 3, 4)},
                "dynamic": _count("dynamic"),
            },
            splits={"category": "t.category", "level": f"{RISK_LEVEL}::text"},
        ),
        Topic(
            "hazards",
            "hazards",
            "Hazards found: open, overdue (open past the deadline), by grade",
            {
                "found": "count(*)",
                "open": _count(OPEN),
                "overdue": _count(f"{OPEN} AND deadline < :now"),
                "major": _count("grade = 'major'"),
                "general": _count("grade = 'general'"),
                "closed": _count("state = 'closed'"),
            },
            splits={"category": "t.category", "grade": "coalesce(t.grade, 'ungraded')"},
            time="found_at",
            per_1000=("found", "open"),
        ),
        Topic(
            "inspections",
            "inspections",
            "Inspections due, done and missed (not done by the due time)",
            {
                "due": _count("due_at < :now"),
                "done": _count("done_at IS NOT NULL"),
                "missed": _count("done_at IS NULL AND due_at < :now"),
                "done_late": _count("done_at > due_at"),
            },
            splits={"frequency": "t.frequency"},
            time="due_at",
            percent={"done_pct": ("done", "due")},
        ),
        Topic(
            "alerts",
            "alerts",
            "Alerts raised, by severity (split by type)",
            {
                "alerts": "count(*)",
                "critical": _count("severity = 'critical'"),
                "major": _count("severity = 'major'"),
                "active": _count("cleared_at IS NULL"),
            },
            splits={"type": "t.type", "severity": "t.severity"},
            time="first_at",
            per_1000=("alerts",),
        ),
        Topic(
            "drills",
            "drills",
            "Emergency drills held and the people who took part",
            {"drills": "count(*)", "participants": "coalesce(sum(participants), 0)"},
            splits={"type": "t.type"},
            time="held_on",
            time_is_date=True,
            per_1000=("participants",),
            spatial=False,
        ),
        Topic(
            "education",
            "education_sessions",
            "Safety-education sessions held and the people who attended",
            {"sessions": "count(*)", "participants": "coalesce(sum(participants), 0)"},
            splits={"type": "t.type"},
            time="held_on",
            time_is_date=True,
            per_1000=("participants",),
            spatial=False,
        ),
        Topic(
            "bus_incidents",
            "bus_incidents",
            "School-bus incidents: overspeed, deviation from the route, late",
            {
                "incidents": "count(*)",
                **{k: _count(f"kind = '{k}'") for k in ("overspeed", "deviation", "late")},
            },
            splits={"kind": "t.kind"},
            time="at",
            per_1000=("incidents",),
        ),
        Topic(
            "incidents",
            "incidents",
            "Bullying and violence incidents (校园欺凌): reported, confirmed, open, in toilets, stairwells",
            {
                "incidents": "count(*)",
                "confirmed": _count("state IN ('confirmed', 'intervening', 'closed')"),
                "open": _count("state NOT IN ('closed', 'dismissed')"),
                "toilet": _count("place_kind = 'toilet'"),
                "stairwell": _count("place_kind = 'stairwell'"),
            },
            splits={"type": "t.type", "place_kind": "t.place_kind"},
            time="occurred_at",
            per_1000=("incidents",),
        ),
        Topic(
            "patrols",
            "patrol_checks",
            "Security patrols (巡更): checkpoints due per shift, visited on time, late or missed",
            {
                "due": _count("status <> 'pending'"),
                "on_time": _count("status = 'on_time'"),
                "late": _count("status = 'late'"),
                "missed": _count("status = 'missed'"),
            },
            splits={"status": "t.status", "schedule": "t.schedule_id::text"},
            time="due_at",
            percent={"on_time_pct": ("on_time", "due")},
            spatial=False,
        ),
    )
}


def describe() -> list[dict[str, object]]:
    """Each topic as a page needs it: its measures, rates, splits and whether a period applies."""
    return [
        {
            "name": t.name,
            "title": t.title,
            "measures": list(t.measures),
            "columns": t.columns,
            "splits": list(t.splits),
            "periods": t.time is not None,
            "spatial": t.spatial,
        }
        for t in TOPICS.values()
    ]


def topic(name: str) -> Topic:
    """The topic called `name`, or a 404-style refusal naming the topics there are."""
    if name not in TOPICS:
        raise UnknownTopic(f"there is no statistic {name!r}; the topics are {', '.join(TOPICS)}")
    return TOPICS[name]


class UnknownTopic(NotFound):
    title = "Unknown statistic"
