"""Names of compounds (estates, phases, numbered courtyards), their aliases, and street addresses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gisgrid.demo.layout import Line
from gisgrid.demo.names import ESTATE_SUFFIXES, PHASES, NamePool
from gisgrid.demo.units import Unit, walk


@dataclass
class CompoundName:
    """A compound's name and aliases."""

    name: str
    aliases: list[str]


class Addresser:
    """Street addresses ('锦兴路37号') from the nearest named road, odd numbers on its left side."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = [ln for ln in lines if ln.name and ln.cls in ("main", "street", "alley")]
        self.tree = shapely.STRtree([ln.geom for ln in self.lines])

    def nearest(self, point: BaseGeometry) -> Line:
        """The named road nearest to a metric point."""
        return self.lines[int(self.tree.query_nearest(point)[0])]

    def address(self, point: BaseGeometry) -> tuple[str, int]:
        """(road name, house number) for a metric point."""
        line = self.nearest(point)
        along = line.geom.project(point)
        ahead = line.geom.interpolate(min(along + 1.0, line.geom.length))
        here = line.geom.interpolate(along)
        cross = (ahead.x - here.x) * (point.y - here.y) - (ahead.y - here.y) * (point.x - here.x)
        return line.name or "", 2 * int(along // 24) + (1 if cross > 0 else 2)


def name_compounds(
    rng: np.random.Generator,
    names: NamePool,
    root: Unit,
    centroids: list[Point],
    addresser: Addresser,
    fixed: dict[str, tuple[str, int]],
) -> dict[int, CompoundName]:
    """Names for all compounds, grouping runs of neighbouring compounds of a general grid into phased estates.

    fixed maps an estate name to (community code, phases) to place it in that community (demo names).
    """
    out: dict[int, CompoundName] = {}
    placed = _place_fixed(root, fixed)
    for general in walk(root, "general"):
        parcels = general.parcels
        k = 0
        while k < len(parcels):
            if (general.code, k) in placed:
                estate, run = placed[(general.code, k)]
                _name_run(out, parcels[k : k + run], estate)
                k += run
                continue
            run = min(int(rng.choice([1, 1, 1, 1, 1, 1, 2, 2, 3, 4])), len(parcels) - k)
            run = _trim_run(placed, general.code, k, run)
            if run == 1 and rng.random() < 0.45:
                road, number = addresser.address(centroids[parcels[k]])
                while not names.claim(f"{road}{number}号院"):
                    number += 2
                out[parcels[k]] = CompoundName(f"{road}{number}号院", [f"{road}{number}号"])
            else:
                _name_run(out, parcels[k : k + run], names.unique(ESTATE_SUFFIXES)[0])
            k += run
    return out


def _trim_run(placed: dict[tuple[str, int], tuple[str, int]], code: str, k: int, run: int) -> int:
    for j in range(1, run):
        if (code, k + j) in placed:
            return j
    return run


def _place_fixed(root: Unit, fixed: dict[str, tuple[str, int]]) -> dict[tuple[str, int], tuple[str, int]]:
    """Where fixed estates go: from the first compound of a middle general grid of their community."""
    placed: dict[tuple[str, int], tuple[str, int]] = {}
    for estate, (community_code, phases) in fixed.items():
        generals = next(c for c in root.children if c.code == community_code).children
        start = len(generals) // 2
        general = next(
            g
            for k in range(len(generals))
            if ((g := generals[(start + k) % len(generals)]).code, 0) not in placed
        )
        placed[(general.code, 0)] = (estate, min(phases, len(general.parcels)))
    return placed


def _name_run(out: dict[int, CompoundName], parcels: list[int], estate: str) -> None:
    short = _short(estate)
    if len(parcels) == 1:
        aliases = ([] if estate.endswith("小区") else [f"{estate}小区"]) + ([short] if short else [])
        out[parcels[0]] = CompoundName(estate, aliases)
        return
    for i, p in enumerate(parcels):
        aliases = [estate] + ([f"{estate}小区"] if not estate.endswith("小区") else [])
        out[p] = CompoundName(f"{estate}{PHASES[i]}", aliases)


def _short(estate: str) -> str:
    for suffix in sorted(ESTATE_SUFFIXES, key=len, reverse=True):
        if estate.endswith(suffix) and len(estate) > len(suffix) + 1:
            return estate[: -len(suffix)]
    return estate[2:] if len(estate) == 4 else ""
