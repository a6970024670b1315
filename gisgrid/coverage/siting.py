"""Where to open new outposts, and what-ifs on the existing sites.

Siting is the maximal covering location problem (MCLP, Church & ReVelle 1974) solved exactly by spopt's MCLP
(PuLP with the CBC solver PuLP ships). The existing sites are fixed: a building they already cover adds the same
constant to every solution, so the model holds only the buildings they leave uncovered that at least one
candidate reaches, and the candidates — the same optimum as spopt's `predefined_facilities_arr` over every
building and site, with a much smaller model (on the demo set at 300 m: ~150 buildings × ~1,000 candidates).

What-ifs recompute the nearest-site distances with sites closed, moved or added (only the new points are routed;
the other sites' distances are reused) and answer the change in covered households per grid unit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pulp
import shapely
from spopt.locate import MCLP
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.coverage import compute, network, summary
from gisgrid.coverage.compute import Coverage
from gisgrid.crs import parse_crs, projector, to_wgs84
from gisgrid.db.models.places import SITE_KINDS
from gisgrid.errors import InvalidInput

MAX_K = 50
MAX_CANDIDATES = 5000
MAX_CHANGES = 200
AGAINST = ("any", "outpost")
SOLVER_SECONDS = 60

COMPOUND_CANDIDATES = """
SELECT c.ext_id AS key, c.name, ST_X(p.g) AS lon, ST_Y(p.g) AS lat
  FROM compound c
 CROSS JOIN LATERAL (SELECT ST_PointOnSurface(c.geom) AS g) p
 WHERE NOT EXISTS (
        SELECT 1 FROM service_site s
         WHERE s.kind = 'outpost' AND (s.compound_id = c.id OR ST_Covers(c.geom, s.geom)))
 ORDER BY c.ext_id
"""


@dataclass(frozen=True)
class Candidate:
    """A place where an outpost could open (WGS 84)."""

    key: str
    name: str
    lon: float
    lat: float
    source: str  # compound | given


def compound_candidates(session: Session) -> list[Candidate]:
    """Compounds without an outpost, each at a point inside it."""
    return [
        Candidate(str(r.key), r.name, float(r.lon), float(r.lat), "compound")
        for r in session.execute(text(COMPOUND_CANDIDATES))
    ]


def _lon_lat(value: Any, field: str) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) < 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value[:2])
    ):
        raise InvalidInput(
            "坐标无效 Invalid coordinates.", field=field, value=str(value)[:80], expected="[lon, lat] numbers"
        )
    lon, lat = float(value[0]), float(value[1])
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(
            "坐标超出范围 Coordinates out of range.",
            field=field,
            value=f"{lon}, {lat}",
            expected="longitude −180…180 and latitude −90…90",
        )
    return lon, lat


def given_candidates(collection: Any, *, crs: str | None) -> list[Candidate]:
    """Candidates drawn or uploaded by the auditor: a GeoJSON FeatureCollection of points (optional `name`)."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput(
            "候选点须为 GeoJSON 要素集 Candidates must be a GeoJSON FeatureCollection.",
            field="candidates",
            value=str(collection)[:80],
            expected='{"type": "FeatureCollection", "features": [Point features]}',
        )
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidInput(
            "候选点为空 The candidate set is empty.",
            field="candidates.features",
            value="[]",
            expected="at least one Point feature",
        )
    if len(features) > MAX_CANDIDATES:
        raise InvalidInput(
            "候选点过多 Too many candidates.",
            field="candidates.features",
            value=str(len(features)),
            expected=f"at most {MAX_CANDIDATES}",
        )
    input_crs = parse_crs(crs)
    out = []
    for i, feature in enumerate(features):
        field = f"candidates.features[{i}]"
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            raise InvalidInput(
                "候选点须为点 A candidate must be a Point.",
                field=f"{field}.geometry",
                value=str(geometry)[:80],
                expected="a GeoJSON Point",
            )
        lon, lat = to_wgs84(
            *_lon_lat(geometry.get("coordinates"), f"{field}.geometry.coordinates"), input_crs
        )
        props = feature.get("properties") or {}
        name = props.get("name") if isinstance(props, dict) else None
        out.append(
            Candidate(f"C{i + 1}", str(name)[:200] if name else f"候选 candidate {i + 1}", lon, lat, "given")
        )
    return out


