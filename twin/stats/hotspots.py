"""Hot and cold spots by Getis-Ord Gi* (esda) over counts aggregated to H3 cells.

Gi* compares each cell's neighbourhood (itself and its six neighbours) with the whole study area. Cells
without any fact but next to one enter with zero, so a lone busy cell stands out from its quiet ring;
the rest of the territory (far from any fact) is not part of the test. Significance is esda's pseudo
p-value of `permutations` conditional permutations (`p_sim`, folded: the share of permutations at least as
extreme on the observed side).
"""

from __future__ import annotations

from dataclasses import dataclass

import h3
import numpy as np

HOT, COLD, NOT_SIGNIFICANT = "hot", "cold", "not significant"
MIN_CELLS = 8  # fewer cells than this: no test, everything not significant


@dataclass(frozen=True)
class Spot:
    cell: str
    count: int
    z: float | None
    p: float | None
    spot: str


def study_area(counts: dict[str, int]) -> list[str]:
    """The cells with facts and their ring of neighbours, in a stable order."""
    cells = set(counts)
    for cell in counts:
        cells.update(h3.grid_disk(cell, 1))
    return sorted(cells)


def gi_star(
    counts: dict[str, int], *, permutations: int = 999, alpha: float = 0.05, seed: int = 0
) -> list[Spot]:
    """Gi* z-score, pseudo p-value and class per cell of the study area."""
    cells = study_area(counts)
    y = np.array([counts.get(c, 0) for c in cells], dtype=float)
    if len(cells) < MIN_CELLS or np.all(y == y[0]):
        return [Spot(c, int(v), None, None, NOT_SIGNIFICANT) for c, v in zip(cells, y, strict=True)]
    from esda import G_Local
    from libpysal.weights import W, fill_diagonal

    index = set(cells)
    neighbours = {c: sorted(n for n in h3.grid_disk(c, 1) if n != c and n in index) for c in cells}
    w = W(neighbours, silence_warnings=True)
    # Binary weights with the cell itself at weight 1: the classic Gi* neighbourhood.
    w = fill_diagonal(w, 1.0)
    g = G_Local(y, w, transform="B", star=None, permutations=permutations, seed=seed, n_jobs=1)
    order = {c: i for i, c in enumerate(w.id_order)}
    spots = []
    for c, v in zip(cells, y, strict=True):
        i = order[c]
        z, p = float(g.Zs[i]), float(g.p_sim[i])
        kind = NOT_SIGNIFICANT if p > alpha else (HOT if z > 0 else COLD)
        spots.append(Spot(c, int(v), round(z, 4), round(p, 4), kind))
    return spots
