"""Edits for the planner's page tests, picked from the demo data and checked with the server's own preview (nothing
is written): a shared edge whose middle can move a few metres, a cut through the street between two compounds, two
neighbours to merge — each keeping every micro-grid within the household range, away from the others, and with no
grid or compound vertex near the points the mouse puts down (so the page's snapping leaves them where they are)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.config import GridRuleSettings
from gisgrid.errors import GisGridError
from gisgrid.grids import changesets

RULES = GridRuleSettings()
LonLat = tuple[float, float]


@dataclass
class Reshape:
    """Drag the handle in the middle of segment `segment` of the edge `a` shares with `b` to `target`."""

    a: str
    b: str
    segment: int
    points: int  # vertices of the edge before
    target: LonLat


@dataclass
class Move:
    """Move compound `compound` (clicked at `compound_point`) from micro-grid `home` to its neighbour `to`."""

    home: str
    to: str
    compound: str
    compound_name: str
    compound_point: LonLat


@dataclass
class Split:
    """Cut `code` along the line p1 → p2 (drawn by two clicks)."""

    code: str
    p1: LonLat
    p2: LonLat


def principal(session: Session, username: str) -> Principal:
    """The demo account as the API sees it."""
    row = session.execute(
        text("SELECT id, role, scope_codes FROM app_user WHERE username = :u"), {"u": username}
    ).one()
    return Principal(user_id=row[0], username=username, role=row[1], scope_codes=tuple(row[2] or ()))


def context(session: Session, username: str) -> changesets.Context:
    """The change-set context of a demo account."""
    return changesets.Context(actor=principal(session, username), rules=RULES)


def geom(session: Session, code: str) -> BaseGeometry:
    """The current shape of a grid."""
    raw = session.execute(
        text("SELECT ST_AsBinary(geom) FROM grid_unit WHERE code = :c AND valid_to IS NULL"), {"c": code}
    ).scalar_one()
    return wkb.loads(bytes(raw))


def inner_point(session: Session, code: str, metres: float = 8.0) -> LonLat:
    """A point inside a grid, at least `metres` from its boundary (where a click selects it, not an edge)."""
    row = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(coalesce(nullif(ST_Buffer(geom::geography, "
            ":m)::geometry, 'POLYGON EMPTY'::geometry), geom)) AS p FROM grid_unit "
            "WHERE code = :c AND valid_to IS NULL) s"
        ),
        {"c": code, "m": -metres},
    ).one()
    return float(row[0]), float(row[1])


def _shift(point: LonLat, east_m: float, north_m: float) -> LonLat:
    lon, lat = point
    return lon + east_m / (111_320 * math.cos(math.radians(lat))), lat + north_m / 110_540


def metres_between(a: LonLat, b: LonLat) -> float:
    """Metres between two lon/lat points (a local flat approximation, fine over a few hundred metres)."""
    dx = (b[0] - a[0]) * 111_320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, (b[1] - a[1]) * 110_540)


def clear_of_vertices(session: Session, point: LonLat, metres: float) -> bool:
    """No vertex of a micro-grid or compound within `metres` of `point`."""
    return not session.execute(
        text(
            "WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS g) "
            "SELECT EXISTS (SELECT 1 FROM (SELECT (ST_DumpPoints(t.geom)).geom AS v FROM grid_unit t, p "
            "WHERE t.valid_to IS NULL AND t.level = 'micro' AND t.geom && ST_Expand(p.g, 0.001) "
            "UNION ALL SELECT (ST_DumpPoints(c.geom)).geom FROM compound c, p WHERE c.geom && ST_Expand(p.g, 0.001)"
            ") vs, p WHERE ST_DWithin(vs.v::geography, p.g::geography, :m))"
        ),
        {"x": point[0], "y": point[1], "m": metres},
    ).scalar_one()


def accepted(session: Session, ctx: changesets.Context, ops: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The preview when the server takes `ops` without a household-range warning, else None."""
    try:
        shown = changesets.preview(session, ops, ctx)
    except GisGridError:
        return None
    if any(w["rule"] == "household_range" for w in shown["warnings"]):
        return None
    return shown


def _siblings(session: Session, limit: int = 60) -> list[tuple[str, str, int]]:
    return [
        (a, b, int(s))
        for a, b, s in session.execute(
            text(
                "SELECT a.code, b.code, a.households + b.households FROM grid_unit a JOIN grid_unit b "
                "ON a.parent_code = b.parent_code AND a.code < b.code AND b.level = 'micro' "
                "AND b.valid_to IS NULL AND ST_Relate(a.geom, b.geom, '****1****') "
                "WHERE a.level = 'micro' AND a.valid_to IS NULL ORDER BY a.code, b.code LIMIT :n"
            ),
            {"n": limit},
        ).all()
    ]


