"""The walking network as a graph in memory, points snapped onto it, and walking distances from every site.

The network is small (the demo set: 3,376 edges) and read once per computation; sites and buildings are snapped
to an edge *point* (edge, fraction along it, snap distance), on their own bank of the river (snap_points). A site
becomes a virtual node joined to both ends of its edge, so that distances start at the site itself, not at the
nearest node. Two engines give the same site × node distance matrix: SciPy's Dijkstra (multi-source, in memory)
and pgRouting's pgr_drivingDistance (one call per site in the database) — benchmarks/results/coverage.md
measures both; SciPy is the default (ENGINE).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import text
from sqlalchemy.orm import Session

ENGINES = ("scipy", "pgrouting")
ENGINE = "scipy"
# scipy's csgraph drops zero weights (no edge); a site right on a node would lose its link.
_EPS = 1e-9


@dataclass
class Graph:
    """Edges as arrays (rows in edge-id order) over nodes numbered 0..n_nodes-1."""

    edge_ids: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    node_ids: np.ndarray  # walk_node.id of each node row
    lines: np.ndarray  # shapely LineStrings in the metric CRS

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    def edge_rows(self, edge_ids: np.ndarray) -> np.ndarray:
        """Row of each edge id (edge_ids sorted ascending)."""
        return np.searchsorted(self.edge_ids, edge_ids)


@dataclass
class Snapped:
    """Points on the network: the row of their edge (-1: none on their bank), fraction along it, snap metres,
    and their metric coordinates (for straight-line distances)."""

    ids: np.ndarray
    edge_row: np.ndarray
    frac: np.ndarray
    snap_m: np.ndarray
    x: np.ndarray
    y: np.ndarray


def load_graph(session: Session, *, srid: int) -> Graph:
    """The walking network's edges as arrays, with their lines in the metric CRS (for snapping)."""
    rows = session.execute(
        text(
            "SELECT id, source, target, length_m, ST_AsBinary(ST_Transform(geom, :srid)) AS wkb "
            "FROM walk_edge ORDER BY id"
        ),
        {"srid": srid},
    ).all()
    data = np.array([r[:4] for r in rows], dtype=np.float64).reshape(-1, 4)
    ends = data[:, 1:3].astype(np.int64)
    node_ids, inverse = np.unique(ends, return_inverse=True)
    inverse = inverse.reshape(-1, 2)
    return Graph(
        edge_ids=data[:, 0].astype(np.int64),
        u=inverse[:, 0],
        v=inverse[:, 1],
        length=data[:, 3],
        node_ids=node_ids,
        lines=shapely.from_wkb([bytes(r.wkb) for r in rows]),
    )


POINTS = """
SELECT 'building' AS what, id, ST_AsBinary(ST_Transform(ST_PointOnSurface(geom), :srid)) AS wkb FROM building
UNION ALL
SELECT 'site', id, ST_AsBinary(ST_Transform(geom, :srid)) FROM service_site
UNION ALL
SELECT 'river', id, ST_AsBinary(ST_Transform(geom, :srid)) FROM river
"""


def snap_points(session: Session, graph: Graph, *, srid: int) -> tuple[Snapped, Snapped]:
    """(buildings, sites) snapped to the network, each in id order.

    A building's point is ST_PointOnSurface (inside the polygon even when it is concave; the data have no
    entrances). It snaps to the nearest edge point whose snap segment crosses no river: never to the other
    bank. Candidates are the edges within SNAP_NEAR_M, then (for the few left) within SNAP_FAR_M; a point with
    none is unreachable (edge row -1)."""
    rows = session.execute(text(POINTS), {"srid": srid}).all()
    river = shapely.union_all(shapely.from_wkb([bytes(r.wkb) for r in rows if r.what == "river"]))
    shapely.prepare(river)
    tree = shapely.STRtree(graph.lines)
    out = []
    for what in ("building", "site"):
        part = sorted((r for r in rows if r.what == what), key=lambda r: r.id)
        pts = shapely.from_wkb([bytes(r.wkb) for r in part]) if part else np.zeros(0, dtype=object)
        edge_row, frac, snap_m = _snap(pts, graph, tree, river)
        out.append(
            Snapped(
                ids=np.array([r.id for r in part], dtype=np.int64),
                edge_row=edge_row,
                frac=frac,
                snap_m=snap_m,
                x=shapely.get_x(pts),
                y=shapely.get_y(pts),
            )
        )
    return out[0], out[1]


def snap_new(session: Session, graph: Graph, pts: np.ndarray, *, srid: int) -> Snapped:
    """Points that are not in the database yet (siting candidates, a moved or new site; shapely points in the
    metric CRS) snapped as sites are: to the nearest edge on their own bank. Their ids are 0..n-1."""
    rows = session.execute(
        text("SELECT ST_AsBinary(ST_Transform(geom, :srid)) AS wkb FROM river"), {"srid": srid}
    ).all()
    river = shapely.union_all(shapely.from_wkb([bytes(r.wkb) for r in rows])) if rows else shapely.Point()
    shapely.prepare(river)
    edge_row, frac, snap_m = _snap(pts, graph, shapely.STRtree(graph.lines), river)
    return Snapped(
        ids=np.arange(len(pts), dtype=np.int64),
        edge_row=edge_row,
        frac=frac,
        snap_m=snap_m,
        x=shapely.get_x(pts),
        y=shapely.get_y(pts),
    )


