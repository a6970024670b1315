"""Compounds (one per parcel, set back from the streets) and the residential buildings inside them, in metres."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from gisgrid.demo import plan
from gisgrid.demo.geometry import largest_polygon
from gisgrid.demo.layout import HALF_WIDTH, Layout

SETBACK = 2.0  # compound wall behind the road reserve, metres
INNER = 1.5  # buildings stay this far inside the compound wall
# building types: (share, footprint depth m, spacing between rows m, square tower?)
TYPES = {
    "walkup": (0.55, 12.0, 11.0, False),
    "midrise": (0.25, 13.0, 14.0, False),
    "tower": (0.20, 22.0, 18.0, True),
}


@dataclass
class Building:
    """A residential building: footprint (metres), floors and households."""

    geom: Polygon
    floors: int
    households: int


def compound_polygons(layout: Layout, corridor_offset: float) -> list[Polygon]:
    """One compound per parcel: the parcel minus road reserves, the river corridor and a setback."""
    reserves = [
        shapely.buffer(ln.geom, HALF_WIDTH[ln.cls] + SETBACK, cap_style="flat", join_style="mitre")
        for ln in layout.lines
        if ln.role in ("outline", "through", "cut")
    ]
    reserves.append(layout.river_ext.buffer(corridor_offset + SETBACK, cap_style="flat"))
    tree = shapely.STRtree(reserves)
    out = []
    for parcel in layout.parcels:
        hits = tree.query(parcel.poly, predicate="intersects")
        rest = parcel.poly.difference(shapely.union_all([reserves[i] for i in hits]))
        comp = largest_polygon(rest)
        for inset in (6.0, 3.0, 1.5):
            if comp is not None and comp.area >= max(150.0, 0.2 * parcel.poly.area):
                break
            comp = largest_polygon(parcel.poly.buffer(-inset, join_style="mitre"))
        if comp is None:
            raise RuntimeError("parcel too small for a compound")
        out.append(_tidy(comp))
    return out


def _tidy(poly: Polygon) -> Polygon:
    simple = poly.simplify(0.5)
    return simple if simple.is_valid and simple.geom_type == "Polygon" and not simple.is_empty else poly


def place_buildings(rng: np.random.Generator, compound: Polygon, *, households: int) -> list[Building]:
    """Buildings laid out in rows along the compound's long axis; households sum to the given total."""
    kind = _pick_type(rng, households)
    _, depth, spacing, tower = TYPES[kind]
    angle = _long_axis(compound)
    origin = compound.centroid
    local = affinity.rotate(compound, -angle, origin=origin, use_radians=True)
    inner = local.buffer(-INNER)
    want = _count(rng, kind, households)
    fitted = [_fit(r, inner) for r in _grid(local, want, depth, spacing, tower)]
    footprints = [f for f in fitted if f is not None]
    if not footprints:
        footprints = [_fallback(inner)]
    footprints = [affinity.rotate(f, angle, origin=origin, use_radians=True) for f in footprints]
    return _with_households(rng, footprints, households)


def _pick_type(rng: np.random.Generator, households: int) -> str:
    names = list(TYPES)
    p = np.array([TYPES[n][0] for n in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _count(rng: np.random.Generator, kind: str, households: int) -> int:
    per = {"walkup": rng.uniform(16, 28), "midrise": rng.uniform(30, 44), "tower": rng.uniform(60, 110)}[kind]
    return max(1, math.ceil(households / per))


def _long_axis(poly: Polygon) -> float:
    coords = np.asarray(poly.minimum_rotated_rectangle.exterior.coords)
    edges = np.diff(coords[:3], axis=0)
    longest = edges[int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))]
    return math.atan2(longest[1], longest[0])


def _grid(local: Polygon, n: int, depth: float, spacing: float, tower: bool) -> list[Polygon]:
    minx, miny, maxx, maxy = local.bounds
    width, height = maxx - minx, maxy - miny
    rows = max(1, min(n, int((height + spacing) // (depth + spacing))))
    per_row = math.ceil(n / rows)
    cell_w, cell_h = width / per_row, height / rows
    length = min(cell_w - 8.0, depth * 1.1 if tower else 60.0)
    d = min(depth, cell_h - 4.0)
    out = []
    for k in range(n):
        r, c = divmod(k, per_row)
        cx, cy = minx + (c + 0.5) * cell_w, maxy - (r + 0.5) * cell_h
        out.append(box(cx - length / 2, cy - d / 2, cx + length / 2, cy + d / 2))
    return out


def _fit(rect: Polygon, inner: BaseGeometry) -> Polygon | None:
    if rect.is_empty or rect.area < 40:
        return None
    for scale in (1.0, 0.85, 0.7, 0.55):
        r = affinity.scale(rect, scale, scale)
        if inner.contains(r):
            return r
    clipped = largest_polygon(rect.intersection(inner))
    if clipped is not None and clipped.area >= 60:
        return _tidy(clipped)
    return None


def _fallback(inner: BaseGeometry) -> Polygon:
    core = largest_polygon(inner)
    if core is None:
        raise RuntimeError("compound too small for a building")
    rect = core.minimum_rotated_rectangle
    r = affinity.scale(rect, 0.6, 0.6)
    return r if core.contains(r) else largest_polygon(core.buffer(-1.0)) or core


def _with_households(rng: np.random.Generator, footprints: list[Polygon], households: int) -> list[Building]:
    weights = [math.sqrt(f.area) for f in footprints]
    hh = plan.allocate(weights, total=households, minimum=1) if households >= len(footprints) else None
    if hh is None:
        footprints, hh = footprints[:households], [1] * households
    out = []
    for f, h in zip(footprints, hh, strict=True):
        per_floor = int(np.clip(round(f.area / rng.uniform(85, 110)), 2, 8))
        floors = int(np.clip(math.ceil(h / per_floor), 2, 33))
        out.append(Building(f, floors, h))
    return out
