"""An ordinary road-line file (e.g. OSM-derived LineStrings with arbitrary properties) made into the walking network.

Steps, in a metric CRS (GISGRID_METRIC_SRID):
1. Two-way duplicates: a street drawn once per direction (OSM exports through SUMO, lane shapes) appears as two
   lines a few metres apart. A line is dropped when at least DUPLICATE_SHARE of its length lies within
   `duplicate_m` of lines already kept *of the same street* (same OSM way id, or else same non-empty name) — a
   different street running alongside is never merged away.
2. Endpoint snapping: a line end within `snap_m` of another line is moved onto it (dangling ends that stop short
   of a junction, as lane shapes do).
3. Noding: lines are split where they cross or touch — except bridges and tunnels (`bridge`/`tunnel` set, or a
   `layer` other than 0): they pass over or under the others and join the network only at their own ends.
4. Components: the connected parts of the result are counted and reported (the largest's share of the length).

Kinds: `highway` footway/path/pedestrian/steps/living_street → path, crossing → crossing, a bridge → bridge,
anything else → road. Ids: R00001… in file order of the pieces.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
import shapely.ops
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import LineString, MultiLineString

from gisgrid.crs import projector
from gisgrid.io.records import Record
from gisgrid.io.store import NODE_DIGITS
from gisgrid.layers.registry import Dataset, f

# What a road-line file is read with: any properties, these few used (names as OSM tags them).
ROAD_LINES = Dataset(
    "walk_edges",
    "道路线",
    "Road lines",
    "walk_edge",
    "LineString",
    "osm_way_id",
    tuple(
        f(name, "json", required=False)
        for name in (
            "osm_way_id",
            "osm_id",
            "name",
            "highway",
            "footway",
            "bridge",
            "tunnel",
            "layer",
            "direction",
        )
    ),
    "roads.geojson",
)
DUPLICATE_SHARE = 0.9
PATH_HIGHWAYS = frozenset({"footway", "path", "pedestrian", "steps", "living_street", "cycleway", "track"})
NODE_GRID_M = 0.01
TOUCH_M = 1.0  # ends this close snap whatever their heading  # noded end points closer than this are one node


@dataclass
class RoadReport:
    """What the conversion found and did."""

    input_lines: int = 0
    duplicates_dropped: int = 0
    snapped_ends: int = 0
    bridges_and_tunnels: int = 0
    edges: int = 0
    nodes: int = 0
    components: int = 0
    largest_component_share: float = 0.0
    component_sizes: list[int] = field(default_factory=list)
    duplicate_m: float = 0.0
    snap_m: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The report as the API and the CLI show it."""
        return dict(self.__dict__)


def _truthy(value: Any) -> bool:
    return value not in (None, "", "no", "false", "0", 0, False)


def _raised(props: dict[str, Any]) -> bool:
    layer = props.get("layer")
    try:
        off_ground = layer not in (None, "") and float(layer) != 0
    except (TypeError, ValueError):
        off_ground = False
    return _truthy(props.get("bridge")) or _truthy(props.get("tunnel")) or off_ground


def _street(props: dict[str, Any]) -> str | None:
    way = props.get("osm_way_id") or props.get("osm_id")
    if way not in (None, ""):
        return f"way:{way}"
    name = str(props.get("name") or "").strip()
    return f"name:{name}" if name else None


def _kind(props: dict[str, Any]) -> str:
    if _truthy(props.get("bridge")):
        return "bridge"
    highway = str(props.get("highway") or "").strip().lower()
    if highway == "crossing" or props.get("footway") == "crossing":
        return "crossing"
    return "path" if highway in PATH_HIGHWAYS else "road"


def _dedupe(lines: np.ndarray, streets: list[str | None], duplicate_m: float) -> np.ndarray:
    """Indices of the lines kept (file order; forward before reverse when the file says)."""
    kept_by_street: dict[str, list[int]] = defaultdict(list)
    keep = []
    for i, line in enumerate(lines):
        street = streets[i]
        if street is not None and kept_by_street[street] and line.length > 0:
            near = shapely.union_all([lines[j] for j in kept_by_street[street]]).buffer(
                duplicate_m, quad_segs=2
            )
            if shapely.intersection(line, near).length >= DUPLICATE_SHARE * line.length:
                continue
        keep.append(i)
        if street is not None:
            kept_by_street[street].append(i)
    return np.array(keep, dtype=int)


