"""Gate passes taken in (validate, store once, notify each guardian, log for the parents' streams) and the
scheduler's patrol judgement, on the sample campus.

Passes go through `handle_batch`, the ingest's own transaction of up to `batch_max` messages, without the
broker: this measures the database side (one pass of a student writes a gate event, a notification per
guardian and a live event). The patrol run plans and judges a week of the sample's two shifts.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp

from rich.console import Console
from sqlalchemy import text

from bench.common import bench_database, write_section
from twin.config import FamilySettings
from twin.db.engine import sync_engine
from twin.live.ingest import IngestStats, SensorCache, handle_batch
from twin.live.patrols import check_patrols
from twin.samples import build_sample
from twin.samples.loading import load_sample

console = Console()
SCHOOL = "4103110001"
BATCH = 200
BATCHES = 25


def _passes(cards: list[str], n: int, start: datetime) -> list[tuple[str, bytes]]:
    topic = f"campus/{SCHOOL}/gates/LY01-N-CARD-IN/events"
    return [
        (
            topic,
            json.dumps(
                {
                    "event_id": uuid.uuid4().hex,
                    "credential": cards[i % len(cards)],
                    "time": (start + timedelta(seconds=i)).isoformat(),
                }
            ).encode(),
        )
        for i in range(n)
    ]


def main() -> None:
    settings = bench_database("bench_family")
    engine = sync_engine(settings.db)
    load_sample(engine, build_sample(Path(mkdtemp())), paths=settings.paths)
    with engine.connect() as conn:
        cards = list(
            conn.execute(text("SELECT credential FROM access_credentials WHERE method = 'card'")).scalars()
        )
    now = datetime.now(UTC)
    stats, cache = IngestStats(), SensorCache()
    timings = []
    for b in range(BATCHES):
        batch = _passes(cards, BATCH, now + timedelta(hours=b))
        started = time.perf_counter()
        outcomes = handle_batch(engine, batch, now, stats, cache)
        timings.append(time.perf_counter() - started)
        assert set(outcomes) == {"gate"}, set(outcomes)
    per_s = BATCH * BATCHES / sum(timings)
    with engine.begin() as conn:
        conn.execute(text("UPDATE patrol_schedules SET created_at = :t"), {"t": now - timedelta(days=8)})
        conn.execute(text("DELETE FROM alerts WHERE type LIKE 'patrol%'"))  # the run before this one's
        conn.execute(text("DELETE FROM patrol_checks"))
    started = time.perf_counter()
    with engine.begin() as conn:
        counts = check_patrols(conn, now, FamilySettings(patrol_lookback_h=24 * 7))
    patrol_s = time.perf_counter() - started
    engine.dispose()
    median_ms = sorted(timings)[len(timings) // 2] * 1000
    checks, alerts = counts["planned"], counts["alerts"]
    body = f"""
Taken on a shared machine (other jobs running); `python -m bench family`.

| what | result |
|---|---|
| gate passes stored and told to the guardians ({BATCHES} batches of {BATCH}) | {per_s:,.0f} passes/s |
| median batch of {BATCH} | {median_ms:,.0f} ms |
| patrol scheduler, a week of two shifts ({checks} checks, {alerts} alerts) | {patrol_s * 1000:,.0f} ms |
"""
    console.print(body)
    write_section("Gate passes and patrols", body)


if __name__ == "__main__":
    main()
