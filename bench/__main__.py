"""`python -m bench [NAME…]`: run the named benchmarks (default: all) and update bench/RESULTS.md."""

from __future__ import annotations

import importlib
import sys

BENCHES = (
    "scope",
    "ogc",
    "riskmap",
    "hazards",
    "pipes",
    "live",
    "scenes",
    "stats",
    "buses",
    "family",
    "load",
)


def main(names: list[str]) -> None:
    for name in names or BENCHES:
        if name not in BENCHES:
            raise SystemExit(f"unknown benchmark {name!r}; known: {', '.join(BENCHES)}")
        importlib.import_module(f"bench.{name}").main()


main(sys.argv[1:])