def _snap_ends(lines: np.ndarray, snap_m: float) -> tuple[np.ndarray, int]:
    """Free line ends that stop short of another line are moved onto it (_snap_target). The point is inserted
    into the line it lands on as a vertex (GEOS snap), so that noding sees the two touch exactly."""
    tree = shapely.STRtree(lines)
    out = list(lines)
    moved = 0
    for i in range(len(out)):
        coords = np.array(out[i].coords)
        changed = False
        for end, far_end in ((0, -1), (-1, 0)):
            pt = shapely.Point(coords[end])
            hits = [int(j) for j in tree.query(pt, predicate="dwithin", distance=snap_m) if j != i]
            if not hits:
                continue
            dist = shapely.distance(pt, [out[j] for j in hits])
            if dist.min() <= 1e-9:
                j = hits[int(np.argmin(dist))]  # it touches already: make that a shared vertex
                out[j] = shapely.snap(out[j], pt, 1e-6)
                continue
            target = _snap_target(coords[end], coords[far_end], [out[j] for j in hits], snap_m)
            if target is None:
                continue
            j, xy = hits[target[0]], target[1]
            coords[end] = xy
            changed = True
            moved += 1
            out[j] = shapely.snap(out[j], shapely.Point(xy), 1e-6)
        if changed:
            out[i] = LineString(coords)
    return np.array(out, dtype=object), moved


def _snap_target(
    end: np.ndarray, far_end: np.ndarray, others: list[LineString], snap_m: float
) -> tuple[int, np.ndarray] | None:
    """(which other line, the point) an end snaps to, or None: another line's end, else its nearest point, within
    snap_m. Not a line the whole line runs alongside (its far end within snap_m of it too): a short street beside
    a parallel one is not folded onto it — unless the ends are within TOUCH_M."""
    best: tuple[float, int, np.ndarray] | None = None
    far = shapely.Point(far_end)
    for k, other in enumerate(others):
        ends = [np.array(other.coords[0][:2]), np.array(other.coords[-1][:2])]
        nearest = shapely.get_coordinates(shapely.shortest_line(shapely.Point(end), other))[-1]
        alongside = other.distance(far) <= snap_m
        for xy, penalty in ((ends[0], 0.0), (ends[1], 0.0), (nearest, TOUCH_M)):
            gap = float(np.hypot(*(xy - end)))
            if gap > snap_m or (alongside and gap > TOUCH_M):
                continue
            # Another line's end is preferred to a point along it a little nearer (a junction, not a T).
            if best is None or gap + penalty < best[0]:
                best = (gap + penalty, k, xy)
    return None if best is None else (best[1], best[2])


def _pieces(lines: np.ndarray, raised: np.ndarray) -> tuple[list[LineString], list[int]]:
    """Ground lines noded together; raised lines whole. Each piece with the index of its source line."""
    ground = np.flatnonzero(~raised)
    pieces: list[LineString] = []
    source: list[int] = []
    if len(ground):
        noded = shapely.node(MultiLineString(list(lines[ground])))
        parts = list(getattr(noded, "geoms", [noded]))
        tree = shapely.STRtree(lines[ground])
        for part in parts:
            if part.length <= 0:
                continue
            mid = part.interpolate(0.5, normalized=True)
            hits = tree.query(mid, predicate="dwithin", distance=1e-6)
            if len(hits):
                pieces.append(part)
                source.append(int(ground[hits[0]]))
    # A bridge or tunnel joins the ground network at its ends: split the ground pieces there (the ends are vertices
    # of those pieces after _snap_ends).
    for i in np.flatnonzero(raised):
        for end in (lines[i].coords[0], lines[i].coords[-1]):
            pt = shapely.Point(end)
            for k, piece in enumerate(pieces):
                if source[k] in ground and piece.distance(pt) < 1e-6:
                    cut = shapely.ops.split(shapely.snap(piece, pt, 1e-6), pt)
                    parts = [g for g in cut.geoms if g.length > 0]
                    if len(parts) > 1:
                        pieces[k] = parts[0]
                        pieces.extend(parts[1:])
                        source.extend([source[k]] * (len(parts) - 1))
                    break
    for i in np.flatnonzero(raised):
        pieces.append(lines[i])
        source.append(int(i))
    return pieces, source


