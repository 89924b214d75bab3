"""CPU used during a bench row, by party, read from /proc: says whether the machine itself was the limit.

A party is a process tree (the server, the ingest, this bench with its client processes) or a command
name (every `postgres`, every `mosquitto`). A process's time includes the children it has reaped
(`cutime`, `cstime`), so a PostgreSQL backend or a client process that ends inside the window is still
counted, through its parent. "machine" is every core's busy time from /proc/stat, whoever spent it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def _process_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command, CPU seconds including reaped children)."""
    table: dict[int, tuple[int, str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                raw = f.read()
        except OSError:  # gone between the listing and the read
            continue
        head, tail = raw.rsplit(")", 1)
        fields = tail.split()
        cpu = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK
        table[int(entry.name)] = (int(fields[1]), head.split("(", 1)[1], cpu)
    return table


def _machine_busy() -> float:
    """Busy CPU seconds of all cores since boot (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        cpu = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in cpu[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


@dataclass
class CpuMeter:
    """`with CpuMeter(roots, commands) as m:` … then `m.cores` = average cores busy, per party."""

    roots: dict[int, str]  # pid -> party: that process and its descendants
    commands: dict[str, str]  # command name -> party, for processes outside the roots
    cores: dict[str, float] = field(default_factory=dict)

    def _by_party(self) -> dict[str, float]:
        table = _process_table()
        spent: dict[str, float] = {}
        for pid, (_parent, command, cpu) in table.items():
            party = self._party(pid, table) or self.commands.get(command)
            if party is not None:
                spent[party] = spent.get(party, 0.0) + cpu
        spent["machine"] = _machine_busy()
        return spent

    def _party(self, pid: int, table: dict[int, tuple[int, str, float]]) -> str | None:
        while pid in table:
            if pid in self.roots:
                return self.roots[pid]
            pid = table[pid][0]
        return None

    def __enter__(self) -> CpuMeter:
        self._start, self._t0 = self._by_party(), time.monotonic()
        return self

    def __exit__(self, *_exc: object) -> None:
        end, seconds = self._by_party(), max(1e-3, time.monotonic() - self._t0)
        self.cores = {p: max(0.0, end[p] - self._start.get(p, 0.0)) / seconds for p in end}

    def summary(self) -> str:
        parties = sorted((p for p in self.cores if p != "machine"), key=lambda p: -self.cores[p])
        each = ", ".join(f"{p} {self.cores[p]:.2f}" for p in parties)
        return f"CPU, cores busy on average: machine {self.cores.get('machine', 0):.2f} of {CORES} ({each})"
