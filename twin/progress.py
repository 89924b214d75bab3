"""Progress of long commands: a live bar on a terminal, a plain line now and then in a log.

Rich draws nothing until the end when its console is not a terminal (cron, CI, `> log`), so an hour-long
province build would look hung; there the same calls print a line per task every `every_s` seconds, when
a task's description changes, and when it completes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


@dataclass
class _Line:
    description: str
    total: float | None
    completed: float = 0.0
    started: float = field(default_factory=time.monotonic)
    said: float = float("-inf")


class LineProgress:
    """The part of rich's Progress the commands use, as plain lines."""

    def __init__(self, console: Console, every_s: float = 30.0) -> None:
        self.console, self.every_s = console, every_s
        self.tasks: list[_Line] = []

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **_fields: Any) -> TaskID:
        self.tasks.append(_Line(description, total))
        self._say(self.tasks[-1])
        return TaskID(len(self.tasks) - 1)

    def update(
        self,
        task_id: TaskID,
        *,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        **_fields: Any,
    ) -> None:
        task = self.tasks[task_id]
        if completed is not None:
            task.completed = completed
        if advance is not None:
            task.completed += advance
        renamed = description is not None and description != task.description
        if description is not None:
            task.description = description
        done = task.total is not None and task.completed >= task.total
        if renamed or done or time.monotonic() - task.said >= self.every_s:
            self._say(task)

    def _say(self, task: _Line) -> None:
        now = time.monotonic()
        task.said = now
        elapsed = int(now - task.started)
        share = f" ({task.completed / task.total:.1%})" if task.total else ""
        amount = f"{task.completed:,.0f}/{task.total:,.0f}{share}" if task.total is not None else ""
        if task.total is None and task.completed:
            amount = f"{task.completed:,.0f} done"
        self.console.print(
            f"{task.description}: {amount} {elapsed // 60}:{elapsed % 60:02d} elapsed", highlight=False
        )


def progress(console: Console) -> Progress | LineProgress:
    """A bar where someone watches a terminal, lines where the output goes to a log."""
    if not console.is_terminal:
        return LineProgress(console)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