def _components(pieces: list[LineString], wgs84: list[LineString]) -> tuple[int, int, list[int], float]:
    """(nodes, components, sizes of the largest ones in edges, the largest's share of the length); nodes are the
    WGS 84 end points rounded as the walk_edges store matches them (NODE_DIGITS)."""
    if not pieces:
        return 0, 0, [], 0.0
    ends = np.array([[*p.coords[0][:2], *p.coords[-1][:2]] for p in wgs84])
    keys = np.round(ends.reshape(-1, 2) * 10**NODE_DIGITS).astype(np.int64)
    _, node = np.unique(keys, axis=0, return_inverse=True)
    node = node.reshape(-1, 2)
    n = int(node.max()) + 1
    graph = coo_matrix((np.ones(len(pieces)), (node[:, 0], node[:, 1])), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    edge_label = label[node[:, 0]]
    lengths = np.array([p.length for p in pieces])
    per = np.bincount(edge_label, weights=lengths, minlength=count)
    sizes = sorted(np.bincount(edge_label, minlength=count).tolist(), reverse=True)[:10]
    return n, int(count), sizes, float(per.max() / lengths.sum()) if lengths.sum() else 0.0


def to_walk_records(
    records: list[Record], *, srid: int, duplicate_m: float, snap_m: float
) -> tuple[list[Record], RoadReport]:
    """Walk-edge records (id, kind, name, WGS 84 line) from road-line records, and what was done."""
    report = RoadReport(input_lines=len(records), duplicate_m=duplicate_m, snap_m=snap_m)
    to_m, to_deg = projector(srid=srid), projector(srid=srid, inverse=True)
    singles: list[tuple[Record, LineString]] = []
    for rec in records:
        for part in getattr(rec.geom, "geoms", [rec.geom]):
            if part is not None and not part.is_empty:
                singles.append((rec, shapely.transform(part, to_m)))
    # Forward before reverse: of a two-way pair, the forward line is kept.
    singles.sort(key=lambda rl: (str(rl[0].attrs.get("direction")) == "reverse", rl[0].index))
    lines = np.array([line for _, line in singles], dtype=object)
    props = [rec.attrs for rec, _ in singles]
    kept = _dedupe(lines, [_street(p) for p in props], duplicate_m) if len(lines) else np.zeros(0, int)
    report.duplicates_dropped = len(lines) - len(kept)
    lines, props = lines[kept], [props[i] for i in kept]
    lines, report.snapped_ends = _snap_ends(lines, snap_m) if len(lines) else (lines, 0)
    raised = np.array([_raised(p) for p in props], dtype=bool)
    report.bridges_and_tunnels = int(raised.sum())
    pieces, source = _pieces(lines, raised)
    # Slivers of noding (under NODE_GRID_M) join two points that are one node anyway.
    keep_piece = [k for k, p in enumerate(pieces) if p.length >= NODE_GRID_M]
    pieces, source = [pieces[k] for k in keep_piece], [source[k] for k in keep_piece]
    report.edges = len(pieces)
    wgs84 = [shapely.transform(piece, to_deg) for piece in pieces]
    found = _components(pieces, wgs84)
    report.nodes, report.components, report.component_sizes = found[0], found[1], found[2]
    report.largest_component_share = round(found[3], 4)
    out = []
    for k, (piece, src) in enumerate(zip(wgs84, source, strict=True)):
        p = props[src]
        name = str(p.get("name") or "").strip() or None
        out.append(
            Record(
                index=k,
                key=f"R{k + 1:05d}",
                attrs={"id": f"R{k + 1:05d}", "kind": _kind(p), "name": name},
                geom=piece,
            )
        )
    return out, report
