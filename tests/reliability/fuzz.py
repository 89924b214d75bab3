"""Drive schemathesis over every operation of the app's OpenAPI document, as each role, and tally answers.

Each (operation, role) gets schema-valid cases (half of them aimed at real objects of the caller's own
school, so the handlers behind the 404s are reached too) and schema-invalid ones. A server error (5xx, or
an exception out of the app) is a failure; so is a client error that is not RFC 9457 problem+json.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.schemas import APIOperation

PROBLEM = "application/problem+json"
log = logging.getLogger(__name__)


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[tuple[str, str, int], str] = field(default_factory=dict)  # first example of each kind

    def record(self, role: str, case: schemathesis.Case, status: int, content_type: str, body: str) -> None:
        self.cases += 1
        self.statuses[status] += 1
        bad = status >= 500 or (400 <= status < 500 and not content_type.startswith(PROBLEM))
        key = (case.method, case.operation.path, status)
        if bad and key not in self.failures:
            self.failures[key] = (
                f"{role}: {case.as_curl_command()}\n  -> {status} {content_type}: {body[:400]}"
            )

    def summary(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "failures": [f"{m} {p} -> {s}: {text}" for (m, p, s), text in sorted(self.failures.items())],
        }

    def report(self) -> str:
        lines = [f"{self.cases} cases; statuses {dict(sorted(self.statuses.items()))}"]
        lines += [f"{m} {p} -> {s}\n  {text}" for (m, p, s), text in sorted(self.failures.items())]
        return "\n".join(lines)


def strategies(operation: APIOperation, known: Mapping[str, object]) -> list[st.SearchStrategy[Any]]:
    """Valid cases (some at the caller's own objects) and invalid ones, each where the schema allows."""
    names = re.findall(r"{(\w+)}", operation.path)
    valid = operation.as_strategy(GenerationMode.POSITIVE)
    if names and all(n in known for n in names):
        aimed = operation.as_strategy(GenerationMode.POSITIVE, path_parameters={n: known[n] for n in names})
        valid = st.one_of(valid, aimed)
    return [valid, operation.as_strategy(GenerationMode.NEGATIVE)]


def drive(strategy: st.SearchStrategy[Any], examples: int, send: Callable[[Any], None]) -> None:
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(strategy)
    def probe(case: Any) -> None:
        send(case)

    # Nothing (more) to generate for this operation in this mode, e.g. no invalid input exists.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable, hypothesis.errors.FailedHealthCheck):
        probe()


def fuzz(
    schema: Any,
    headers: Mapping[str, dict[str, str]],
    known: Mapping[str, object],
    examples: int,
    shard: tuple[int, int] = (0, 1),
    progress: Path | None = None,
) -> Tally:
    """Every operation × every role's headers × {valid, invalid}, `examples` cases each.

    `shard` (i, n) takes every n-th operation from the i-th, so n processes share a long run; `progress`
    is rewritten after each operation with the tally so far (a long run cut short still tells its counts).
    """
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()][shard[0] :: shard[1]]
    for operation in operations:
        started = time.monotonic()
        for role, auth in headers.items():

            def send(case: schemathesis.Case, role: str = role, auth: dict[str, str] = auth) -> None:
                try:
                    response = case.call(headers=auth, timeout=60)
                except Exception as exc:  # an exception out of the app is what a client sees as a 500
                    tally.record(role, case, 500, "", repr(exc))
                    return
                content_type = (response.headers.get("content-type") or [""])[0]
                body = response.content.decode("utf-8", errors="replace")
                tally.record(role, case, response.status_code, content_type, body)

            for strategy in strategies(operation, known):
                drive(strategy, examples, send)
        if progress is not None:
            progress.write_text(json.dumps(tally.summary(), indent=1))
        log.info(
            "%s %s: %.1f s, %d cases so far",
            operation.method.upper(),
            operation.path,
            time.monotonic() - started,
            tally.cases,
        )
    return tally
