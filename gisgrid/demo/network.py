"""The planar partition and the walking network: noding all lines once, faces, and classified walk edges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from gisgrid.demo.geometry import GRID, to_metric, to_wgs
from gisgrid.demo.layout import BANK_PATH_OFFSET, HALF_WIDTH, Layout, Line


@dataclass
class River:
    """River geometry derived from the layout centreline, in metres."""

    bank_lines: dict[str, LineString]  # side -> water's edge, in flow direction
    corridor: Polygon  # water plus both greenways, inside the outline
    offset: float  # centreline to greenway distance
    wet: Polygon  # strictly between the greenways (not clipped to the outline), to classify edges


@dataclass
class Noded:
    """All layout lines noded together on the output grid (WGS 84, 7 decimals)."""

    edges: np.ndarray  # LineStrings, lon/lat
    source: np.ndarray  # index into the layout lines for each edge


@dataclass
class WalkEdge:
    """One edge of the walking network (WGS 84, on the output grid)."""

    geom: LineString
    kind: str
    name: str | None
    cls: str = "path"  # road class of the source line (main | street | alley | path)


def river_lines(layout: Layout) -> tuple[River, list[Line]]:
    """Banks, corridor and the two riverside greenways (as walk lines) of the layout's river."""
    name, _, width = layout.spec.river
    offset = width / 2 + BANK_PATH_OFFSET
    banks, paths = {}, []
    for side, sign in (("left", 1.0), ("right", -1.0)):
        banks[side] = _clip(layout.river_ext.offset_curve(sign * width / 2, quad_segs=4), layout.outline)
        greenway = _clip(layout.river_ext.offset_curve(sign * offset, quad_segs=4), layout.outline)
        label = "左岸" if side == "left" else "右岸"
        paths.append(Line(greenway, "bank_path", "path", f"{name}{label}绿道"))
    corridor = layout.outline.intersection(layout.river_ext.buffer(offset, cap_style="flat", quad_segs=4))
    wet = layout.river_ext.buffer(offset - 0.5, cap_style="flat", quad_segs=4)
    return River(banks, corridor, offset, wet), paths


def _clip(line: BaseGeometry, outline: Polygon) -> LineString:
    parts = [g for g in shapely.get_parts(outline.intersection(line)) if g.geom_type == "LineString"]
    merged = shapely.line_merge(shapely.union_all(parts))
    return max(shapely.get_parts(merged), key=lambda g: g.length)


def footbridge(layout: Layout, river: River, greenways: list[Line], names: list[str]) -> Line:
    """A footbridge between the greenways where the river is farthest from any crossing street."""
    others = shapely.union_all([ln.geom for ln in layout.lines if ln.role in ("cut", "outline", "through")])
    near = others.intersection(river.corridor.buffer(1.0))
    best, best_d = 0.5, -1.0
    for u in np.linspace(0.15, 0.85, 57):
        d = layout.river.interpolate(u, normalized=True).distance(near)
        if d > best_d:
            best, best_d = float(u), d
    p = layout.river.interpolate(best, normalized=True)
    a, b = (g.geom.interpolate(g.geom.project(p)) for g in greenways)
    return Line(LineString([a, b]), "footbridge", "path", names[0])


def node(lines: list[Line]) -> Noded:
    """Node every line once in metres, then snap to the 7-decimal WGS 84 grid; trace edges to their sources.

    Line ends are pushed 5 cm past where they stop so that every T-junction becomes a true crossing that
    floating-point noding resolves exactly; the 5 cm stubs are then dropped as dangles.
    """
    extended = [ln.geom if ln.role == "outline" else _extend(ln.geom, OVERSHOOT) for ln in lines]
    edges = _drop_stubs(shapely.get_parts(shapely.union_all(extended)))
    edges = shapely.get_parts(shapely.union_all(to_wgs(edges), grid_size=GRID))
    edges = edges[shapely.length(edges) > 0]
    mids = shapely.line_interpolate_point(edges, 0.5, normalized=True)
    tree = shapely.STRtree(to_wgs([ln.geom for ln in lines]))
    idx = tree.query_nearest(mids, return_distance=False, all_matches=False)
    source = np.empty(len(edges), dtype=int)
    source[idx[0]] = idx[1]
    return Noded(edges, source)


OVERSHOOT = 0.05


def _extend(line: BaseGeometry, by: float) -> BaseGeometry:
    coords = np.asarray(line.coords, dtype=float)
    for end, nxt in ((0, 1), (-1, -2)):
        d = coords[end] - coords[nxt]
        coords[end] = coords[end] + d / np.linalg.norm(d) * by
    return LineString(coords)


