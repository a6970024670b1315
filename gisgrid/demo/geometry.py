"""Geometry helpers: CRS transforms, rounding, weighted polygon splitting along street-like cuts, sibling order."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

METRIC_CRS = "EPSG:4544"  # CGCS2000 / 3-degree Gauss-Kruger CM 105E
OUTPUT_CRS = "EPSG:4326"
GRID = 1e-7  # output precision in degrees (7 decimals, about 1 cm)

_TO_WGS = Transformer.from_crs(METRIC_CRS, OUTPUT_CRS, always_xy=True)
_TO_METRIC = Transformer.from_crs(OUTPUT_CRS, METRIC_CRS, always_xy=True)


def _apply(transformer: Transformer, geoms: object) -> np.ndarray:
    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), fn)


def to_wgs(geoms: object) -> np.ndarray:
    """Transform metric (EPSG:4544) geometries to WGS 84 lon/lat, unrounded."""
    return _apply(_TO_WGS, geoms)


def to_metric(geoms: object) -> np.ndarray:
    """Transform WGS 84 lon/lat geometries to EPSG:4544 metres."""
    return _apply(_TO_METRIC, geoms)


def lonlat_to_metric(lon: float, lat: float) -> tuple[float, float]:
    """One WGS 84 point to EPSG:4544 (x east, y north)."""
    x, y = _TO_METRIC.transform(lon, lat)
    return float(x), float(y)


def round_wgs(geoms: object) -> np.ndarray:
    """Metric geometries to WGS 84 snapped to the 7-decimal output grid (valid, same topology)."""
    return shapely.set_precision(to_wgs(geoms), GRID)


def sibling_order(xs: np.ndarray, ys: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Indices of siblings in numbering order: rows north to south, west to east within a row.

    Rule: band = 0.6 * sqrt(mean sibling area); row = floor((max y - y) / band) over centroid
    northings in EPSG:4544; siblings sort by (row, x).
    """
    band = 0.6 * math.sqrt(float(np.mean(areas)))
    rows = np.floor((ys.max() - ys) / band)
    return np.lexsort((xs, rows))


@dataclass
class Cut:
    """A line cutting a polygon in two, with its recursion depth (0 = first cut of a level)."""

    line: BaseGeometry
    depth: int


