"""Auto-partition: propose micro-grids of a general grid with 30–100 households each (GISGRID_MICRO_MIN/MAX_
HOUSEHOLDS) whose borders follow the streets and never cut a compound.

The building blocks are the general grid's compounds, each with its region (the area nearer to it than to any
other compound: gisgrid.grids.edits.place_regions, so borders run along street midlines). Neighbouring regions
(sharing an edge) form the contiguity graph; households are the weights. The regions are grouped by
max-p-regions (spopt's MaxPHeuristic: as many regions as possible, each reaching the household floor, grown
from contiguous neighbours, minimising the spread of the members' centre points, which keeps the parts
compact). A group over the household ceiling is split once more by the same method on its own compounds where it
can be; a compound above the ceiling on its own stays one micro-grid (it cannot be cut) and is a warning.

The proposal is not saved: it comes with its figures beside the current division's (households spread,
compactness, compounds cut) and with the `partition` operation that a change set saves (the planner may move
compounds between the parts first).
"""

from __future__ import annotations

import math
import statistics
import warnings
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.config import GridRuleSettings
from gisgrid.errors import InvalidInput
from gisgrid.grids import edits
from gisgrid.grids.edits import Workspace

# Regions sharing less border than this (metres) do not count as neighbours (a corner is no street frontage).
MIN_SHARED_M = 1.0
# Max-p construction rounds (spopt's default is 99): the best of 20 was as good on the demo general grids, at a
# fifth of the time.
CONSTRUCTION_TRIES = 20


def _households(session: Session, ids: list[str]) -> dict[str, tuple[int, int, str]]:
    rows = session.execute(
        text("SELECT ext_id, households, population, name FROM compound WHERE ext_id = ANY(:ids)"),
        {"ids": ids},
    ).all()
    return {e: (int(h), int(p), n) for e, h, p, n in rows}


