"""Progress of long commands where nobody watches a terminal: lines in the log, not a silent hour."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from twin.progress import LineProgress, progress


def test_a_log_gets_a_line_when_a_task_starts_is_renamed_and_completes_and_not_for_every_step() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)
    with progress(console) as bar:
        assert isinstance(bar, LineProgress)
        task = bar.add_task("schools", total=1000)
        for n in range(1, 1000):
            bar.update(task, completed=n)  # within one reporting interval: no line
        bar.update(task, description="finishing")
        bar.update(task, completed=1000)
    lines = out.getvalue().splitlines()
    assert [line.split(" elapsed")[0].rsplit(" ", 1)[0] for line in lines] == [
        "schools: 0/1,000 (0.0%)",
        "finishing: 999/1,000 (99.9%)",
        "finishing: 1,000/1,000 (100.0%)",
    ]


def test_a_log_gets_a_line_each_interval_while_a_task_of_unknown_size_runs() -> None:
    out = io.StringIO()
    bar = LineProgress(Console(file=out, width=200), every_s=0.0)
    task = bar.add_task("export")
    bar.update(task, advance=3)
    bar.update(task, advance=3)
    assert out.getvalue().splitlines() == [
        "export:  0:00 elapsed",
        "export: 3 done 0:00 elapsed",
        "export: 6 done 0:00 elapsed",
    ]


def test_a_terminal_gets_the_live_bar() -> None:
    assert isinstance(progress(Console(file=io.StringIO(), force_terminal=True)), Progress)
