"""Service areas: what of the walking network each site reaches within a threshold, edge parts included.

An edge (u, v, length L) is reached from its ends: with r_u = T − d(u) metres left at u and r_v at v, the parts
[0, r_u/L] and [1 − r_v/L, 1] of it (the whole edge when they meet); the site's own edge also from the site's
point both ways. Nothing is rounded to whole edges (pgr_drivingDistance would drop the parts). The polygon is a
buffer of the reached parts (GISGRID_COVERAGE_BUFFER_M each side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from gisgrid.coverage.compute import Coverage
from gisgrid.db import sql

AREAS = sql.load(__file__, "areas.sql")


@dataclass
class Parts:
    """Reached edge parts: site row, edge row, from and to fractions."""

    site: np.ndarray
    edge: np.ndarray
    f0: np.ndarray
    f1: np.ndarray


def _own_edge(
    frac: float, left: float, length: float, ends: tuple[float, float]
) -> list[tuple[float, float]]:
    """The union of the site's own reach along its edge (`left` metres from its point) and the parts reached
    from the edge's ends (fractions [0, ends[0]] and [1 − ends[1], 1])."""
    spans = []
    if left > 0 and length > 0:
        spans.append((max(0.0, frac - left / length), min(1.0, frac + left / length)))
    if ends[0] > 0:
        spans.append((0.0, ends[0]))
    if ends[1] > 0:
        spans.append((1.0 - ends[1], 1.0))
    spans.sort()
    merged: list[tuple[float, float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def reached_parts(cov: Coverage, threshold_m: float) -> Parts:
    """Every reached edge part of every site within `threshold_m`."""
    g, pts = cov.graph, cov.site_points
    length = g.length
    left_u = threshold_m - cov.node_dist[:, g.u]
    left_v = threshold_m - cov.node_dist[:, g.v]
    safe = np.where(length > 0, length, 1.0)
    fu = np.clip(np.where(length > 0, left_u / safe, (left_u >= 0) * 1.0), 0, 1)
    fv = np.clip(np.where(length > 0, left_v / safe, (left_v >= 0) * 1.0), 0, 1)
    whole = fu + fv >= 1
    own = np.zeros_like(whole)
    has_edge = pts.edge_row >= 0
    own[np.flatnonzero(has_edge), pts.edge_row[has_edge]] = True
    site, edge, f0, f1 = [], [], [], []
    for cond, a, b in (
        (whole & ~own, 0.0, 1.0),
        (~whole & ~own & (fu > 0), 0.0, fu),
        (~whole & ~own & (fv > 0), 1.0 - fv, 1.0),
    ):
        s, e = np.nonzero(cond)
        site.append(s)
        edge.append(e)
        f0.append(np.broadcast_to(a, cond.shape)[s, e] if np.ndim(a) else np.full(len(s), a))
        f1.append(np.broadcast_to(b, cond.shape)[s, e] if np.ndim(b) else np.full(len(s), b))
    for k in np.flatnonzero(has_edge):
        row = pts.edge_row[k]
        spans = _own_edge(pts.frac[k], threshold_m - pts.snap_m[k], length[row], (fu[k, row], fv[k, row]))
        for a, b in spans:
            site.append(np.array([k]))
            edge.append(np.array([row]))
            f0.append(np.array([a]))
            f1.append(np.array([b]))
    parts = Parts(*(np.concatenate(x) if x else np.zeros(0) for x in (site, edge, f0, f1)))
    keep = parts.f1 > parts.f0
    return Parts(parts.site[keep].astype(int), parts.edge[keep].astype(int), parts.f0[keep], parts.f1[keep])


def site_lengths(cov: Coverage, parts: Parts) -> list[dict[str, Any]]:
    """Per site: reached network metres, and for comparison the metres of the edges reached whole and of the
    edges reached only partly (their full lengths)."""
    n = len(cov.sites)
    length = cov.graph.length[parts.edge]
    reached = np.bincount(parts.site, weights=length * (parts.f1 - parts.f0), minlength=n)
    per_edge: dict[tuple[int, int], float] = {}
    for s, e, a, b in zip(parts.site, parts.edge, parts.f0, parts.f1, strict=True):
        per_edge[(int(s), int(e))] = per_edge.get((int(s), int(e)), 0.0) + float(b - a)
    full = np.zeros(n)
    partial = np.zeros(n)
    n_full = np.zeros(n, int)
    n_partial = np.zeros(n, int)
    for (s, e), share in per_edge.items():
        if share >= 1 - 1e-9:
            full[s] += cov.graph.length[e]
            n_full[s] += 1
        else:
            partial[s] += cov.graph.length[e]
            n_partial[s] += 1
    return [
        {
            "reached_m": round(float(reached[k]), 1),
            "whole_edges_m": round(float(full[k]), 1),
            "partial_edges_m": round(float(partial[k]), 1),
            "whole_edges": int(n_full[k]),
            "partial_edges": int(n_partial[k]),
        }
        for k in range(n)
    ]


def service_areas(
    session: Session, cov: Coverage, *, threshold_m: float, buffer_m: float, srid: int, kinds: list[str]
) -> list[dict[str, Any]]:
    """Per site of `kinds`: its reached network length and its service-area polygon (GeoJSON, WGS 84)."""
    parts = reached_parts(cov, threshold_m)
    lengths = site_lengths(cov, parts)
    chosen = cov.sites["kind"].isin(kinds).to_numpy()
    keep = chosen[parts.site]
    site_ids = cov.sites["id"].to_numpy()
    params = {
        "site_ids": site_ids[parts.site[keep]].tolist(),
        "edge_ids": cov.graph.edge_ids[parts.edge[keep]].tolist(),
        "f0": parts.f0[keep].tolist(),
        "f1": parts.f1[keep].tolist(),
        "buffer_m": buffer_m,
        "srid": srid,
    }
    polygons = {r.site_id: (r.geometry, r.area_m2) for r in sql.run(session, AREAS, params)}
    out = []
    for k, site in enumerate(cov.sites.itertuples()):
        if not chosen[k]:
            continue
        geometry, area = polygons.get(site.id, (None, 0.0))
        out.append(
            {"site": site_dict(site), "geometry": geometry, "area_m2": round(float(area), 1), **lengths[k]}
        )
    return out


def site_dict(site: Any) -> dict[str, Any]:
    """A site as the coverage answers show it."""
    return {
        "id": site.ext_id,
        "kind": site.kind,
        "name": site.name,
        "community_code": site.community_code,
        "lon": site.lon,
        "lat": site.lat,
        "snap_m": None if np.isnan(site.snap_m) else round(float(site.snap_m), 1),
        "on_network": bool(site.on_network),
        "far_from_network": bool(site.far_from_network),
    }
