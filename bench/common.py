"""Shared bench plumbing: a database of its own on the private cluster, timing, and the results file."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from twin.config import Settings, get_settings
from twin.db import migrate
from twin.db.provision import libpq_dsn, services_up

RESULTS = Path(__file__).parent / "RESULTS.md"


def bench_database(name: str) -> Settings:
    """A migrated database `name` next to the configured one (private cluster unless DATABASE_URL)."""
    base = get_settings()
    services_up(base)
    settings = base.model_copy(update={"db": base.db.model_copy(update={"name": name})})
    if base.db.url:
        from sqlalchemy.engine import make_url

        url = make_url(base.db.url).set(database=name).render_as_string(hide_password=False)
        settings = base.model_copy(update={"db": base.db.model_copy(update={"url": url})})
    with psycopg.connect(libpq_dsn(base.db.sync_url(), "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.upgrade(settings.db)
    return settings


def connect(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(libpq_dsn(settings.db.sync_url()), autocommit=True)


@dataclass
class Timing:
    label: str
    seconds: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000


def measure(label: str, fn: Callable[[], object], *, repeat: int = 15, warmup: int = 2) -> Timing:
    for _ in range(warmup):
        fn()
    timing = Timing(label)
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        timing.seconds.append(time.perf_counter() - start)
    return timing


def write_section(title: str, body: str) -> None:
    """Replace (or append) the section `## title` of RESULTS.md, keeping the others."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nWritten by `make bench`.\n"
    marker = f"## {title}\n"
    start = text.find(marker)
    section = f"{marker}\n{body.strip()}\n\n"
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(marker))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    RESULTS.write_text(text)
