"""The province load timed: wall clock, Python CPU, the database backends' own CPU, peak RSS, phases.

`PYTHONPATH=. /usr/bin/time -v .venv/bin/python -m bench.province_load SCHOOLS DATABASE [BUSES]` builds
SCHOOLS schools (twin.samples.copyload) and a school day of fixes for BUSES buses (twin.samples.positions)
into DATABASE (created and migrated next to the configured one). The CPU time of the loader's PostgreSQL
backends is read from /proc while they run (same machine), so the database's share is known even when
other work shares the cores and the wall clock measures the queue.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from datetime import date

import psycopg

from bench.common import bench_database
from twin.db.provision import libpq_dsn
from twin.samples.copyload import load_province_copy
from twin.samples.positions import load_day_positions

TICK = os.sysconf("SC_CLK_TCK")


class BackendCpu:
    """CPU seconds of every backend of one database, polled twice a second from /proc."""

    def __init__(self, dsn: str, database: str) -> None:
        self.dsn, self.database = dsn, database
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            while not self.stop.is_set():
                for (pid,) in conn.execute(query, (self.database,)).fetchall():
                    try:
                        with open(f"/proc/{pid}/stat") as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    cpu = (int(fields[11]) + int(fields[12])) / TICK
                    self.seen[pid] = max(self.seen.get(pid, 0.0), cpu)
                time.sleep(0.5)

    def take(self) -> float:
        total = sum(self.seen.values())
        self.seen.clear()
        return total


def main(schools: int, database: str, buses: int) -> None:
    dsn = libpq_dsn(bench_database(database).db.sync_url())
    cpu = BackendCpu(dsn, database)
    phases: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    load_province_copy(dsn, schools, seed=20261124, phases=phases)
    wall = time.perf_counter() - t0
    print(
        f"schools {schools}: wall {wall:.1f} s ({wall / schools:.3f} s/school), python cpu"
        f" {time.process_time() - c0:.1f} s, database cpu {cpu.take():.1f} s"
    )
    for phase, seconds in sorted(phases.items(), key=lambda kv: -kv[1])[:16]:
        print(f"  {phase:32} {seconds:8.1f} s")
    if buses:
        t1 = time.perf_counter()
        rows = load_day_positions(dsn, date(2026, 11, 20), buses)
        wall = time.perf_counter() - t1
        print(f"positions: {rows:,} for {buses} buses, wall {wall:.1f} s, database cpu {cpu.take():.1f} s")
    cpu.stop.set()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