def _groups(
    ids: list[str],
    regions: dict[str, BaseGeometry],
    weights: dict[str, int],
    ws: Workspace,
    floor: int,
    seed: int,
) -> list[list[str]]:
    """Max-p-regions over the compounds `ids` (households ≥ floor per group)."""
    if sum(weights[i] for i in ids) < 2 * floor or len(ids) < 2:
        return [ids]
    import geopandas as gpd
    import numpy as np
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    neighbours: dict[int, list[int]] = {k: [] for k in range(len(ids))}
    metric = [ws.metric(regions[i]) for i in ids]
    tree = shapely.STRtree(metric)
    for a, geom in enumerate(metric):
        for b in tree.query(geom, predicate="intersects"):
            b = int(b)
            if b <= a:
                continue
            if shapely.intersection(geom.boundary, metric[b].boundary).length >= MIN_SHARED_M:
                neighbours[a].append(b)
                neighbours[b].append(a)
    centres = [g.centroid for g in metric]
    frame = gpd.GeoDataFrame(
        {
            "households": [weights[i] for i in ids],
            "x": [c.x for c in centres],
            "y": [c.y for c in centres],
        },
        geometry=metric,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal warns about islands; they become groups of their own
        w = W(neighbours, silence_warnings=True)
        np.random.seed(seed)  # the heuristic draws its seeds from numpy's global generator
        model = MaxPHeuristic(
            frame, w, ["x", "y"], "households", floor, top_n=2, max_iterations_construction=CONSTRUCTION_TRIES
        )
        model.solve()
    labels = list(model.labels_)
    groups: dict[int, list[str]] = {}
    for ext_id, label in zip(ids, labels, strict=True):
        groups.setdefault(int(label), []).append(ext_id)
    return list(groups.values())


def _compactness(geom: BaseGeometry, ws: Workspace) -> float:
    metric = ws.metric(geom)
    return 4 * math.pi * metric.area / metric.length**2 if metric.length else 0.0


def _figures(parts: list[dict[str, Any]], rules: GridRuleSettings, cut: int) -> dict[str, Any]:
    households = [p["households"] for p in parts]
    return {
        "micro_grids": len(parts),
        "households_min": min(households) if households else 0,
        "households_max": max(households) if households else 0,
        "households_stdev": round(statistics.pstdev(households), 1) if len(households) > 1 else 0.0,
        "out_of_range": sum(
            1 for h in households if not rules.micro_min_households <= h <= rules.micro_max_households
        ),
        "compactness_mean": round(statistics.fmean(p["compactness"] for p in parts), 3) if parts else 0.0,
        "compounds_cut": cut,
    }


def propose(
    session: Session, *, code: str, actor: Principal, rules: GridRuleSettings, srid: int = 4544, seed: int = 0
) -> dict[str, Any]:
    """A proposed division of general grid `code` into micro-grids, with its figures and the current one's."""
    ws = Workspace(session, actor=actor, rules=rules, srid=srid)
    ws.in_scope(code)
    general = ws.get(code)
    if general.level != "general":
        raise InvalidInput(
            f"{code} 不是总网格 {code} is a {general.level} grid, not a general grid.",
            field="code",
            value=code,
            expected="a general grid's code",
        )
    places = edits.general_compounds(ws, general)
    if not places:
        raise InvalidInput(
            f"{code} 内没有小区 General grid {code} holds no compound to group.",
            field="code",
            value=code,
            expected="a general grid with compounds",
        )
    ids = [e for e, _ in places]
    regions = dict(zip(ids, edits.place_regions(ws, general.geom, [g for _, g in places]), strict=True))
    info = _households(session, ids)
    weights = {i: info[i][0] for i in ids}
    floor, ceiling = rules.micro_min_households, rules.micro_max_households
    groups: list[list[str]] = []
    for group in _groups(ids, regions, weights, ws, floor, seed):
        if sum(weights[i] for i in group) > ceiling and len(group) > 1:
            groups.extend(_groups(group, regions, weights, ws, floor, seed))
        else:
            groups.append(group)
    shapes = edits._faces_by_region(
        general.geom, [shapely.union_all([regions[i] for i in g]) for g in groups]
    )
    parts = []
    for group, shape in sorted(
        zip(groups, shapes, strict=True), key=lambda gs: (round(gs[1].centroid.x, 6), -gs[1].centroid.y)
    ):
        parts.append(
            {
                "compounds": [{"ext_id": i, "name": info[i][2], "households": info[i][0]} for i in group],
                "households": sum(info[i][0] for i in group),
                "population": sum(info[i][1] for i in group),
                "compactness": round(_compactness(shape, ws), 3),
                "contiguous": len(edits._parts(shape)) == 1,
                "geometry": mapping(shapely.set_precision(shape, edits.GRID)),
            }
        )
    current = [
        {
            "code": k.code,
            "name": k.name,
            "households": k.households,
            "population": k.population,
            "compactness": round(_compactness(k.geom, ws), 3),
            "geometry": mapping(k.geom),
        }
        for k in ws.children(code)
    ]
    cut = _compounds_cut(session, code)
    warn = [
        f"{', '.join(c['ext_id'] for c in p['compounds'])}: {p['households']} households, expected {floor}–{ceiling}"
        for p in parts
        if not floor <= p["households"] <= ceiling
    ]
    return {
        "general": code,
        "method": "max-p-regions (spopt MaxPHeuristic) on compound regions, households ≥ "
        f"{floor}; groups over {ceiling} divided again",
        "parts": parts,
        "figures": _figures(parts, rules, 0),
        "current": current,
        "current_figures": _figures(current, rules, cut),
        "warnings": warn,
        "operations": [
            {
                "op": "partition",
                "general": code,
                "parts": [[c["ext_id"] for c in p["compounds"]] for p in parts],
            }
        ],
    }


def _compounds_cut(session: Session, code: str) -> int:
    return int(
        session.execute(
            text(
                "SELECT count(*) FROM compound c WHERE ST_Intersects(c.geom, (SELECT geom FROM grid_unit WHERE "
                "code = :c AND valid_to IS NULL)) AND (SELECT count(*) FROM grid_unit g WHERE g.parent_code = :c "
                "AND g.valid_to IS NULL AND ST_Area(ST_Intersection(g.geom, c.geom)::geography) >= 1) > 1"
            ),
            {"c": code},
        ).scalar_one()
    )
