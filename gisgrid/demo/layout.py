"""Layout of one subdistrict in EPSG:4544: outline, river, main roads and the recursive grid hierarchy."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from gisgrid.demo import plan
from gisgrid.demo.geometry import Splitter, largest_polygon
from gisgrid.demo.names import ALLEY_SUFFIXES, MAIN_SUFFIXES, STREET_SUFFIXES, NamePool

HALF_WIDTH = {"main": 13.0, "street": 7.0, "alley": 3.5, "path": 1.5}  # road reserve half widths, metres
BANK_PATH_OFFSET = 8.0  # riverside greenway: metres beyond the water's edge
COMMUNITIES = 10
AREA_BIAS = 25.0  # area is split in proportion to households + this, so small compounds still get room


@dataclass(frozen=True)
class Spec:
    """Parameters of one subdistrict."""

    index: int
    code: str
    name: str
    name_en: str
    district: str
    centre: tuple[float, float]  # EPSG:4544
    radii: tuple[float, float]
    grid_angle: float  # street grid orientation, radians
    flow: tuple[float, float]  # unit vector of river flow
    river_offset: float  # metres from the centre, to the left of the flow (negative = right)
    river: tuple[str, str, float]  # name, code abbreviation, width in metres
    anchors: tuple[tuple[float, float], ...] = ()  # points the two through roads pass through
    demo: bool = False


@dataclass
class Line:
    """A line of the layout: a road, path, river or greenway, in metres."""

    geom: BaseGeometry
    role: str  # outline | through | cut | river | bank_path | footbridge
    cls: str  # main | street | alley | path | river
    name: str | None


@dataclass
class Node:
    """A unit of the hierarchy (community, general, micro) or a parcel (one compound) as a leaf."""

    level: str
    poly: BaseGeometry
    households: int = 0
    children: list[Node] = field(default_factory=list)
    leaf: int = -1  # parcel index, for level == "parcel"


@dataclass
class Layout:
    """Everything the later stages need from the layout."""

    spec: Spec
    outline: Polygon
    river: LineString
    river_ext: LineString
    lines: list[Line]
    communities: list[Node]
    parcels: list[Node]


def build_outline(spec: Spec, rng: np.random.Generator) -> Polygon:
    """An irregular convex-ish outline bounded by main roads (10-14 straight sides)."""
    n = int(rng.integers(10, 15))
    theta = (np.arange(n) + rng.uniform(-0.25, 0.25, n)) * 2 * math.pi / n
    rx, ry = spec.radii
    r = rng.uniform(0.9, 1.06, n)
    x, y = rx * r * np.cos(theta), ry * r * np.sin(theta)
    a = spec.grid_angle
    pts = np.column_stack([x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a)])
    return Polygon(pts + np.asarray(spec.centre)).convex_hull


def build_river(
    spec: Spec, rng: np.random.Generator, outline: Polygon, *, shrink: float = 1.0
) -> tuple[LineString, LineString]:
    """The river centreline in flow direction: extended beyond the outline and clipped to it."""
    f = np.asarray(spec.flow)
    left = np.array([-f[1], f[0]])
    reach = 2.5 * max(spec.radii)
    s = np.arange(-reach, reach + 1e-6, 20.0)
    amp, wave, phase = rng.uniform(35, 70), rng.uniform(900, 1400), rng.uniform(0, 2 * math.pi)
    lateral = spec.river_offset * shrink + amp * np.sin(2 * math.pi * s / wave + phase)
    pts = np.asarray(spec.centre) + np.outer(s, f) + np.outer(lateral, left)
    ext = LineString(pts)
    clip = outline.intersection(ext)
    if clip.geom_type != "LineString":
        raise ValueError("river leaves and re-enters the outline")
    return ext, clip


def build_through_roads(spec: Spec, rng: np.random.Generator, outline: Polygon) -> list[LineString]:
    """Two main roads crossing the whole subdistrict and the river (they cross it on bridges)."""
    f = np.asarray(spec.flow)
    cross = np.array([-f[1], f[0]])
    centre = np.asarray(spec.centre)
    if spec.anchors:
        anchors = [np.asarray(a) for a in spec.anchors]
    else:
        extent = float(np.ptp(np.asarray(outline.exterior.coords) @ f))
        offs = (rng.uniform(-0.26, -0.14), rng.uniform(0.12, 0.24))
        anchors = [centre + f * (o * extent) for o in offs]
    roads = []
    for p in anchors:
        tilt = math.radians(rng.uniform(-6, 6))
        d = cross * math.cos(tilt) + f * math.sin(tilt)
        far = 3 * max(spec.radii)
        roads.append(outline.intersection(LineString([p - d * far, p, p + d * far])))
    return roads


def outline_roads(outline: Polygon, names: NamePool) -> list[Line]:
    """The outline split into three or four named boundary roads."""
    coords = np.asarray(outline.exterior.coords)
    n = len(coords) - 1
    k = 4 if n >= 8 else 3
    cuts = [round(i * n / k) for i in range(k + 1)]
    lines = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        name, _ = names.unique(MAIN_SUFFIXES)
        lines.append(Line(LineString(coords[a : b + 1]), "outline", "main", name))
    return lines


def regions(outline: Polygon, lines: list[BaseGeometry]) -> list[Polygon]:
    """Faces of the outline cut by the river and the through roads, largest first."""
    noded = shapely.union_all([outline.boundary, *lines], grid_size=1e-6)
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    return sorted(faces, key=lambda g: -g.area)


class HierarchyBuilder:
    """Splits regions into communities, general grids, micro-grids and parcels, recording the cuts."""

    def __init__(self, spec: Spec, rng: np.random.Generator, names: NamePool) -> None:
        self.rng, self.names = rng, names
        self.splitter = Splitter(rng, spec.grid_angle)
        self.lines: list[Line] = []
        self.parcels: list[Node] = []

    def communities(self, faces: list[Polygon], total_area: float) -> list[Node]:
        """Ten communities over the region faces, each region holding at least one."""
        counts = plan.allocate([f.area for f in faces], total=COMMUNITIES, minimum=1)
        target_generals = self._target_generals()
        out = []
        for face, count in zip(faces, counts, strict=True):
            weights = list(self.rng.uniform(0.8, 1.2, size=count))
            for poly in self._split(face, weights, lambda depth: "main"):
                out.append(self.community(poly, round(poly.area / total_area * target_generals)))
        return out

    def _target_generals(self) -> int:
        """About 100 general grids (roughly 650 micro-grids, the article counts 654 micro-grid workers)."""
        return int(round(self.rng.uniform(102, 110)))

    def community(self, poly: BaseGeometry, generals: int) -> Node:
        """One community split into general grids by secondary streets and alleys."""
        households = [plan.general_households(self.rng) for _ in range(max(3, generals))]
        pieces = self._split(
            poly, [float(h) for h in households], lambda depth: "street" if depth < 2 else "alley"
        )
        children = [self.general(p, h) for p, h in zip(pieces, households, strict=True)]
        return Node("community", poly, sum(households), children)

    def general(self, poly: BaseGeometry, households: int) -> Node:
        """One general grid split into micro-grids by alleys and paths."""
        micro = plan.micro_households(self.rng, total=households)
        pieces = self._split(
            poly, [h + AREA_BIAS for h in micro], lambda depth: "alley" if depth < 1 else "path"
        )
        return Node(
            "general", poly, households, [self.micro(p, h) for p, h in zip(pieces, micro, strict=True)]
        )

    def micro(self, poly: BaseGeometry, households: int) -> Node:
        """One micro-grid split into parcels, one compound each, by paths."""
        hh = plan.compound_households(self.rng, total=households)
        pieces = self._split(poly, [h + AREA_BIAS for h in hh], lambda depth: "path")
        leaves = []
        for p, h in zip(pieces, hh, strict=True):
            leaves.append(Node("parcel", p, h, leaf=len(self.parcels)))
            self.parcels.append(leaves[-1])
        return Node("micro", poly, households, leaves)

    def _split(
        self, poly: BaseGeometry, weights: list[float], cls_of: Callable[[int], str]
    ) -> list[BaseGeometry]:
        poly = largest_polygon(poly) if poly.geom_type != "Polygon" else poly
        start = len(self.splitter.cuts)
        pieces = self.splitter.split(poly, weights)
        for cut in self.splitter.cuts[start:]:
            cls = cls_of(cut.depth)
            self.lines.append(Line(cut.line, "cut", cls, self._name(cls)))
        return pieces

    def _name(self, cls: str) -> str | None:
        suffixes = {"main": MAIN_SUFFIXES, "street": STREET_SUFFIXES, "alley": ALLEY_SUFFIXES}.get(cls)
        return self.names.unique(suffixes)[0] if suffixes else None


def build_layout(spec: Spec, rng: np.random.Generator, names: NamePool) -> Layout:
    """The whole layout of one subdistrict (retrying river and roads until the regions are sound)."""
    for attempt in range(30):
        outline = build_outline(spec, rng)
        try:
            river_ext, river = build_river(spec, rng, outline, shrink=1.0 - 0.1 * (attempt // 4))
        except ValueError:
            continue
        roads = build_through_roads(spec, rng, outline)
        faces = regions(outline, [river, *roads])
        if len(faces) == 6 and min(f.area for f in faces) > 0.05 * outline.area:
            break
    else:
        raise RuntimeError(f"no sound layout for subdistrict {spec.code}")
    lines = outline_roads(outline, names)
    lines += [Line(r, "through", "main", names.unique(MAIN_SUFFIXES)[0]) for r in roads]
    lines.append(Line(river, "river", "river", spec.river[0]))
    builder = HierarchyBuilder(spec, rng, names)
    communities = builder.communities(faces, outline.area)
    return Layout(spec, outline, river, river_ext, lines + builder.lines, communities, builder.parcels)