def _snap_lon_lat(session: Session, cov: Coverage, lon_lat: list[tuple[float, float]], srid: int) -> Any:
    coords = np.array(lon_lat, dtype=float).reshape(-1, 2)
    metric = projector(srid=srid)(coords)
    return network.snap_new(session, cov.graph, shapely.points(metric), srid=srid)


def _walk_from(session: Session, cov: Coverage, points: network.Snapped) -> np.ndarray:
    """Walking metres points × buildings."""
    dist = network.node_distances(session, cov.graph, points, engine=cov.engine)
    return compute.building_site_distances(cov.graph, cov.building_points, points, dist)


def recommend(
    session: Session,
    cov: Coverage,
    *,
    k: int,
    candidates: list[Candidate],
    against: str,
    srid: int,
    scope_codes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The k candidates that newly cover the most households (exact MCLP), each with its gain."""
    if not 1 <= k <= MAX_K:
        raise InvalidInput(
            "新站点数无效 Invalid number of new outposts.", field="k", value=str(k), expected=f"1…{MAX_K}"
        )
    if against not in AGAINST:
        raise InvalidInput(
            "未知对照站点 Unknown set of existing sites.",
            field="against",
            value=against,
            expected="any (every existing site) or outpost (only outposts)",
        )
    if not candidates:
        raise InvalidInput(
            "候选点为空 The candidate set is empty: every compound has an outpost.",
            field="candidates",
            value="[]",
            expected="at least one candidate (send a FeatureCollection of points)",
        )
    threshold = cov.threshold.metres
    frame = cov.buildings
    in_scope = np.zeros(len(frame), bool)
    in_scope[frame.index.get_indexer(summary.in_scope(frame, scope_codes).index)] = True
    covered = frame[f"walk_{against}_m"].le(threshold).to_numpy()
    points = _snap_lon_lat(session, cov, [(c.lon, c.lat) for c in candidates], srid)
    reach = _walk_from(session, cov, points) <= threshold  # candidates × buildings
    demand = in_scope & ~covered & reach.any(axis=0)
    hh = frame["households"].to_numpy(dtype=np.int64)
    uncovered_hh = int(hh[in_scope & ~covered].sum())
    chosen: list[int] = []
    status = "no_gain"
    if demand.any():
        cost = np.where(reach[:, demand], 0.0, 2.0 * threshold).T  # buildings × candidates
        weights = hh[demand].astype(float)
        model = MCLP.from_cost_matrix(
            cost, weights, service_radius=threshold, p_facilities=min(k, len(candidates))
        )
        model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=SOLVER_SECONDS))
        status = pulp.LpStatus[model.problem.status].lower()
        chosen = [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]
    # A pick that adds nothing (fewer than k sites already cover every household they can) is not recommended.
    picks = [p for p in _gains(chosen, reach, demand, hh) if p["gain_households"] > 0]
    gained = int(sum(p["gain_households"] for p in picks))
    codes = frame["micro_code"].to_numpy()
    return {
        "k": k,
        "against": against,
        "solver": {"name": "spopt MCLP + CBC", "status": status, "time_limit_s": SOLVER_SECONDS},
        "candidates": len(candidates),
        "candidates_reaching_uncovered": int(reach[:, demand].any(axis=1).sum()) if demand.any() else 0,
        "uncovered_households_before": uncovered_hh,
        "newly_covered_households": gained,
        "uncovered_households_after": uncovered_hh - gained,
        "recommendations": [
            {
                **_candidate_dict(candidates[p["index"]], points, p["index"]),
                "rank": n + 1,
                "gain_households": p["gain_households"],
                "reach_households": p["reach_households"],
                "only_here_households": p["only_here_households"],
                "micro_codes": sorted({str(c) for c in codes[p["buildings"]] if c}),
            }
            for n, p in enumerate(picks)
        ],
    }


def _gains(chosen: list[int], reach: np.ndarray, demand: np.ndarray, hh: np.ndarray) -> list[dict[str, Any]]:
    """The chosen sites in the order of their marginal gain (each after the ones before it): gain, reach (every
    uncovered household it covers) and only-here (covered by no other chosen site)."""
    left = demand.copy()
    todo = list(chosen)
    out = []
    while todo:
        best = max(todo, key=lambda j: (int(hh[reach[j] & left].sum()), -j))
        mask = reach[best] & left
        others = np.zeros_like(demand)
        for j in chosen:
            if j != best:
                others |= reach[j]
        out.append(
            {
                "index": best,
                "gain_households": int(hh[mask].sum()),
                "reach_households": int(hh[reach[best] & demand].sum()),
                "only_here_households": int(hh[reach[best] & demand & ~others].sum()),
                "buildings": np.flatnonzero(mask),
            }
        )
        left &= ~reach[best]
        todo.remove(best)
    return out


def _candidate_dict(c: Candidate, points: network.Snapped, j: int) -> dict[str, Any]:
    snap = points.snap_m[j]
    return {
        "key": c.key,
        "name": c.name,
        "source": c.source,
        "lon": round(c.lon, 7),
        "lat": round(c.lat, 7),
        "snap_m": round(float(snap), 1) if np.isfinite(snap) else None,
    }


# --- what-ifs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """Sites closed (by id), moved (id → lon, lat) and opened (kind, name, lon, lat), all WGS 84."""

    close: tuple[str, ...] = ()
    move: tuple[tuple[str, float, float], ...] = ()
    open: tuple[tuple[str, str, float, float], ...] = ()


def parse_scenario(body: dict[str, Any], *, crs: str | None) -> Scenario:
    """A scenario from the API's or the CLI's JSON: {close: [id], move: [{site, lon, lat}], open: [{kind, name,
    lon, lat}]}; coordinates in `crs` (converted to WGS 84 here)."""
    input_crs = parse_crs(crs or "wgs84")
    close = body.get("close") or []
    move = body.get("move") or []
    opened = body.get("open") or []
    for name, value in (("close", close), ("move", move), ("open", opened)):
        if not isinstance(value, list) or len(value) > MAX_CHANGES:
            raise InvalidInput(
                "情景无效 Invalid scenario.",
                field=name,
                value=str(value)[:80],
                expected=f"a list of ≤ {MAX_CHANGES}",
            )
    if not (close or move or opened):
        raise InvalidInput(
            "情景为空 The scenario changes nothing.",
            field="close",
            value="[]",
            expected="at least one site to close, move or open",
        )
    moves = []
    for i, m in enumerate(move):
        if not isinstance(m, dict) or not isinstance(m.get("site"), str):
            raise InvalidInput(
                "迁址须指明站点 A move names its site.",
                field=f"move[{i}].site",
                value=str(m)[:80],
                expected="a site id",
            )
        lon, lat = to_wgs84(*_lon_lat([m.get("lon"), m.get("lat")], f"move[{i}]"), input_crs)
        moves.append((m["site"], lon, lat))
    opens = []
    for i, o in enumerate(opened):
        kind = o.get("kind", "outpost") if isinstance(o, dict) else None
        if kind not in SITE_KINDS:
            raise InvalidInput(
                "未知站点类型 Unknown site kind.",
                field=f"open[{i}].kind",
                value=str(kind),
                expected="one of: " + ", ".join(SITE_KINDS),
            )
        assert isinstance(o, dict)
        lon, lat = to_wgs84(*_lon_lat([o.get("lon"), o.get("lat")], f"open[{i}]"), input_crs)
        opens.append((kind, str(o.get("name") or f"新站点 new site {i + 1}")[:200], lon, lat))
    if not all(isinstance(c, str) for c in close):
        raise InvalidInput(
            "站点编号无效 Invalid site id.", field="close", value=str(close)[:80], expected="site ids"
        )
    return Scenario(tuple(close), tuple(moves), tuple(opens))


def what_if(
    session: Session,
    cov: Coverage,
    scenario: Scenario,
    *,
    level: str,
    srid: int,
    scope_codes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Covered households per unit of `level` before and after the scenario (only units that change)."""
    sites = cov.sites
    ids = sites["ext_id"].tolist()
    for field, wanted in (("close", scenario.close), ("move", [m[0] for m in scenario.move])):
        for site in wanted:
            if site not in ids:
                raise InvalidInput(
                    f"未知站点 Unknown site {site!r}.",
                    field=field,
                    value=site,
                    expected="an existing site's id",
                )
    keep = ~sites["ext_id"].isin([*scenario.close, *[m[0] for m in scenario.move]]).to_numpy()
    new_points = [(lon, lat) for _, lon, lat in scenario.move] + [
        (lon, lat) for *_, lon, lat in scenario.open
    ]
    by_id = sites.set_index("ext_id")
    new_kinds = [str(by_id.loc[m[0], "kind"]) for m in scenario.move] + [o[0] for o in scenario.open]
    new_ids = [m[0] for m in scenario.move] + [f"NEW{i + 1}" for i in range(len(scenario.open))]
    walk_old = compute.building_site_distances(cov.graph, cov.building_points, cov.site_points, cov.node_dist)
    parts = [walk_old[keep]]
    if new_points:
        parts.append(_walk_from(session, cov, _snap_lon_lat(session, cov, new_points, srid)))
    walk = np.vstack(parts)
    kinds = np.array([*sites["kind"].to_numpy()[keep], *new_kinds])
    ext = np.array([*sites["ext_id"].to_numpy()[keep], *new_ids], dtype=object)
    after = cov.buildings.copy()
    for kind in compute.KINDS:
        mask = np.ones(len(kinds), bool) if kind == "any" else kinds == kind
        compute.nearest(after, f"walk_{kind}", walk[mask], ext[mask])
    before_units = {u["code"]: u for u in summary.per_level(cov, level=level, scope_codes=scope_codes)}
    after_cov = replace(cov, buildings=after)
    after_units = {u["code"]: u for u in summary.per_level(after_cov, level=level, scope_codes=scope_codes)}
    names = summary.unit_names(session)
    changes = []
    for code, b in before_units.items():
        a = after_units[code]
        delta = {
            k: a["network"][k]["households"] - b["network"][k]["households"] for k in summary.FIGURE_KINDS
        }
        if any(delta.values()):
            changes.append(
                {
                    "code": code,
                    "name": names.get(code, ""),
                    "households": b["households"],
                    "covered_before": b["network"]["any"]["households"],
                    "covered_after": a["network"]["any"]["households"],
                    "change": delta,
                }
            )
    changes.sort(key=lambda c: (c["change"]["any"], c["code"]))
    total_before = int(sum(u["network"]["any"]["households"] for u in before_units.values()))
    total_after = int(sum(u["network"]["any"]["households"] for u in after_units.values()))
    return {
        "level": level,
        "scenario": {
            "close": list(scenario.close),
            "move": [{"site": s, "lon": lon, "lat": lat} for s, lon, lat in scenario.move],
            "open": [{"kind": k, "name": n, "lon": lon, "lat": lat} for k, n, lon, lat in scenario.open],
        },
        "covered_households_before": total_before,
        "covered_households_after": total_after,
        "change": total_after - total_before,
        "units": changes,
    }
