"""Minimum clearances between utilities (GB 50289-2016 Table 4.1.9 and the older crossing table), as data.

data/clearances.csv holds one row per pair and condition with its source and status; it is read and
checked once. A pair the table does not list falls back to a configured default and says so.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
KINDS = ("horizontal", "vertical")
KNOWN = {"building", "water", "drainage", "gas", "power", "telecom", "heat", "*"}


@dataclass(frozen=True)
class ClearanceRow:
    kind: str
    a: str
    b: str
    condition: str  # "", "d<=200", "d>200", "pressure=low"…; about the pipe of the utility it names
    min_m: float
    source: str
    status: str


@dataclass(frozen=True)
class Clearance:
    min_m: float
    source: str
    status: str
    fallback: bool = False


@dataclass(frozen=True)
class PipeSide:
    """What the table's conditions look at: the utility, the diameter and the gas pressure class."""

    utility: str
    diameter_mm: float | None = None
    pressure: str | None = None


@cache
def table() -> tuple[ClearanceRow, ...]:
    """The clearance rows, validated: known utilities and kinds, positive distances, a source each."""
    rows: list[ClearanceRow] = []
    with (DATA / "clearances.csv").open(encoding="utf-8") as f:
        for n, raw in enumerate(csv.DictReader(f), start=2):
            row = ClearanceRow(
                raw["kind"],
                raw["a"],
                raw["b"],
                raw["condition"],
                float(raw["min_m"]),
                raw["source"],
                raw["status"],
            )
            if row.kind not in KINDS or not {row.a, row.b} <= KNOWN or row.min_m <= 0 or not row.source:
                raise ValueError(f"clearances.csv line {n}: bad row {raw}")
            rows.append(row)
    return tuple(rows)


def _holds(condition: str, side: PipeSide) -> bool:
    if not condition:
        return True
    if condition.startswith("pressure="):
        return (side.pressure or "low") == condition.removeprefix("pressure=")
    d = side.diameter_mm or 0.0
    if condition.startswith("d<="):
        return d <= float(condition[3:])
    if condition.startswith("d>"):
        return d > float(condition[2:])
    raise ValueError(f"unknown clearance condition {condition!r}")


def _subject(condition: str, a: PipeSide, b: PipeSide) -> PipeSide:
    """The pipe a condition is about: diameters are the water pipe's, pressures the gas pipe's."""
    wanted = "gas" if condition.startswith("pressure") else "water"
    return a if a.utility == wanted else b


def clearance(kind: str, one: PipeSide, other: PipeSide, default_m: float) -> Clearance:
    """The minimum clearance of `kind` between two pipes; the default (flagged) when no row matches."""
    for row in table():
        if row.kind != kind:
            continue
        for a, b in ((one, other), (other, one)):
            pair = row.a == a.utility and row.b in (b.utility, "*")
            if pair and _holds(row.condition, _subject(row.condition, a, b)):
                return Clearance(row.min_m, row.source, row.status)
    return Clearance(
        default_m,
        f"no {kind} clearance listed for {one.utility}–{other.utility}: configured default",
        "default",
        fallback=True,
    )
