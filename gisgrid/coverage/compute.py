"""One coverage computation on demand: the network and the places read once, every site's walking distances,
and every building's distance to the nearest site of each kind (along the network and in a straight line).

Nothing is stored: on the demo set the whole computation takes well under a second
(benchmarks/results/coverage.md), so a result is never stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.coverage import network
from gisgrid.coverage.thresholds import Threshold
from gisgrid.db import sql
from gisgrid.db.models.places import SITE_KINDS
from gisgrid.errors import InvalidInput

PLACES = sql.load(__file__, "places.sql")
KINDS = ("any", *SITE_KINDS)
KIND_TITLES = {
    "any": "任一站点 any site",
    "centre": "便民服务中心 centre",
    "community": "社区阵地 community site",
    "outpost": "小区阵地 outpost",
}


@dataclass
class Coverage:
    """Everything a coverage answer is drawn from."""

    threshold: Threshold
    graph: network.Graph
    sites: (
        pd.DataFrame
    )  # id, ext_id, kind, name, community_code, lon, lat, snap_m, on_network, far_from_network
    site_points: network.Snapped
    building_points: network.Snapped
    node_dist: np.ndarray  # sites × nodes, walking metres from the site point
    buildings: pd.DataFrame  # one row per building, distances per kind (NaN: unreachable)
    engine: str
    site_flag_m: float
    notes: list[str] = field(default_factory=list)
    data_as_of: datetime | None = None  # when the data it was computed from last changed (answers.run)


def parse_kinds(values: list[str] | None, *, field_name: str = "kind") -> list[str]:
    """Site kinds asked for (default all); InvalidInput naming an unknown one and the accepted ones."""
    if not values:
        return list(SITE_KINDS)
    for value in values:
        if value not in SITE_KINDS:
            raise InvalidInput(
                f"Unknown site kind {value!r}.",
                field=field_name,
                value=value,
                expected="one of: " + ", ".join(SITE_KINDS),
            )
    return list(dict.fromkeys(values))


def compute(
    session: Session,
    *,
    threshold: Threshold,
    srid: int,
    site_flag_m: float = 200.0,
    engine: str = network.ENGINE,
) -> Coverage:
    """Walking distances from every site and every building's nearest site of each kind."""
    graph = network.load_graph(session, srid=srid)
    b_points, s_points = network.snap_points(session, graph, srid=srid)
    sites = _sites(session, s_points, site_flag_m=site_flag_m)
    dist = network.node_distances(session, graph, s_points, engine=engine)
    buildings = _buildings(session, graph, b_points, s_points, sites, dist)
    return Coverage(threshold, graph, sites, s_points, b_points, dist, buildings, engine, site_flag_m)


