"""Household plans: how many communities, general grids, micro-grids and compounds, and their households."""

from __future__ import annotations

import numpy as np

GENERAL_HOUSEHOLDS = (330, 470)  # drawn target per general grid; accepted range is 300-500
MICRO_HOUSEHOLDS = (34, 96)  # accepted range per micro-grid (the standard says 30-100)
COMPOUND_MIN = 12
HOUSEHOLD_SIZE = (2.45, 2.75)  # persons per household (Chengdu averages about 2.6)


def allocate(weights: list[float], *, total: int, minimum: int = 1) -> list[int]:
    """Split an integer total in proportion to weights (largest remainder), each part at least minimum."""
    w = np.asarray(weights, dtype=float)
    spare = total - minimum * len(w)
    if spare < 0:
        raise ValueError("total too small for the minimum")
    raw = w / w.sum() * spare
    parts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - parts), kind="stable")
    parts[order[: spare - int(parts.sum())]] += 1
    return [int(p) + minimum for p in parts]


def split_total(
    rng: np.random.Generator, *, total: int, parts: int, low: int, high: int, spread: float = 0.3
) -> list[int]:
    """Random integer parts of total, each within [low, high]."""
    for _ in range(200):
        w = rng.uniform(1 - spread, 1 + spread, size=parts)
        out = allocate(list(w), total=total, minimum=0)
        if min(out) >= low and max(out) <= high:
            return out
    raise ValueError(f"cannot split {total} into {parts} parts within [{low}, {high}]")


def general_households(rng: np.random.Generator) -> int:
    """Households of one general grid."""
    return int(rng.integers(GENERAL_HOUSEHOLDS[0], GENERAL_HOUSEHOLDS[1] + 1))


def micro_households(rng: np.random.Generator, *, total: int) -> list[int]:
    """Households of the micro-grids of a general grid with total households."""
    lo, hi = MICRO_HOUSEHOLDS
    mean = rng.uniform(56, 70)
    count = int(np.clip(round(total / mean), -(-total // hi) + 1, total // lo - 1))
    return split_total(rng, total=total, parts=count, low=lo, high=hi)


def compound_households(rng: np.random.Generator, *, total: int) -> list[int]:
    """Households of the compounds of one micro-grid (one to three compounds)."""
    r = rng.random()
    count = 1 if r < 0.55 or total < 3 * COMPOUND_MIN else (2 if r < 0.9 else 3)
    return split_total(rng, total=total, parts=count, low=COMPOUND_MIN, high=total, spread=0.5)


def population(rng: np.random.Generator, *, households: int) -> int:
    """Residents of a compound with the given households."""
    return int(round(households * rng.uniform(*HOUSEHOLD_SIZE)))