def pick_reshape(session: Session, ctx: changesets.Context, *, metres: float = 3.0) -> Reshape:
    """Two sibling micro-grids whose shared edge takes a new vertex `metres` beside the middle of a long segment."""
    for a, b, _ in _siblings(session):
        edges = [e for e in changesets.edges(session, code=a, ctx=ctx)["edges"] if e["neighbour"] == b]
        if len(edges) != 1 or not edges[0]["editable"]:
            continue
        coords = [tuple(c) for c in edges[0]["line"]["coordinates"]]
        for j in range(len(coords) - 1):
            p, q = coords[j], coords[j + 1]
            length = metres_between(p, q)
            if length < 15:
                continue
            mid = ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
            # Perpendicular to the segment, in metres east and north.
            east = (q[0] - p[0]) * 111_320 * math.cos(math.radians(p[1])) / length
            north = (q[1] - p[1]) * 110_540 / length
            for side in (1, -1):
                target = _shift(mid, -north * metres * side, east * metres * side)
                near = _shift(target, 0.4, 0.4)  # the mouse lands within a pixel or two of it
                if clear_of_vertices(session, target, 5.0) and all(
                    accepted(
                        session,
                        ctx,
                        [{"op": "reshape", "a": a, "b": b, "line": [*coords[: j + 1], t, *coords[j + 1 :]]}],
                    )
                    for t in (target, near)
                ):
                    return Reshape(a, b, j, len(coords), target)
    raise AssertionError("no movable shared edge in the demo data")


def _compound_boxes(session: Session, code: str) -> list[tuple[float, float, float, float]]:
    return [
        (float(r[0]), float(r[1]), float(r[2]), float(r[3]))
        for r in session.execute(
            text(
                "SELECT ST_XMin(c.geom), ST_YMin(c.geom), ST_XMax(c.geom), ST_YMax(c.geom) FROM compound c "
                "JOIN grid_unit g ON g.code = :c AND g.valid_to IS NULL AND ST_Intersects(g.geom, c.geom)"
            ),
            {"c": code},
        ).all()
    ]


def _gaps(lows_highs: list[tuple[float, float]], min_gap: float) -> list[float]:
    """Middles of the gaps (wider than `min_gap`) between intervals along one axis."""
    out, reach = [], None
    for lo, hi in sorted(lows_highs):
        if reach is not None and lo - reach > min_gap:
            out.append((lo + reach) / 2)
        reach = hi if reach is None else max(reach, hi)
    return out


def pick_split(session: Session, ctx: changesets.Context, *, away_from: BaseGeometry) -> Split:
    """A micro-grid with two compounds or more, cut straight through the street between them, both parts within
    the household range; far from `away_from`."""
    codes = session.execute(
        text(
            "SELECT g.code FROM grid_unit g WHERE g.level = 'micro' AND g.valid_to IS NULL "
            "AND ST_Distance(g.geom::geography, ST_GeomFromWKB(:away, 4326)::geography) > 150 "
            "AND (SELECT count(*) FROM compound c WHERE ST_Intersects(g.geom, c.geom)) >= 2 "
            "AND g.households >= 60 ORDER BY g.code LIMIT 40"
        ),
        {"away": shapely.to_wkb(away_from)},
    ).scalars()
    margin = 0.00012  # the clicks land ~12 m outside the grid
    for code in codes:
        x0, y0, x1, y1 = geom(session, code).bounds
        boxes = _compound_boxes(session, code)
        lines = [((x, y0 - margin), (x, y1 + margin)) for x in _gaps([(b[0], b[2]) for b in boxes], 0.00003)]
        lines += [((x0 - margin, y), (x1 + margin, y)) for y in _gaps([(b[1], b[3]) for b in boxes], 0.00003)]
        for p1, p2 in lines:
            if not (clear_of_vertices(session, p1, 4.0) and clear_of_vertices(session, p2, 4.0)):
                continue
            shown = accepted(session, ctx, [{"op": "split", "code": code, "line": [p1, p2]}])
            if shown and len(shown["results"][0]["codes"]) == 2:
                return Split(code, p1, p2)
    raise AssertionError("no micro-grid to split through a street in the demo data")


def pick_merge(session: Session, ctx: changesets.Context, *, away_from: BaseGeometry) -> tuple[str, str]:
    """Two neighbouring micro-grids of one general grid with at most 100 households together; far from
    `away_from`."""
    for a, b, households in _siblings(session, limit=2000):
        if households > RULES.micro_max_households:
            continue
        both = shapely.union(geom(session, a), geom(session, b))
        if shapely.distance(both, away_from) * 100_000 < 150:
            continue
        if accepted(session, ctx, [{"op": "merge", "codes": [a, b], "keep": a}]):
            return a, b
    raise AssertionError("no pair of micro-grids to merge in the demo data")


def pick_move(session: Session, ctx: changesets.Context) -> Move:
    """A compound the server moves into the neighbouring micro-grid, every grid staying in the household range."""
    for a, b, _ in _siblings(session, limit=200):
        rows = session.execute(
            text(
                "SELECT c.ext_id, c.name, ST_X(p), ST_Y(p) FROM compound c JOIN grid_unit g ON g.code = :a "
                "AND g.valid_to IS NULL AND ST_Contains(g.geom, ST_PointOnSurface(c.geom)) CROSS JOIN LATERAL "
                "(SELECT ST_PointOnSurface(coalesce(nullif(ST_Buffer(c.geom::geography, -3)::geometry, "
                "'POLYGON EMPTY'::geometry), c.geom)) AS p) s ORDER BY c.ext_id"
            ),
            {"a": a},
        ).all()
        for ext_id, name, x, y in rows:
            op = {"op": "move_place", "kind": "compound", "ext_id": ext_id, "to": b}
            if accepted(session, ctx, [op]):
                return Move(a, b, ext_id, name, (float(x), float(y)))
    raise AssertionError("no compound to move in the demo data")