def _drop_stubs(edges: np.ndarray) -> np.ndarray:
    """Remove dangling edges shorter than a few overshoots, repeatedly."""
    while True:
        starts, ends = shapely.get_point(edges, 0), shapely.get_point(edges, -1)
        keys = [tuple(c) for c in shapely.get_coordinates(np.concatenate([starts, ends]))]
        degree: dict[tuple[float, float], int] = {}
        for k in keys:
            degree[k] = degree.get(k, 0) + 1
        n = len(edges)
        dangling = np.array([degree[keys[i]] == 1 or degree[keys[n + i]] == 1 for i in range(n)])
        stub = dangling & (shapely.length(edges) < 4 * OVERSHOOT)
        if not stub.any():
            return edges
        edges = edges[~stub]


def faces_by_parcel(noded: Noded, layout: Layout) -> list[list[BaseGeometry]]:
    """The faces of the noded lines (exact shared vertices), grouped by the parcel that holds them."""
    faces = shapely.get_parts(shapely.polygonize(noded.edges))
    points = to_metric(shapely.point_on_surface(faces))
    tree = shapely.STRtree([p.poly for p in layout.parcels])
    pt_idx, parcel_idx = tree.query(points, predicate="within")
    if len(pt_idx) != len(faces) or len(np.unique(pt_idx)) != len(faces):
        raise RuntimeError("faces do not map one-to-one onto parcels")
    out: list[list[BaseGeometry]] = [[] for _ in layout.parcels]
    for f, p in sorted(zip(pt_idx.tolist(), parcel_idx.tolist(), strict=True)):
        out[p].append(faces[f])
    if any(not group for group in out):
        raise RuntimeError("a parcel has no face")
    return out


def walk_edges(noded: Noded, lines: list[Line], river: River, bridge_names: list[str]) -> list[WalkEdge]:
    """Classify the noded edges into the walking network: roads, paths, bridges and crossings."""
    inner = river.wet
    mids_m = to_metric(shapely.line_interpolate_point(noded.edges, 0.5, normalized=True))
    in_corridor = shapely.contains(inner, mids_m)
    names = _bridge_namer(lines, bridge_names)
    raw: list[WalkEdge] = []
    for edge, src, wet in zip(noded.edges, noded.source, in_corridor, strict=True):
        line = lines[src]
        if line.role == "river" or (wet and line.role == "cut"):
            continue
        if wet or line.role == "footbridge":
            raw.append(WalkEdge(edge, "bridge", names(src), line.cls))
        else:
            raw.append(WalkEdge(edge, "path" if line.cls == "path" else "road", line.name, line.cls))
    return _split_crossings(raw)


def _bridge_namer(lines: list[Line], pool: list[str]) -> Callable[[int], str]:
    assigned: dict[int, str] = {}

    def name(src: int) -> str:
        if lines[src].role == "footbridge":
            return lines[src].name or "人行桥"
        if src not in assigned:
            assigned[src] = pool[len(assigned) % len(pool)]
        return assigned[src]

    return name


def _split_crossings(edges: list[WalkEdge]) -> list[WalkEdge]:
    """Split the first metres of every side road or path that meets a main road into a crossing edge."""
    main_nodes: dict[tuple[float, float], str] = {}
    for e in edges:
        if e.kind == "road" and e.cls == "main":
            for xy in (e.geom.coords[0], e.geom.coords[-1]):
                main_nodes.setdefault(xy, e.name or "")
    out: list[WalkEdge] = []
    for e in edges:
        out.extend(_split_one(e, main_nodes))
    return out


def _split_one(e: WalkEdge, main_nodes: dict[tuple[float, float], str]) -> list[WalkEdge]:
    if e.kind not in ("road", "path") or e.cls == "main":
        return [e]
    length_m = float(to_metric([e.geom])[0].length)
    reach = HALF_WIDTH["main"]
    pieces = [e]
    for end in (0, -1):
        xy = e.geom.coords[end]
        if xy in main_nodes and length_m > reach * 2 + 10:
            pieces = _cut_at(pieces, end, reach / length_m, main_nodes[xy])
    return pieces


def _cut_at(pieces: list[WalkEdge], end: int, frac: float, main_name: str) -> list[WalkEdge]:
    edge = pieces[end]
    a, b = (0.0, frac) if end == 0 else (1.0 - frac, 1.0)
    cross = shapely.set_precision(substring(edge.geom, a, b, normalized=True), GRID)
    rest_range = (frac, 1.0) if end == 0 else (0.0, 1.0 - frac)
    rest = shapely.set_precision(substring(edge.geom, *rest_range, normalized=True), GRID)
    crossing = WalkEdge(cross, "crossing", f"{main_name}人行横道", edge.cls)
    kept = WalkEdge(rest, edge.kind, edge.name, edge.cls)
    if end == 0:
        return [crossing, kept] + pieces[1:]
    return pieces[:-1] + [kept, crossing]
