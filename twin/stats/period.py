"""`period=` of a statistics request: a year, quarter, month, day or an interval of local dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from twin.errors import InvalidInput

BUCKETS = ("day", "week", "month", "quarter", "year")
FORMS = "2026, 2026-Q2, 2026-05, 2026-05-17 or 2026-03-01/2026-06-30 (end included)"


@dataclass(frozen=True)
class Period:
    """Local dates [start, end): what a row's date or time must fall in."""

    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}/{(self.end - timedelta(days=1)).isoformat()}"


def _next_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"period: {text!r} is not a date; use {FORMS}", field="period") from exc


def parse_period(text: str | None) -> Period | None:
    """The period `text` names; None for no period (all time)."""
    if text is None or text == "":
        return None
    text = text.strip()
    if "/" in text:
        first, last = (_day(part) for part in text.split("/", 1))
        if last < first:
            raise InvalidInput(f"period: {text!r} ends before it starts", field="period")
        return Period(first, last + timedelta(days=1))
    if m := re.fullmatch(r"(\d{4})", text):
        year = int(m[1])
        return Period(date(year, 1, 1), date(year + 1, 1, 1))
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text, re.IGNORECASE):
        year, quarter = int(m[1]), int(m[2])
        return Period(date(year, 3 * quarter - 2, 1), _next_month(year, 3 * quarter))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise InvalidInput(f"period: month {month} does not exist; use {FORMS}", field="period")
        return Period(date(year, month, 1), _next_month(year, month))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = _day(text)
        return Period(day, day + timedelta(days=1))
    raise InvalidInput(f"period: {text!r} is not understood; use {FORMS}", field="period")


def check_bucket(per: str | None) -> str | None:
    if per is not None and per not in BUCKETS:
        raise InvalidInput(f"per: {per!r} is not a bucket; use one of {', '.join(BUCKETS)}", field="per")
    return per