@dataclass
class Splitter:
    """Splits polygons into pieces with given area weights along gently kinked, street-like cuts."""

    rng: np.random.Generator
    angle: float  # orientation of the street grid, radians
    cuts: list[Cut] = field(default_factory=list)

    def split(self, poly: Polygon, weights: list[float], depth: int = 0) -> list[BaseGeometry]:
        """Pieces of poly in the order of weights, areas proportional to them."""
        if len(weights) == 1:
            return [poly]
        total = float(sum(weights))
        csum = np.cumsum(weights)[:-1] / total
        m = int(np.argmin(np.abs(csum - 0.5))) + 1
        low, high, line = self._cut(poly, float(csum[m - 1]))
        self.cuts.append(Cut(line, depth))
        return self.split(low, weights[:m], depth + 1) + self.split(high, weights[m:], depth + 1)

    def _cut(self, poly: Polygon, frac: float) -> tuple[BaseGeometry, BaseGeometry, BaseGeometry]:
        best = None
        for attempt in range(8):
            low, high, line = self._try_cut(poly, frac, attempt)
            clean = (
                low.geom_type == "Polygon" and high.geom_type == "Polygon" and line.geom_type == "LineString"
            )
            if clean and _compact(low) and _compact(high):
                return low, high, line
            if best is None and clean:
                best = (low, high, line)
        return best if best is not None else (low, high, line)

    def _try_cut(
        self, poly: Polygon, frac: float, attempt: int
    ) -> tuple[BaseGeometry, BaseGeometry, BaseGeometry]:
        coords = np.asarray(poly.exterior.coords)
        centre = coords.mean(axis=0)
        a = self.angle
        u, v = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
        spread_u, spread_v = np.ptp(coords @ u), np.ptp(coords @ v)
        normal_first = spread_u >= spread_v
        if attempt >= 4:
            normal_first = not normal_first
        jitter = math.radians(self.rng.uniform(-4, 4) * (1 + attempt))
        base = a if normal_first else a + math.pi / 2
        n = np.array([math.cos(base + jitter), math.sin(base + jitter)])
        d = np.array([-n[1], n[0]])
        hp_coords, line_coords = self._halfplane(coords, centre, n, d)
        t = _solve_offset(poly, hp_coords, coords, centre, n, frac)
        hp, polyline = Polygon(hp_coords + n * t), LineString(line_coords + n * t)
        return poly.intersection(hp), poly.difference(hp), _merged(poly.intersection(polyline))

    def _halfplane(
        self, coords: np.ndarray, centre: np.ndarray, n: np.ndarray, d: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ring of the half-plane below a gently kinked cut line at offset 0 along n, and the cut line."""
        s = (coords - centre) @ d
        smin, smax = float(s.min()) - 5.0, float(s.max()) + 5.0
        span = smax - smin
        kink = min(6.0, 0.02 * span)
        offs = self.rng.uniform(-kink, kink, size=3)
        smid = smin + span * self.rng.uniform(0.35, 0.65)
        big = 10.0 * (span + float(np.ptp((coords - centre) @ n)))
        a = centre + d * smin + n * offs[0]
        b = centre + d * smid + n * offs[1]
        c = centre + d * smax + n * offs[2]
        a_far = a + (a - b) / np.linalg.norm(a - b) * big
        c_far = c + (c - b) / np.linalg.norm(c - b) * big
        ring = np.array([a_far, b, c_far, c_far - n * big, a_far - n * big, a_far])
        return ring, np.array([a_far, b, c_far])


def _solve_offset(
    poly: Polygon, ring: np.ndarray, coords: np.ndarray, centre: np.ndarray, n: np.ndarray, frac: float
) -> float:
    """Offset t along n at which the half-plane holds frac of the polygon's area (two vectorised passes)."""
    proj = (coords - centre) @ n
    lo, hi = float(proj.min()) - 1.0, float(proj.max()) + 1.0
    target = frac * poly.area
    for _ in range(2):
        ts = np.linspace(lo, hi, 11)
        hps = shapely.polygons(ring[None, :, :] + ts[:, None, None] * n[None, None, :])
        areas = shapely.area(shapely.intersection(poly, hps))
        k = int(np.clip(np.searchsorted(areas, target), 1, len(ts) - 1))
        lo, hi = float(ts[k - 1]), float(ts[k])
        a0, a1 = float(areas[k - 1]), float(areas[k])
    return lo + (hi - lo) * ((target - a0) / (a1 - a0) if a1 > a0 else 0.5)


def _compact(poly: BaseGeometry) -> bool:
    """True when a piece is not a sliver: its area is a fair share of its rotated bounding rectangle's."""
    if poly.is_empty or poly.area < 1.0:
        return False
    rect = poly.minimum_rotated_rectangle
    coords = np.asarray(rect.exterior.coords)
    sides = np.hypot(*np.diff(coords[:3], axis=0).T)
    return poly.area / rect.area > 0.55 and sides.min() / max(sides.max(), 1e-9) > 0.18


def _merged(geom: BaseGeometry) -> BaseGeometry:
    """A clipped cut as one line where possible (pieces merged)."""
    if geom.geom_type in ("MultiLineString", "GeometryCollection"):
        return shapely.line_merge(shapely.union_all([g for g in geom.geoms if g.geom_type == "LineString"]))
    return geom


def largest_polygon(geom: BaseGeometry) -> Polygon | None:
    """The largest polygon part of a geometry, or None if it has no area."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    return max(parts, key=lambda g: g.area) if parts else None