def _sites(session: Session, points: network.Snapped, *, site_flag_m: float) -> pd.DataFrame:
    rows = session.execute(
        text(
            "SELECT id, ext_id, kind, name, community_code, ST_X(geom) AS lon, ST_Y(geom) AS lat "
            "FROM service_site ORDER BY id"
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["id", "ext_id", "kind", "name", "community_code", "lon", "lat"])
    frame["snap_m"] = np.where(np.isfinite(points.snap_m), points.snap_m, np.nan)
    frame["on_network"] = points.edge_row >= 0
    # A site far from every edge is still snapped (its walk to the network counts), but flagged for checking.
    frame["far_from_network"] = ~frame["on_network"] | (frame["snap_m"] > site_flag_m)
    return frame


def building_site_distances(
    graph: network.Graph, buildings: network.Snapped, sites: network.Snapped, dist: np.ndarray
) -> np.ndarray:
    """Walking metres sites × buildings: snap legs of both, along the network, or along a shared edge."""
    n_sites, n_build = len(sites.ids), len(buildings.ids)
    out = np.full((n_sites, n_build), np.inf)
    ok = buildings.edge_row >= 0
    if not ok.any() or n_sites == 0:
        return out
    row = buildings.edge_row[ok]
    frac, length = buildings.frac[ok], graph.length[row]
    via_u = dist[:, graph.u[row]] + frac * length
    via_v = dist[:, graph.v[row]] + (1 - frac) * length
    best = np.minimum(via_u, via_v)
    # A building on its site's own edge walks straight along it, not round by a node.
    same = sites.edge_row[:, None] == row[None, :]
    along = sites.snap_m[:, None] + np.abs(frac[None, :] - sites.frac[:, None]) * length[None, :]
    best = np.where(same, np.minimum(best, along), best)
    out[:, ok] = best + buildings.snap_m[ok][None, :]
    return out


def _buildings(
    session: Session,
    graph: network.Graph,
    points: network.Snapped,
    site_points: network.Snapped,
    sites: pd.DataFrame,
    dist: np.ndarray,
) -> pd.DataFrame:
    frame = pd.DataFrame(sql.run(session, PLACES, {}).mappings().all())
    frame = _with_grid_path(session, frame)
    frame["population"] = _population(frame)
    frame["snap_m"] = np.where(np.isfinite(points.snap_m), points.snap_m, np.nan)
    walk = building_site_distances(graph, points, site_points, dist)
    dx = points.x[None, :] - site_points.x[:, None]
    dy = points.y[None, :] - site_points.y[:, None]
    straight = np.hypot(dx, dy)
    kinds = sites["kind"].to_numpy()
    ext = sites["ext_id"].to_numpy()
    for kind in KINDS:
        mask = np.ones(len(kinds), bool) if kind == "any" else kinds == kind
        nearest(frame, f"walk_{kind}", walk[mask], ext[mask])
        nearest(frame, f"straight_{kind}", straight[mask], ext[mask])
    return frame


def nearest(frame: pd.DataFrame, name: str, matrix: np.ndarray, ext_ids: np.ndarray) -> None:
    """Columns `{name}_m` (NaN: no site reached) and `{name}_site` (the nearest site's id)."""
    if matrix.shape[0] == 0:
        frame[f"{name}_m"] = np.nan
        frame[f"{name}_site"] = None
        return
    arg = matrix.argmin(axis=0)
    best = matrix[arg, np.arange(matrix.shape[1])]
    reached = np.isfinite(best)
    frame[f"{name}_m"] = np.where(reached, best, np.nan)
    frame[f"{name}_site"] = np.where(reached, ext_ids[arg], None)


def _with_grid_path(session: Session, frame: pd.DataFrame) -> pd.DataFrame:
    """general_code, community_code and subdistrict_code of each building's current micro-grid."""
    units = session.execute(text("SELECT code, parent_code FROM grid_unit WHERE valid_to IS NULL")).all()
    parent = {code: up for code, up in units}
    frame["general_code"] = frame["micro_code"].map(parent)
    frame["community_code"] = frame["general_code"].map(parent)
    frame["subdistrict_code"] = frame["community_code"].map(parent)
    return frame


def _population(frame: pd.DataFrame) -> np.ndarray:
    """Each building's share of its compound's population, by households, in whole people that add up to the
    compound's figure (largest remainder), so population sums agree across levels."""
    hh = frame["households"].to_numpy(dtype=float)
    total_hh = frame["compound_households"].to_numpy(dtype=float)
    n_in = frame.groupby("compound_id")["id"].transform("size").to_numpy(dtype=float)
    share = np.where(total_hh > 0, hh / np.where(total_hh > 0, total_hh, 1), 1 / n_in)
    exact = share * frame["compound_population"].to_numpy(dtype=float)
    base = np.floor(exact)
    work = pd.DataFrame({"c": frame["compound_id"], "base": base, "rest": exact - base})
    missing = (frame["compound_population"] - work.groupby("c")["base"].transform("sum")).to_numpy()
    rank = work.sort_values("rest", ascending=False, kind="stable").groupby("c").cumcount()
    extra = rank.reindex(work.index).to_numpy() < missing
    return (base + extra).astype(np.int64)
