"""Hot spots of incidents, by the statistics' method: counts per H3 cell, Getis-Ord Gi* (twin.stats).

At campus scale the cells are small (resolution 11, about 25 m across a side: a building wing, a toilet
block) so a corner where incidents gather stands out from its neighbours; each cell also says which
kinds of place its incidents happened at, and the whole area how many happened at each kind of place —
at a county or city level that is where toilets and stairwells show up, whatever campus they are on.
People appear only as counts by part and kind: statistics never read person ids or names.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

import h3

from twin.errors import InvalidInput
from twin.incidents.catalogue import catalogue
from twin.stats import hexbins, hotspots

RESOLUTIONS = range(7, 13)  # about 1.2 km down to 9 m a side
DEFAULT_RESOLUTION = 11


def check_resolution(res: int) -> int:
    if res not in RESOLUTIONS:
        raise InvalidInput(
            f"res: H3 resolution {res} is not offered for incidents;"
            f" use {RESOLUTIONS.start}-{RESOLUTIONS.stop - 1}"
            f" ({DEFAULT_RESOLUTION}, about 25 m a side, suits a campus)",
            field="res",
        )
    return res


def summarise(rows: list[dict[str, Any]], res: int, permutations: int = 999) -> dict[str, Any]:
    """Cells with Gi* class and the kinds of place around them; totals by kind of place and by part.

    Gi* speaks of a cell's neighbourhood (itself and its ring), not of the cell alone: a busy toilet
    block with quiet surroundings makes the cells around it hot. So each cell names the kinds of place
    of its neighbourhood (`top_place`), and an incident counts as in a hot spot when it lies in the
    neighbourhood of a hot cell.
    """
    cells: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        cells[h3.latlng_to_cell(r["lat"], r["lon"], res)][r["place_kind"]] += 1
    counts = {cell: sum(kinds.values()) for cell, kinds in cells.items()}
    spots = hotspots.gi_star(counts, permutations=permutations)
    hot_area = {n for s in spots if s.spot == hotspots.HOT for n in h3.grid_disk(s.cell, 1)}
    features = {}
    for s in spots:
        around = _around(cells, s.cell)
        features[s.cell] = {
            "count": s.count,
            "z": s.z,
            "p": s.p,
            "spot": s.spot,
            "places": dict(cells.get(s.cell, {})),
            "top_place": around.most_common(1)[0][0] if around else None,
        }
    return {
        **hexbins.feature_collection(features, res=res, method="Getis-Ord Gi* over H3 cells"),
        "total": len(rows),
        "places": _places(rows, cells, hot_area),
        "people": _people(rows),
    }


def _around(cells: dict[str, Counter[str]], cell: str) -> Counter[str]:
    """Kinds of place in the cell's Gi* neighbourhood (itself and its six neighbours)."""
    total: Counter[str] = Counter()
    for n in h3.grid_disk(cell, 1):
        total.update(cells.get(n, {}))
    return total


async def summarise_async(rows: list[dict[str, Any]], res: int) -> dict[str, Any]:
    """The same in a worker thread: the permutation test is CPU work."""
    return await asyncio.to_thread(summarise, rows, res)


def _places(
    rows: list[dict[str, Any]], cells: dict[str, Counter[str]], hot: set[str]
) -> list[dict[str, Any]]:
    by_kind = Counter(r["place_kind"] for r in rows)
    in_hot: Counter[str] = Counter()
    for cell in hot:
        in_hot.update(cells[cell])
    kinds = catalogue().places
    total = max(len(rows), 1)
    return [
        {
            "place_kind": kind,
            "zh": kinds[kind].zh if kind in kinds else kind,
            "count": n,
            "share": round(n / total, 4),
            "in_hot_spots": in_hot[kind],
        }
        for kind, n in by_kind.most_common()
    ]


def _people(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """How many people had each part, by kind of person: {"victim": {"student": 12}, …}."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        for p in r["people"]:
            out[p["role"]][p["kind"]] += 1
    return {role: dict(kinds) for role, kinds in out.items()}