SNAP_NEAR_M = 60.0
SNAP_FAR_M = 5000.0


def _snap(
    pts: np.ndarray, graph: Graph, tree: shapely.STRtree, river: shapely.Geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(pts)
    edge_row = np.full(n, -1, dtype=np.int64)
    snap_m = np.full(n, np.inf)
    for radius in (SNAP_NEAR_M, SNAP_FAR_M):
        todo = np.flatnonzero(edge_row < 0)
        if not len(todo):
            break
        p_idx, e_idx = tree.query(pts[todo], predicate="dwithin", distance=radius)
        p_idx = todo[p_idx]
        dist = shapely.distance(pts[p_idx], graph.lines[e_idx])
        segments = shapely.shortest_line(pts[p_idx], graph.lines[e_idx])
        crosses = shapely.intersects(segments, river) if not river.is_empty else np.zeros(len(p_idx), bool)
        ok = ~crosses
        p_idx, e_idx, dist = p_idx[ok], e_idx[ok], dist[ok]
        order = np.lexsort((e_idx, dist, p_idx))
        p_idx, e_idx, dist = p_idx[order], e_idx[order], dist[order]
        first = np.ones(len(p_idx), bool)
        first[1:] = p_idx[1:] != p_idx[:-1]
        edge_row[p_idx[first]] = e_idx[first]
        snap_m[p_idx[first]] = dist[first]
    found = edge_row >= 0
    frac = np.zeros(n)
    if found.any():
        frac[found] = shapely.line_locate_point(graph.lines[edge_row[found]], pts[found], normalized=True)
    return edge_row, frac, snap_m


def node_distances(
    session: Session, graph: Graph, sites: Snapped, *, engine: str = ENGINE, limit_m: float = np.inf
) -> np.ndarray:
    """Walking metres from each site (its point, snap leg included) to each node: sites × nodes (inf: not
    reached within limit_m)."""
    if engine == "scipy":
        return _scipy_distances(graph, sites, limit_m=limit_m)
    if engine == "pgrouting":
        return _pgrouting_distances(session, graph, sites, limit_m=limit_m)
    raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")


def _scipy_distances(graph: Graph, sites: Snapped, *, limit_m: float) -> np.ndarray:
    n, s = graph.n_nodes, len(sites.ids)
    ok = sites.edge_row >= 0
    rows_e = sites.edge_row[ok]
    virtual = n + np.flatnonzero(ok)
    length = graph.length[rows_e]
    src = np.concatenate([graph.u, virtual, virtual])
    dst = np.concatenate([graph.v, graph.u[rows_e], graph.v[rows_e]])
    weight = np.concatenate(
        [
            graph.length,
            sites.snap_m[ok] + sites.frac[ok] * length,
            sites.snap_m[ok] + (1 - sites.frac[ok]) * length,
        ]
    )
    src, dst, weight = _dedupe(src, dst, weight + _EPS)
    matrix = coo_matrix((weight, (src, dst)), shape=(n + s, n + s)).tocsr()
    out = np.full((s, n), np.inf)
    if ok.any():
        dist = dijkstra(matrix, directed=False, indices=virtual, limit=limit_m)
        out[ok] = dist[:, :n]
    return out


def _dedupe(src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, ...]:
    """Parallel edges kept once, at their shortest (a sparse matrix would add their weights up); loops dropped."""
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    keep = lo != hi
    lo, hi, weight = lo[keep], hi[keep], weight[keep]
    order = np.lexsort((weight, hi, lo))
    lo, hi, weight = lo[order], hi[order], weight[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return lo[first], hi[first], weight[first]


PGR_DISTANCES = """
SELECT (to_jsonb(d) ->> 'node')::bigint AS node,
       coalesce(to_jsonb(d) ->> 'start_vid', to_jsonb(d) ->> 'from_v')::bigint AS start,
       (to_jsonb(d) ->> 'agg_cost')::float8 AS cost
  FROM pgr_drivingDistance(
        'SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM walk_edge',
        CAST(:starts AS bigint[]), :limit_m, directed := false, equicost := false) d
"""


def _pgrouting_distances(session: Session, graph: Graph, sites: Snapped, *, limit_m: float) -> np.ndarray:
    """One pgr_drivingDistance per site, over the whole edge table, from both ends of the site's edge."""
    out = np.full((len(sites.ids), graph.n_nodes), np.inf)
    limit = 1e12 if not np.isfinite(limit_m) else float(limit_m)
    for k in np.flatnonzero(sites.edge_row >= 0):
        row = sites.edge_row[k]
        ends = {
            int(graph.node_ids[graph.u[row]]): sites.frac[k] * graph.length[row],
            int(graph.node_ids[graph.v[row]]): (1 - sites.frac[k]) * graph.length[row],
        }
        res = session.execute(text(PGR_DISTANCES), {"starts": list(ends), "limit_m": limit}).all()
        if not res:
            continue
        nodes = np.searchsorted(graph.node_ids, np.array([r.node for r in res]))
        cost = np.array([r.cost + ends[r.start] for r in res]) + sites.snap_m[k]
        np.minimum.at(out[k], nodes, cost)
    return out
