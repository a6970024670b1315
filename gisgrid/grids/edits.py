"""Boundary edits: the shared-edge model and the operations a planner draws (issue 11).

Micro-grids are the leaves of the hierarchy and the only polygons a planner draws; a general grid, a community
and the subdistrict are the unions of their children and follow them. Neighbouring micro-grids share their
boundary as one thing: the browser sends one line for the edge between two grids (never two polygons), and the
server cuts the union of the two grids along that line, so both sides get exactly the same vertices and the
outer boundary of the pair does not move. Every operation works like this on the union of the grids it touches
(split: one grid; merge: the grids merged; move: the grid and its neighbour), so no operation can open a gap or
an overlap with any other grid; `check` proves it afterwards on the affected neighbourhood only.

Why not PostGIS Topology (measured, see benchmarks/results/edits.md): loading the 653 micro-grids of the demo
subdistrict into a topology took 4.3–5.6 s (7–9 ms a grid, so about a quarter of an hour for the city's 115k),
against well under 0.3 s for a whole reshape, split or merge, drafted and saved; and the topology would be a
second copy of the boundaries to keep in step with the versioned grid_unit rows, every import and every revert;
its edge functions need the same checks (compounds, parents, households) on top.
The union-and-cut model reads and writes the grid_unit generations directly and touches a handful of polygons.

A `Workspace` holds the units a change set touches: loaded from the current generation on first use, changed in
memory (shapely, WGS 84 coordinates as stored, metric areas in the configured projected CRS), checked, and
written as one generation by gisgrid.grids.changesets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass, field
from typing import Any

import shapely
import shapely.errors
import shapely.geometry
from shapely import wkb
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.config import GridRuleSettings
from gisgrid.crs import projector
from gisgrid.db.models import GridUnit
from gisgrid.errors import Forbidden, InvalidInput, NotFound

# Areas below this are floating-point noise from cutting along shared edges, not a real gap or overlap (m²).
NOISE_M2 = 1e-4
# Compound/building outlines are sampled every this many metres for the nearest-place partition of a grid.
PLACE_SAMPLE_M = 4.0
# Boundaries are kept on a grid of 1e-7° (about 1 cm), the precision they are stored, drawn and exported with:
# every overlay runs with this grid size (snap-rounding), so a cut puts the same node on both sides.
GRID = 1e-7
# Where a point counts as lying on a boundary (degrees): a node rounded to the grid is within 0.71 GRID of it.
ON_LINE_DEG = 1.5e-7
OPERATIONS = (
    "reshape",
    "split",
    "merge",
    "move_place",
    "move_grid",
    "partition",
    "special_create",
    "special_reshape",
    "special_retire",
    "rename",
    "assign_worker",
    "restore",
)
# Compounds and buildings: one by its id, and those meeting an area (the table name is never from input).
PLACE_SQL = {
    table: {
        "one": f"SELECT ST_AsBinary(geom) FROM {table} WHERE ext_id = :e",  # noqa: S608
        "in": f"SELECT ext_id, ST_AsBinary(geom) FROM {table} "  # noqa: S608
        "WHERE geom && ST_GeomFromWKB(:g, 4326) AND ST_Intersects(geom, ST_GeomFromWKB(:g, 4326))",
    }
    for table in ("compound", "building")
}
LEVEL_BELOW = {"subdistrict": "community", "community": "general", "general": "micro"}


class EditRefused(InvalidInput):
    """An edit breaks a rule or cannot be drawn: a 422 naming the rule, the grids and where (a GeoJSON point)."""

    code = "edit_refused"


def refuse(
    rule: str,
    message: str,
    *,
    field: str = "operations",
    value: Any = None,
    expected: str,
    where: BaseGeometry | None = None,
    codes: Sequence[str] = (),
    op: int | None = None,
) -> EditRefused:
    """The error of a refused edit (raise it)."""
    details: dict[str, Any] = {"rule": rule, "codes": list(codes)}
    if where is not None and not where.is_empty:
        details["location"] = mapping(where.representative_point())
    if op is not None:
        details["operation"] = op
    return EditRefused(message, field=field, value=value, expected=expected, details=details)


@dataclass
class Unit:
    """A grid unit in a workspace: as loaded, or as an edit left it."""

    code: str
    level: str
    parent_code: str | None
    name: str
    name_en: str | None
    households: int
    population: int
    geom: BaseGeometry
    version: int = 0  # the version in force when loaded; 0 for a unit the change set creates
    restored_from: int | None = None  # a revert: the grid_unit row whose state this is


@dataclass
class Special:
    """A special grid (法治格, 关爱格 …) overlaying the hierarchy, as the change set has it."""

    code: str
    kind: str
    name: str
    community_code: str | None
    geom: BaseGeometry
    version: int = 0  # 0: created by the change set
    retired: bool = False
    revived: bool = False  # a revert bringing back a retired special grid


@dataclass
class Issue:
    """A rule an edited state breaks (error) or should be looked at (warning)."""

    rule: str
    severity: str
    code: str | None
    other: str | None
    detail: str
    where: BaseGeometry | None = None

    def public(self) -> dict[str, Any]:
        """As JSON, with the location as a GeoJSON point."""
        return {
            "rule": self.rule,
            "title": RULES.get(self.rule, self.rule),
            "severity": self.severity,
            "code": self.code,
            "other": self.other,
            "detail": self.detail,
            "location": mapping(self.where.representative_point())
            if self.where is not None and not self.where.is_empty
            else None,
        }


RULES = {
    "invalid_geometry": "几何无效 invalid geometry",
    "overlap": "同级重叠 overlap between neighbours",
    "gap": "出现空隙 the edited grids no longer cover the same area",
    "sliver": "碎片 a piece smaller than the sliver limit",
    "outside_parent": "超出父级 grid outside its parent",
    "compound_split": "小区被切分 compound cut across micro-grids",
    "building_split": "楼栋被切分 building cut across micro-grids",
    "household_range": "户数超范围 micro-grid households out of range",
    "no_worker": "无网格员 micro-grid without a worker",
    "worker_without_grid": "网格员无网格 worker left without a grid",
    "empty_parent": "父级无下级 a grid left without children",
}


@dataclass
class WorkerChange:
    """One worker's grids before and after the change set."""

    worker_id: int
    ext_id: str
    name: str
    before: list[str]
    after: list[str]


class Workspace:
    """The units one change set touches, changed in memory and checked before anything is written."""

    def __init__(
        self,
        session: Session,
        *,
        actor: Principal,
        rules: GridRuleSettings,
        srid: int = 4544,
        lock: bool = False,
    ) -> None:
        self.session = session
        self.actor = actor
        self.rules = rules
        self.srid = srid
        self.lock = lock
        self.units: dict[str, Unit] = {}
        self.before: dict[str, Unit] = {}  # loaded units as they were (current generation)
        self.retired: set[str] = set()
        self.created: list[str] = []  # codes the change set creates, in order
        self.changed: set[str] = set()  # loaded units whose geometry or attributes changed
        self.dirty_parents: set[str] = set()
        self.recoded: dict[str, str] = {}  # old code -> new code (moves)
        self.notes: list[str] = []
        self.nodes: list[Point] = []  # boundary nodes cuts added (also put into the grids sharing them)
        self.specials: dict[str, Special] = {}  # special grids the change set created, reshaped or retired
        self.specials_before: dict[str, Special] = {}
        self._to_metric = projector(srid=srid)
        self._workers: dict[int, WorkerChange] | None = None
        self._restored_generations: list[int] = []

    # -- reading -------------------------------------------------------------------------------------------

    def metric(self, geom: BaseGeometry) -> BaseGeometry:
        """The geometry in the metric CRS."""
        return shapely.transform(geom, self._to_metric)

    def area_m2(self, geom: BaseGeometry) -> float:
        """Area in m²."""
        return 0.0 if geom.is_empty else float(self.metric(geom).area)

    def length_m(self, geom: BaseGeometry) -> float:
        """Length in metres."""
        return 0.0 if geom.is_empty else float(self.metric(geom).length)

    def _row(self, code: str) -> GridUnit | None:
        stmt = select(GridUnit).where(GridUnit.code == code, GridUnit.valid_to.is_(None))
        if self.lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def _load(self, row: GridUnit) -> Unit:
        geom = wkb.loads(bytes(self.session.execute(select(func.ST_AsBinary(row.geom))).scalar_one()))
        unit = Unit(
            code=row.code,
            level=row.level,
            parent_code=row.parent_code,
            name=row.name,
            name_en=row.name_en,
            households=row.households,
            population=row.population,
            geom=_polygonal(geom),
            version=row.version,
        )
        self.units[row.code] = unit
        self.before[row.code] = copy(unit)
        return unit

    def get(self, code: str, *, op: int | None = None) -> Unit:
        """The unit of `code` as the change set has it so far (loaded on first use)."""
        if code in self.retired:
            raise refuse(
                "retired",
                f"网格 {code} 已在本变更中撤销 Grid {code} is retired earlier in this change set.",
                value=code,
                expected="a grid in force after the earlier operations",
                codes=[code],
                op=op,
            )
        if code in self.units:
            return self.units[code]
        row = self._row(code)
        if row is None:
            raise NotFound(
                f"没有该网格 No current grid unit {code!r}.",
                field="code",
                value=code,
                expected="the code of a grid in force now",
            )
        return self._load(row)

    def in_scope(self, *codes: str, op: int | None = None) -> None:
        """Refuse (403) a grid outside the actor's community scope."""
        for code in codes:
            if not self.actor.in_scope(code):
                raise Forbidden(
                    f"网格 {code} 不在您的管辖范围 Grid {code} is outside your scope.",
                    field="code",
                    value=code,
                    expected="a grid inside " + ", ".join(self.actor.scope_codes),
                    details={"operation": op} if op is not None else None,
                )

    def children(self, parent: str) -> list[Unit]:
        """The current children of `parent` as the change set has them."""
        rows = self.session.scalars(
            select(GridUnit.code).where(GridUnit.parent_code == parent, GridUnit.valid_to.is_(None))
        ).all()
        for code in rows:
            if code not in self.units and code not in self.retired:
                self.get(code)
        return sorted(
            (u for c, u in self.units.items() if u.parent_code == parent and c not in self.retired),
            key=lambda u: u.code,
        )

    def neighbours(self, geom: BaseGeometry, level: str) -> list[Unit]:
        """Units of `level` whose geometry (as the change set has it) touches `geom`, loaded into the workspace."""
        rows = self.session.execute(
            text(
                "SELECT code FROM grid_unit WHERE valid_to IS NULL AND level = :level "
                "AND geom && ST_Expand(ST_GeomFromWKB(:g, 4326), 1e-7) "
                "AND ST_DWithin(geom, ST_GeomFromWKB(:g, 4326), 1e-7)"
            ),
            {"level": level, "g": shapely.to_wkb(geom)},
        ).scalars()
        out = []
        for code in rows:
            if code in self.retired:
                continue
            out.append(self.get(code))
        seen = {u.code for u in out}
        out.extend(
            u
            for c, u in self.units.items()
            if u.level == level and c not in seen and c not in self.retired and u.geom.distance(geom) < 1e-7
        )
        return out

    def allocate_code(self, parent: str) -> str:
        """The next free code under `parent`: one more than the highest number ever used there (current,
        retired, or taken earlier in this change set); retired codes are never used again."""
        if self.lock:  # two splits under one parent take their numbers one after the other
            self.session.execute(
                select(GridUnit.id)
                .where(GridUnit.code == parent, GridUnit.valid_to.is_(None))
                .with_for_update()
            ).all()
        used = self.session.scalar(
            text(
                "SELECT max(substr(code, length(:p) + 1)::int) FROM grid_unit "
                "WHERE parent_code = :p AND code ~ ('^' || :p || '[0-9]{3}$')"
            ),
            {"p": parent},
        )
        mine = [
            int(c[len(parent) :]) for c in self.created if c.startswith(parent) and len(c) == len(parent) + 3
        ]
        number = max([used or 0, *mine]) + 1
        if number > 999:
            raise refuse(
                "codes_exhausted",
                f"{parent} 下已无可用编码 No free code left under {parent} (999 used).",
                value=parent,
                expected="a parent with fewer than 999 codes used",
                codes=[parent],
            )
        return f"{parent}{number:03d}"

    # -- writing in memory ---------------------------------------------------------------------------------

    def set_geom(self, unit: Unit, geom: BaseGeometry) -> None:
        """Give a unit a new shape."""
        unit.geom = _polygonal(geom)
        self._touch(unit)

    def _touch(self, unit: Unit) -> None:
        if unit.code not in self.created:
            self.changed.add(unit.code)

    def create(self, unit: Unit) -> Unit:
        """Add a unit the change set creates."""
        self.units[unit.code] = unit
        self.created.append(unit.code)
        return unit

    def retire(self, code: str) -> None:
        """End a unit (or drop one this change set created)."""
        if code in self.created:
            self.created.remove(code)
            del self.units[code]
        else:
            self.retired.add(code)
            self.changed.discard(code)
            self.units.pop(code, None)

    def current(self) -> dict[str, Unit]:
        """Units in force after the change set (of those it touched or loaded)."""
        return {c: u for c, u in self.units.items() if c not in self.retired}

    # -- workers -------------------------------------------------------------------------------------------

    def workers(self) -> dict[int, WorkerChange]:
        """Workers of every grid the change set touched, with their grids before and after."""
        if self._workers is None:
            self._workers = {}
        codes = sorted(set(self.before) | self.retired | set(self.units) | set(self.specials))
        if codes:
            rows = self.session.execute(
                text(
                    "SELECT w.id, w.ext_id, w.name, array_agg(g.grid_code ORDER BY g.grid_code) AS codes "
                    "FROM worker w JOIN worker_grid g ON g.worker_id = w.id "
                    "WHERE w.id IN (SELECT worker_id FROM worker_grid WHERE grid_code = ANY(:codes)) "
                    "GROUP BY w.id, w.ext_id, w.name"
                ),
                {"codes": codes},
            ).all()
            for wid, ext_id, name, wcodes in rows:
                if wid not in self._workers:
                    self._workers[wid] = WorkerChange(wid, ext_id, name, list(wcodes), list(wcodes))
        return self._workers

    def worker_by_ext_id(self, ext_id: str, *, op: int | None = None) -> WorkerChange:
        """A worker (by external id) in the workspace's worker changes."""
        row = self.session.execute(
            text(
                "SELECT w.id, w.ext_id, w.name, coalesce(array_agg(g.grid_code ORDER BY g.grid_code) "
                "FILTER (WHERE g.grid_code IS NOT NULL), '{}') FROM worker w LEFT JOIN worker_grid g "
                "ON g.worker_id = w.id WHERE w.ext_id = :e GROUP BY w.id, w.ext_id, w.name"
            ),
            {"e": ext_id},
        ).first()
        if row is None:
            raise NotFound(
                f"没有该网格员 No worker {ext_id!r}.",
                field="worker",
                value=ext_id,
                expected="the id of a worker (GET /api/layers/workers)",
                details={"operation": op} if op is not None else None,
            )
        workers = self.workers()
        if row[0] not in workers:
            workers[row[0]] = WorkerChange(row[0], row[1], row[2], list(row[3]), list(row[3]))
        return workers[row[0]]

    def move_workers(self, old: str, new: str | None) -> None:
        """Workers of `old` serve `new` instead (None: they lose `old`)."""
        for w in self.workers().values():
            if old in w.after:
                w.after = sorted({c for c in w.after if c != old} | ({new} if new else set()))


# -- geometry helpers ------------------------------------------------------------------------------------------


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygons of a geometry (overlays can return stray lines and points), as one geometry."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    polys: list[Polygon] = []
    for part in getattr(geom, "geoms", [geom]):
        if isinstance(part, Polygon):
            polys.append(part)
        elif isinstance(part, MultiPolygon):
            polys.extend(part.geoms)
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _parts(geom: BaseGeometry) -> list[Polygon]:
    return list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom] if isinstance(geom, Polygon) else []


def parse_line(value: Any, *, op: int, field: str = "line") -> LineString:
    """A line drawn on the map: [[lon, lat], …] or a GeoJSON LineString, in WGS 84, simple and finite."""
    coords = value.get("coordinates") if isinstance(value, dict) else value
    expected = "a line as [[lon, lat], …] (WGS 84, at least 2 points, not crossing itself)"
    if not isinstance(coords, list) or len(coords) < 2 or len(coords) > 10_000:
        raise refuse(
            "bad_line",
            "线无效 The line needs 2 to 10,000 points.",
            field=field,
            value=str(value)[:200],
            expected=expected,
            op=op,
        )
    pts: list[tuple[float, float]] = []
    for p in coords:
        if (
            not isinstance(p, list | tuple)
            or len(p) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in p[:2])
            or not all(math.isfinite(v) for v in p[:2])
            or not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90)
        ):
            raise refuse(
                "bad_line",
                f"坐标无效 Bad point {str(p)[:80]} in the line.",
                field=field,
                value=str(p)[:80],
                expected=expected,
                op=op,
            )
        xy = (round(float(p[0]), 7), round(float(p[1]), 7))
        if not pts or pts[-1] != xy:
            pts.append(xy)
    if len(pts) < 2:
        raise refuse(
            "bad_line",
            "线的点重合 The line's points are all the same.",
            field=field,
            value=str(value)[:200],
            expected=expected,
            op=op,
        )
    line = LineString(pts)
    if not line.is_simple:
        where = _self_crossing(line)
        raise refuse(
            "self_intersection",
            "线自相交 The line crosses itself.",
            field=field,
            value=str(value)[:200],
            expected=expected,
            where=where,
            op=op,
        )
    return line


SNAP_SQL = """
SELECT ST_AsBinary(ST_Collect(p)) FROM (
    SELECT (ST_DumpPoints(geom)).geom AS p FROM walk_edge WHERE geom && ST_Expand(ST_GeomFromWKB(:g, 4326), :d)
    UNION ALL
    SELECT (ST_DumpPoints(geom)).geom FROM compound WHERE geom && ST_Expand(ST_GeomFromWKB(:g, 4326), :d)
    UNION ALL
    SELECT (ST_DumpPoints(geom)).geom FROM grid_unit
     WHERE valid_to IS NULL AND level = 'micro' AND geom && ST_Expand(ST_GeomFromWKB(:g, 4326), :d)
) v WHERE ST_DWithin(p, ST_GeomFromWKB(:g, 4326), :d)
"""


def snap_line(ws: Workspace, line: LineString) -> LineString:
    """The drawn line with each vertex within GISGRID_EDIT_SNAP_M metres of a vertex of a street or path, a
    compound outline or a micro-grid moved onto it (the page snaps in pixels while drawing; this is the same in
    metres, for lines from anywhere)."""
    deg = ws.rules.edit_snap_m / 111_320 / max(math.cos(math.radians(line.centroid.y)), 0.1)
    # Without parallel workers: starting them cost ~90 ms of the query's ~115 ms on the demo set, for a handful
    # of index lookups (benchmarks/results/edits.md); the setting goes back at once, for this query only.
    before = ws.session.execute(
        text("SELECT current_setting('max_parallel_workers_per_gather')")
    ).scalar_one()
    ws.session.execute(text("SELECT set_config('max_parallel_workers_per_gather', '0', true)"))
    raw = ws.session.execute(text(SNAP_SQL), {"g": shapely.to_wkb(line), "d": deg}).scalar()
    ws.session.execute(text("SELECT set_config('max_parallel_workers_per_gather', :v, true)"), {"v": before})
    if raw is None:
        return line
    targets = shapely.get_parts(wkb.loads(bytes(raw)))
    tree = shapely.STRtree(targets)
    coords = []
    for x, y in line.coords:
        here = Point(x, y)
        i = tree.nearest(here)
        best = targets[int(i)] if i is not None else None
        if best is not None and ws.length_m(LineString([here, best])) <= ws.rules.edit_snap_m:
            coords.append((best.x, best.y))
        else:
            coords.append((x, y))
    deduped = [c for k, c in enumerate(coords) if k == 0 or c != coords[k - 1]]
    if len(deduped) < 2:
        return line
    snapped = LineString(deduped)
    return snapped if snapped.is_simple else line


def _self_crossing(line: LineString) -> BaseGeometry | None:
    segs = [LineString(line.coords[i : i + 2]) for i in range(len(line.coords) - 1)]
    for i, a in enumerate(segs):
        for j in range(i + 2, len(segs)):
            if i == 0 and j == len(segs) - 1 and line.is_closed:
                continue
            hit = a.intersection(segs[j])
            if not hit.is_empty:
                return hit
    return None


def _add_vertices(geom: BaseGeometry, points: Iterable[Point]) -> BaseGeometry:
    """`geom` with each point that lies on one of its edges (within ON_LINE_DEG) inserted as a vertex there, so
    that a neighbour cut at that point shares the node (no T-junction)."""
    pts = [p for p in points if geom.boundary.distance(p) < ON_LINE_DEG]
    if not pts:
        return geom

    def ring_with(ring: Sequence[tuple[float, ...]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        coords = [(c[0], c[1]) for c in ring]
        for a, b in zip(coords, coords[1:], strict=False):
            out.append(a)
            seg = LineString([a, b])
            inside = [
                (seg.project(p), (p.x, p.y))
                for p in pts
                if seg.distance(p) < ON_LINE_DEG and (p.x, p.y) != a and (p.x, p.y) != b
            ]
            out.extend(c for _, c in sorted(inside))
        out.append(coords[-1])
        return out

    polys = [
        Polygon(ring_with(p.exterior.coords), [ring_with(h.coords) for h in p.interiors])
        for p in _parts(geom)
    ]
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _node_neighbours(ws: Workspace, points: list[Point], skip: set[str]) -> None:
    """Insert the new boundary nodes of a cut into every other grid, of every level, whose outline they lie on
    (the neighbours and the parents sharing that stretch of boundary), so that all share the node."""
    if not points:
        return
    ws.nodes.extend(points)
    for level in ("micro", "general", "community", "subdistrict"):
        for unit in ws.neighbours(MultiPoint(points), level):
            if unit.code in skip:
                continue
            new = _add_vertices(unit.geom, points)
            if len(shapely.get_coordinates(new)) != len(shapely.get_coordinates(unit.geom)):
                ws.set_geom(unit, new)


def _cut(poly: BaseGeometry, line: LineString) -> list[Polygon]:
    """The faces `line` cuts `poly` into, on the coordinate grid (the outline's own vertices stay as they are)."""
    noded = shapely.union(poly.boundary, line, grid_size=GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    shapely.prepare(poly)
    return [f for f in faces if poly.contains(f.representative_point())]


def _new_nodes(old: BaseGeometry, pieces: Iterable[BaseGeometry]) -> list[Point]:
    """Vertices the cut put on the old outline (exactly as the pieces have them)."""
    had = {tuple(c) for c in shapely.get_coordinates(old)}
    outline = old.boundary
    return [
        Point(c)
        for c in {tuple(c) for p in pieces for c in shapely.get_coordinates(p)} - had
        if outline.distance(Point(c)) < ON_LINE_DEG
    ]


def _order_we_ns(parts: list[BaseGeometry]) -> list[BaseGeometry]:
    """West to east by the centroid; parts whose centroids lie within 1e-6° of longitude north to south."""
    return sorted(parts, key=lambda g: (round(g.centroid.x, 6), -g.centroid.y))


# -- households ------------------------------------------------------------------------------------------------


def _building_points(ws: Workspace, area: BaseGeometry) -> list[tuple[Point, int, float]]:
    """(point on the building, households, estimated population) of every building in `area`; a building's
    population is its compound's population shared by households."""
    rows = ws.session.execute(
        text(
            "SELECT ST_AsBinary(ST_PointOnSurface(b.geom)), b.households, "
            "CASE WHEN c.households > 0 THEN c.population::float * b.households / c.households ELSE 0 END "
            "FROM building b JOIN compound c ON c.id = b.compound_id "
            "WHERE b.geom && ST_GeomFromWKB(:g, 4326) AND ST_Intersects(ST_GeomFromWKB(:g, 4326), b.geom)"
        ),
        {"g": shapely.to_wkb(area)},
    ).all()
    return [(wkb.loads(bytes(p)), int(h), float(pop)) for p, h, pop in rows]


def redistribute(ws: Workspace, olds: list[Unit], news: list[Unit]) -> None:
    """Households and population of `news` (which together cover exactly what `olds` covered) from the
    buildings inside each; each old unit's difference to its own buildings (figures kept apart from the
    buildings) goes to the new unit holding most of it, so the totals are conserved exactly."""
    if not news:
        return
    area = shapely.union_all([u.geom for u in olds])
    points = _building_points(ws, area)

    def tally(geom: BaseGeometry) -> tuple[int, float]:
        shapely.prepare(geom)
        hh, pop = 0, 0.0
        for p, h, e in points:
            if geom.contains(p):
                hh, pop = hh + h, pop + e
        return hh, pop

    new_hh: dict[str, int] = {}
    new_pop: dict[str, float] = {}
    for u in news:
        new_hh[u.code], new_pop[u.code] = tally(u.geom)
    for o in olds:
        hh, pop = tally(o.geom)
        heir = max(news, key=lambda n: (ws.area_m2(n.geom.intersection(o.geom)), n.code))
        new_hh[heir.code] += o.households - hh
        new_pop[heir.code] += o.population - pop
    rounded = {c: round(v) for c, v in new_pop.items()}
    drift = sum(o.population for o in olds) - sum(rounded.values())
    if drift:
        biggest = max(news, key=lambda n: (rounded[n.code], n.code))
        rounded[biggest.code] += drift
    for u in news:
        if new_hh[u.code] < 0 or rounded[u.code] < 0:
            raise refuse(
                "households",
                f"户数无法分配 The households of {', '.join(o.code for o in olds)} do not match their "
                "buildings: correct the figures first.",
                value=u.code,
                expected="grid households at least those of the buildings inside",
                codes=[o.code for o in olds],
            )
        u.households, u.population = new_hh[u.code], rounded[u.code]
        ws._touch(u)


# -- the operations --------------------------------------------------------------------------------------------


def _micro(ws: Workspace, code: Any, *, op: int, name: str = "code") -> Unit:
    if not isinstance(code, str) or not code:
        raise refuse(
            "bad_code",
            f"缺少网格编码 {name} is missing.",
            field=name,
            value=code,
            expected="the code of a micro-grid",
            op=op,
        )
    ws.in_scope(code, op=op)
    unit = ws.get(code, op=op)
    if unit.level != "micro":
        raise refuse(
            "level",
            f"只能直接绘制微网格 {code} is a {unit.level} grid: boundaries are drawn on micro-grids, the grids "
            "above follow them.",
            field=name,
            value=code,
            expected="a micro-grid code",
            codes=[code],
            op=op,
        )
    return unit


def _lines(geom: BaseGeometry) -> list[LineString]:
    if isinstance(geom, LineString):
        return [] if geom.is_empty else [geom]
    return [line for part in getattr(geom, "geoms", []) for line in _lines(part)]


def shared_edges(a: BaseGeometry, b: BaseGeometry) -> list[LineString]:
    """The pieces of boundary two grids share, each merged into one line."""
    lines = _lines(a.boundary.intersection(b.boundary))
    return _lines(shapely.line_merge(shapely.union_all(lines))) if lines else []


def reshape(ws: Workspace, op: int, a_code: Any, b_code: Any, raw_line: Any) -> None:
    """Move the edge two neighbouring micro-grids share to a new line (same end nodes)."""
    a, b = _micro(ws, a_code, op=op, name="a"), _micro(ws, b_code, op=op, name="b")
    if a.code == b.code:
        raise refuse(
            "same_grid",
            "两侧是同一网格 a and b are the same grid.",
            field="b",
            value=b.code,
            expected="two neighbouring micro-grids",
            op=op,
        )
    line = snap_line(ws, parse_line(raw_line, op=op))
    edges = shared_edges(a.geom, b.geom)
    if not edges:
        raise refuse(
            "not_adjacent",
            f"{a.code} 与 {b.code} 不相邻 {a.code} and {b.code} share no edge.",
            value=f"{a.code},{b.code}",
            expected="two micro-grids that share a boundary",
            where=b.geom,
            codes=[a.code, b.code],
            op=op,
        )
    tol = ws.rules.edit_snap_m
    start, end = Point(line.coords[0]), Point(line.coords[-1])

    def gap(edge: LineString) -> float:
        e0, e1 = Point(edge.coords[0]), Point(edge.coords[-1])
        return min(
            ws.length_m(LineString([start, e0])) + ws.length_m(LineString([end, e1])),
            ws.length_m(LineString([start, e1])) + ws.length_m(LineString([end, e0])),
        )

    edge = min(edges, key=gap)
    coords = list(line.coords)
    if edge.is_closed:
        if not line.is_closed:
            raise refuse(
                "edge_ends",
                "该边是闭合环 The shared edge is a closed ring: draw a closed line.",
                field="line",
                value=None,
                expected="a closed line around the inner grid",
                where=edge,
                codes=[a.code, b.code],
                op=op,
            )
    else:
        e0, e1 = edge.coords[0], edge.coords[-1]
        if ws.length_m(LineString([start, Point(e1)])) + ws.length_m(
            LineString([end, Point(e0)])
        ) < ws.length_m(LineString([start, Point(e0)])) + ws.length_m(LineString([end, Point(e1)])):
            e0, e1 = e1, e0
        if (
            ws.length_m(LineString([start, Point(e0)])) > tol
            or ws.length_m(LineString([end, Point(e1)])) > tol
        ):
            raise refuse(
                "edge_ends",
                f"新边界须从原边界的端点开始和结束 The new edge between {a.code} and {b.code} must start and end "
                f"at the old edge's end nodes ({e0[0]:.7f}, {e0[1]:.7f}) and ({e1[0]:.7f}, {e1[1]:.7f}), within "
                f"{tol:g} m.",
                field="line",
                value=f"({coords[0][0]:.7f}, {coords[0][1]:.7f})…({coords[-1][0]:.7f}, {coords[-1][1]:.7f})",
                expected="a line from one end node of the shared edge to the other",
                where=Point(e0),
                codes=[a.code, b.code],
                op=op,
            )
        coords[0], coords[-1] = (e0[0], e0[1]), (e1[0], e1[1])
        line = LineString(coords)
        if not line.is_simple:
            raise refuse(
                "self_intersection",
                "线自相交 The line crosses itself.",
                field="line",
                value=None,
                expected="a line that does not cross itself",
                where=_self_crossing(line),
                op=op,
            )
    union = _polygonal(shapely.union(a.geom, b.geom, grid_size=GRID))
    outside = line.difference(union.buffer(ON_LINE_DEG))
    if ws.length_m(outside) > 1e-3:
        raise refuse(
            "outside_pair",
            f"新边界超出两个网格 The new edge leaves {a.code} and {b.code} (it may only run inside the two).",
            field="line",
            value=None,
            expected="a line inside the two grids",
            where=outside,
            codes=[a.code, b.code],
            op=op,
        )
    inner = shapely.difference(line, MultiPoint([line.coords[0], line.coords[-1]]).buffer(ON_LINE_DEG))
    touch = inner.intersection(union.boundary)
    if not touch.is_empty:
        raise refuse(
            "touches_boundary",
            f"新边界触碰了外边界 The new edge touches the outer boundary of {a.code} and {b.code}.",
            field="line",
            value=None,
            expected="a line that meets the outer boundary only at its two ends",
            where=touch,
            codes=[a.code, b.code],
            op=op,
        )
    parts = _cut(union, line)
    a_parts = [p for p in parts if ws.area_m2(p.intersection(a.geom)) >= ws.area_m2(p.intersection(b.geom))]
    b_parts = [p for p in parts if p not in a_parts]
    if not a_parts or not b_parts:
        raise refuse(
            "edge_swallows",
            f"新边界使某一网格消失 The new edge leaves nothing of {a.code if not a_parts else b.code}.",
            field="line",
            value=None,
            expected="a line that keeps both grids",
            where=line,
            codes=[a.code, b.code],
            op=op,
        )
    old_a, old_b = copy(a), copy(b)
    ws.set_geom(a, shapely.union_all(a_parts, grid_size=GRID) if len(a_parts) > 1 else a_parts[0])
    ws.set_geom(b, shapely.union_all(b_parts, grid_size=GRID) if len(b_parts) > 1 else b_parts[0])
    redistribute(ws, [old_a, old_b], [a, b])
    if a.parent_code != b.parent_code:
        ws.dirty_parents.update(c for c in (a.parent_code, b.parent_code) if c)


def split(ws: Workspace, op: int, code: Any, raw_line: Any, names: Any = None) -> list[str]:
    """Cut a micro-grid along a drawn line into parts with new codes (W→E, then N→S); returns the codes. A general
    grid is cut the same way: its micro-grids go to the part they lie in (those the line crosses are split too)
    and keep their three digits under the new general codes."""
    if isinstance(code, str) and code:
        ws.in_scope(code, op=op)
        found = ws.get(code, op=op)
        if found.level == "general":
            return _split_general(ws, op, found, snap_line(ws, parse_line(raw_line, op=op)), names)
    unit = _micro(ws, code, op=op)
    line = snap_line(ws, parse_line(raw_line, op=op))
    pieces = _cut(unit.geom, line)
    if len(pieces) < 2:
        raise refuse(
            "split_misses",
            f"分割线没有把 {unit.code} 分开 The line does not cut {unit.code} in two: it must cross the grid from "
            "one edge to another.",
            field="line",
            value=None,
            expected="a line crossing the grid from edge to edge",
            where=unit.geom,
            codes=[unit.code],
            op=op,
        )
    for piece in pieces:
        area = ws.area_m2(piece)
        if area < ws.rules.sliver_m2:
            raise refuse(
                "sliver",
                f"分割后有碎片 The split leaves a piece of {area:.2f} m² (under {ws.rules.sliver_m2:g} m²).",
                field="line",
                value=round(area, 3),
                expected=f"pieces of at least {ws.rules.sliver_m2:g} m²",
                where=piece,
                codes=[unit.code],
                op=op,
            )
    if names is not None and (
        not isinstance(names, list)
        or not all(isinstance(n, str) and n.strip() for n in names)
        or len(names) > len(pieces)
    ):
        raise refuse(
            "bad_names",
            "名称无效 names must be a list of non-empty names, one per part at most.",
            field="names",
            value=str(names)[:200],
            expected=f"up to {len(pieces)} names",
            op=op,
        )
    old = copy(unit)
    parent = unit.parent_code or ""
    ws.in_scope(parent, op=op) if parent else None
    ws.retire(unit.code)
    news: list[Unit] = []
    for i, piece in enumerate(_order_we_ns(pieces)):
        name = (names[i].strip() if names and i < len(names) else f"{old.name}-{i + 1}")[:100]
        news.append(
            ws.create(
                Unit(
                    code=ws.allocate_code(parent),
                    level="micro",
                    parent_code=old.parent_code,
                    name=name,
                    name_en=f"{old.name_en} {i + 1}" if old.name_en else None,
                    households=0,
                    population=0,
                    geom=piece,
                )
            )
        )
    redistribute(ws, [old], news)
    _node_neighbours(ws, _new_nodes(old.geom, pieces), skip={n.code for n in news})
    heir = max(news, key=lambda n: (n.households, n.code))
    ws.move_workers(old.code, heir.code)
    ws.notes.append(f"{old.code} → {', '.join(n.code for n in news)}; its workers go to {heir.code}")
    return [n.code for n in news]


def _split_general(ws: Workspace, op: int, general: Unit, line: LineString, names: Any) -> list[str]:
    pieces = _order_we_ns(_cut(general.geom, line))
    if len(pieces) < 2:
        raise refuse(
            "split_misses",
            f"分割线没有把 {general.code} 分开 The line does not cut {general.code} in two.",
            field="line",
            value=None,
            expected="a line crossing the grid from edge to edge",
            where=general.geom,
            codes=[general.code],
            op=op,
        )
    if names is not None and (
        not isinstance(names, list)
        or len(names) > len(pieces)
        or not all(isinstance(n, str) and n.strip() for n in names)
    ):
        raise refuse(
            "bad_names",
            "名称无效 names must be non-empty names, one per part at most.",
            field="names",
            value=str(names)[:200],
            expected=f"up to {len(pieces)} names",
            op=op,
        )
    community = general.parent_code or ""
    kids = ws.children(general.code)
    news = []
    for i, piece in enumerate(pieces):
        name = (names[i].strip() if names and i < len(names) else f"{general.name}-{i + 1}")[:100]
        news.append(
            ws.create(
                Unit(
                    code=ws.allocate_code(community),
                    level="general",
                    parent_code=community,
                    name=name,
                    name_en=None,
                    households=0,
                    population=0,
                    geom=piece,
                )
            )
        )
    coords = [list(c) for c in line.coords]
    for kid in kids:
        shares = [ws.area_m2(shapely.intersection(kid.geom, p, grid_size=GRID)) for p in pieces]
        if sum(1 for a in shares if a >= ws.rules.sliver_m2) > 1:
            parts = [ws.units[c] for c in split(ws, op, kid.code, coords)]
        else:
            parts = [kid]
        for part in parts:
            home = max(
                range(len(pieces)),
                key=lambda k: ws.area_m2(shapely.intersection(part.geom, pieces[k], grid_size=GRID)),
            )
            _recode(ws, part, news[home].code + part.code[-3:], news[home].code)
    heir = max(
        news,
        key=lambda n: (sum(u.households for u in ws.current().values() if u.parent_code == n.code), n.code),
    )
    ws.move_workers(general.code, heir.code)
    ws.retire(general.code)
    _node_neighbours(ws, _new_nodes(general.geom, pieces), skip={n.code for n in news})
    ws.dirty_parents.update(n.code for n in news)
    ws.notes.append(f"{general.code} → {', '.join(n.code for n in news)}")
    return [n.code for n in news]


def merge(ws: Workspace, op: int, codes: Any, keep: Any = None, name: Any = None) -> str:
    """Merge adjacent micro-grids of one general grid into the one named `keep` (default: the first)."""
    if not isinstance(codes, list) or len(codes) < 2 or len(set(codes)) != len(codes) or len(codes) > 50:
        raise refuse(
            "bad_codes",
            "合并需要至少两个不同网格 Merge needs 2 to 50 different micro-grids.",
            field="codes",
            value=str(codes)[:200],
            expected="a list of micro-grid codes",
            op=op,
        )
    units = [_micro(ws, c, op=op, name="codes") for c in codes]
    parents = {u.parent_code for u in units}
    if len(parents) != 1:
        raise refuse(
            "different_parents",
            "只能合并同一总网格下的微网格 Only micro-grids of one general grid can be merged "
            f"({', '.join(f'{u.code} in {u.parent_code}' for u in units)}).",
            field="codes",
            value=",".join(codes),
            expected="micro-grids with the same parent",
            codes=codes,
            op=op,
        )
    keep_code = keep if keep is not None else codes[0]
    if keep_code not in codes:
        raise refuse(
            "bad_keep",
            f"{keep_code} 不在合并列表中 keep must be one of the merged codes.",
            field="keep",
            value=str(keep_code),
            expected=", ".join(codes),
            op=op,
        )
    # Adjacent: the merged grids form one connected piece along shared edges (not just a corner).
    joined = {units[0].code}
    pending = units[1:]
    while pending:
        nxt = next(
            (
                u
                for u in pending
                if any(
                    sum(ws.length_m(e) for e in shared_edges(u.geom, ws.units[j].geom)) > 0.01 for j in joined
                )
            ),
            None,
        )
        if nxt is None:
            far = pending[0]
            raise refuse(
                "not_adjacent",
                f"{far.code} 与其余网格不相邻 {far.code} shares no edge with the other grids to merge.",
                field="codes",
                value=far.code,
                expected="micro-grids that border each other",
                where=far.geom,
                codes=[far.code],
                op=op,
            )
        joined.add(nxt.code)
        pending.remove(nxt)
    kept = ws.units[keep_code]
    olds = [copy(u) for u in units]
    ws.set_geom(kept, shapely.union_all([u.geom for u in units], grid_size=GRID))
    kept.households = sum(u.households for u in olds)
    kept.population = sum(u.population for u in olds)
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise refuse(
                "bad_name",
                "名称不能为空 name cannot be empty.",
                field="name",
                value=name,
                expected="a name",
                op=op,
            )
        kept.name = name.strip()[:100]
    for u in units:
        if u.code != keep_code:
            ws.retire(u.code)
            ws.move_workers(u.code, keep_code)
    ws.notes.append(f"{', '.join(u.code for u in units if u.code != keep_code)} merged into {keep_code}")
    return keep_code


def move_place(ws: Workspace, op: int, kind: Any, ext_id: Any, to: Any) -> None:
    """Move a compound or a building into the neighbouring micro-grid `to`: the grid boundary follows the
    place's own region (the part of its grid nearer to it than to any other place, i.e. the street midlines)."""
    if kind not in ("compound", "building"):
        raise refuse(
            "bad_kind",
            f"未知对象类型 Unknown kind {kind!r}.",
            field="kind",
            value=str(kind),
            expected="compound or building",
            op=op,
        )
    table = "compound" if kind == "compound" else "building"
    row = ws.session.execute(text(PLACE_SQL[table]["one"]), {"e": str(ext_id)}).first()
    if row is None:
        raise NotFound(
            f"没有该{'小区' if kind == 'compound' else '楼栋'} No {kind} {ext_id!r}.",
            field="ext_id",
            value=ext_id,
            expected=f"the id of a {kind}",
        )
    place = _polygonal(wkb.loads(bytes(row[0])))
    target = _micro(ws, to, op=op, name="to")
    home_code = ws.session.execute(
        text(
            "SELECT code FROM grid_unit WHERE valid_to IS NULL AND level = 'micro' "
            "AND ST_Intersects(geom, ST_PointOnSurface(ST_GeomFromWKB(:g, 4326)))"
        ),
        {"g": shapely.to_wkb(place)},
    ).scalar()
    # The change set may already have moved it: look in the workspace first.
    probe = place.representative_point()
    home = next((u for u in ws.current().values() if u.level == "micro" and u.geom.contains(probe)), None)
    if home is None and home_code:
        home = _micro(ws, home_code, op=op, name="ext_id")
    if home is None:
        raise refuse(
            "place_outside",
            f"{ext_id} 不在任何微网格内 {kind} {ext_id} lies in no micro-grid.",
            field="ext_id",
            value=str(ext_id),
            expected=f"a {kind} inside a micro-grid",
            where=place,
            op=op,
        )
    ws.in_scope(home.code, op=op)
    if home.code == target.code:
        raise refuse(
            "same_grid",
            f"{ext_id} 已在 {target.code} 内 {kind} {ext_id} already lies in {target.code}.",
            field="to",
            value=target.code,
            expected="a neighbouring micro-grid",
            op=op,
        )
    others = ws.session.execute(
        text(PLACE_SQL[table]["in"]),
        {"g": shapely.to_wkb(home.geom)},
    ).all()
    region = _nearest_region(ws, home.geom, place, [wkb.loads(bytes(g)) for e, g in others if e != ext_id])
    moved = _polygonal(shapely.intersection(home.geom, region, grid_size=GRID))
    rest = _polygonal(shapely.difference(home.geom, moved, grid_size=GRID))
    if rest.is_empty or ws.area_m2(rest) < ws.rules.sliver_m2:
        raise refuse(
            "grid_emptied",
            f"{ext_id} 是 {home.code} 的全部 Moving {ext_id} would leave nothing of {home.code}: merge "
            f"{home.code} into {target.code} instead.",
            field="ext_id",
            value=str(ext_id),
            expected="a place that is not its grid's only one",
            where=place,
            codes=[home.code],
            op=op,
        )
    border = sum(ws.length_m(e) for e in shared_edges(_polygonal(moved), target.geom))
    if border < ws.rules.edit_snap_m:
        raise refuse(
            "not_adjacent",
            f"{ext_id} 的范围不与 {target.code} 相邻 The area of {kind} {ext_id} does not border {target.code} "
            "(another place lies between).",
            field="to",
            value=target.code,
            expected=f"a micro-grid next to the {kind}",
            where=place,
            codes=[home.code, target.code],
            op=op,
        )
    if len(_parts(rest)) > len(_parts(home.geom)):
        raise refuse(
            "grid_cut",
            f"移出后 {home.code} 被分成两块 Moving {ext_id} would cut {home.code} in two.",
            field="ext_id",
            value=str(ext_id),
            expected=f"a {kind} at the edge of its grid",
            where=place,
            codes=[home.code],
            op=op,
        )
    old_home, old_target = copy(home), copy(target)
    ws.set_geom(home, rest)
    ws.set_geom(target, shapely.union(target.geom, moved, grid_size=GRID))
    redistribute(ws, [old_home, old_target], [home, target])
    if home.parent_code != target.parent_code:
        ws.dirty_parents.update(c for c in (home.parent_code, target.parent_code) if c)
    _node_neighbours(ws, _new_nodes(old_home.geom, [rest, moved]), skip={home.code, target.code})


def _nearest_region(
    ws: Workspace, grid: BaseGeometry, place: BaseGeometry, others: list[BaseGeometry]
) -> BaseGeometry:
    """The part of `grid` nearer to `place` than to any of `others` (see place_regions)."""
    if not others:
        return grid
    return place_regions(ws, grid, [place, *others])[0]


def place_regions(ws: Workspace, grid: BaseGeometry, places: list[BaseGeometry]) -> list[BaseGeometry]:
    """For each place, the area nearer to it than to any other place: a Voronoi partition of the places'
    outlines sampled every PLACE_SAMPLE_M metres, computed in metres and returned in WGS 84, covering `grid`'s
    envelope. Between two compounds its border runs along the middle of the street that separates them."""
    inverse = projector(srid=ws.srid, inverse=True)
    seeds: dict[tuple[float, float], int] = {}  # one seed per point (Voronoi refuses repeated points)
    for i, geom in enumerate(places):
        outline = shapely.segmentize(ws.metric(geom).boundary, PLACE_SAMPLE_M)
        for x, y in shapely.get_coordinates(outline):
            seeds.setdefault((round(float(x), 3), round(float(y), 3)), i)
    if len(places) == 1:
        return [grid]
    envelope = ws.metric(grid).envelope.buffer(50)
    cells = shapely.voronoi_polygons(MultiPoint(list(seeds)), extend_to=envelope, ordered=True)
    owned: list[list[BaseGeometry]] = [[] for _ in places]
    for cell, owner in zip(cells.geoms, seeds.values(), strict=True):
        owned[owner].append(cell)
    return [shapely.transform(shapely.union_all(cs), inverse) for cs in owned]


def partition(ws: Workspace, op: int, code: Any, parts: Any, names: Any = None) -> list[str]:
    """Re-divide a general grid into new micro-grids, each the area of a list of its compounds (their regions of
    place_regions, so borders follow the streets and no compound is cut); the old micro-grids retire. The parts
    get new codes west to east, then north to south; returns them."""
    if not isinstance(code, str):
        raise refuse(
            "bad_code",
            "需要总网格编码 general is required.",
            field="general",
            value=str(code),
            expected="a general grid's code",
            op=op,
        )
    ws.in_scope(code, op=op)
    general = ws.get(code, op=op)
    if general.level != "general":
        raise refuse(
            "level",
            f"{code} 不是总网格 {code} is a {general.level} grid, not a general grid.",
            field="general",
            value=code,
            expected="a general grid's code",
            codes=[code],
            op=op,
        )
    places = general_compounds(ws, general)
    known = {ext_id for ext_id, _ in places}
    expected = "a list of parts, each a list of compound ids, every compound of the general grid exactly once"
    if not isinstance(parts, list) or not parts or not all(isinstance(p, list) and p for p in parts):
        raise refuse(
            "bad_parts",
            "分区无效 parts must be a non-empty list of non-empty lists.",
            field="parts",
            value=str(parts)[:200],
            expected=expected,
            op=op,
        )
    listed = [e for p in parts for e in p]
    unknown = sorted({str(e) for e in listed} - known)
    missing = sorted(known - {str(e) for e in listed})
    twice = sorted({str(e) for e in listed if listed.count(e) > 1})
    if unknown or missing or twice:
        raise refuse(
            "bad_parts",
            f"分区须恰好包含 {code} 的每个小区一次 The parts must hold every compound of {code} exactly once"
            + (f"; not in it: {', '.join(unknown[:10])}" if unknown else "")
            + (f"; missing: {', '.join(missing[:10])}" if missing else "")
            + (f"; twice: {', '.join(twice[:10])}" if twice else "")
            + ".",
            field="parts",
            value=(unknown or missing or twice)[0],
            expected=expected,
            codes=[code],
            op=op,
        )
    if names is not None and (
        not isinstance(names, list)
        or len(names) > len(parts)
        or not all(isinstance(n, str) and n.strip() for n in names)
    ):
        raise refuse(
            "bad_names",
            "名称无效 names must be non-empty names, one per part at most.",
            field="names",
            value=str(names)[:200],
            expected=f"up to {len(parts)} names",
            op=op,
        )
    ids = [e for e, _ in places]
    regions = dict(zip(ids, place_regions(ws, general.geom, [g for _, g in places]), strict=True))
    part_regions = [shapely.union_all([regions[str(e)] for e in p]) for p in parts]
    shapes = _faces_by_region(general.geom, part_regions)
    for i, shape in enumerate(shapes):
        if shape.is_empty or len(_parts(shape)) != 1:
            raise refuse(
                "not_contiguous",
                f"第 {i + 1} 个分区不连通 Part {i + 1} is not one piece: its compounds do not border each other.",
                field="parts",
                value=i + 1,
                expected="parts whose compounds form one connected area",
                where=shape if not shape.is_empty else None,
                codes=[code],
                op=op,
            )
    kids = ws.children(code)
    olds = [copy(k) for k in kids]
    order = sorted(range(len(shapes)), key=lambda i: (round(shapes[i].centroid.x, 6), -shapes[i].centroid.y))
    news: list[Unit] = []
    for rank, i in enumerate(order):
        name = (names[i].strip() if names and i < len(names) else f"{general.name}第{rank + 1:02d}微网格")[
            :100
        ]
        news.append(
            ws.create(
                Unit(
                    code=ws.allocate_code(code),
                    level="micro",
                    parent_code=code,
                    name=name,
                    name_en=None,
                    households=0,
                    population=0,
                    geom=shapes[i],
                )
            )
        )
    for kid in kids:
        ws.retire(kid.code)
    redistribute(ws, olds, news)
    for old in olds:
        heir = max(
            news, key=lambda n: (ws.area_m2(shapely.intersection(n.geom, old.geom, grid_size=GRID)), n.code)
        )
        ws.move_workers(old.code, heir.code)
    _node_neighbours(ws, _new_nodes(general.geom, shapes), skip={n.code for n in news})
    ws.notes.append(f"{code}: {len(olds)} micro-grids → {len(news)} ({', '.join(n.code for n in news)})")
    return [n.code for n in news]


def general_compounds(ws: Workspace, general: Unit) -> list[tuple[str, BaseGeometry]]:
    """The compounds of a general grid (by their point on surface), in id order."""
    rows = ws.session.execute(
        text(
            "SELECT ext_id, ST_AsBinary(geom) FROM compound WHERE geom && ST_GeomFromWKB(:g, 4326) "
            "AND ST_Intersects(ST_GeomFromWKB(:g, 4326), ST_PointOnSurface(geom)) ORDER BY ext_id"
        ),
        {"g": shapely.to_wkb(general.geom)},
    ).all()
    return [(e, _polygonal(wkb.loads(bytes(g)))) for e, g in rows]


def _faces_by_region(outline: BaseGeometry, regions: list[BaseGeometry]) -> list[BaseGeometry]:
    """`outline` divided among `regions` (which cover it), noded once on the coordinate grid so that
    neighbouring parts share their vertices exactly."""
    noded = shapely.union_all([outline.boundary, *[r.boundary for r in regions]], grid_size=GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    shapely.prepare(outline)
    owned: list[list[BaseGeometry]] = [[] for _ in regions]
    for face in faces:
        point = face.representative_point()
        if not outline.contains(point):
            continue
        owner = next((i for i, r in enumerate(regions) if r.contains(point)), None)
        if owner is None:
            owner = max(range(len(regions)), key=lambda i: regions[i].intersection(face).area)
        owned[owner].append(face)
    return [_polygonal(shapely.union_all(fs, grid_size=GRID)) if fs else Polygon() for fs in owned]


def move_grid(ws: Workspace, op: int, code: Any, to_parent: Any) -> str:
    """Move a micro-grid to a neighbouring general grid, or a general grid to a neighbouring community. The
    moved grid gets the next free number under its new parent; a general grid's micro-grids keep their own
    three digits under its new code. Returns the new code."""
    if not isinstance(code, str) or not isinstance(to_parent, str):
        raise refuse(
            "bad_code",
            "需要网格编码 code and to_parent are required.",
            field="code",
            value=str(code),
            expected="grid codes",
            op=op,
        )
    ws.in_scope(code, to_parent, op=op)
    unit = ws.get(code, op=op)
    parent = ws.get(to_parent, op=op)
    if unit.level not in ("micro", "general") or LEVEL_BELOW.get(parent.level) != unit.level:
        raise refuse(
            "level",
            f"不能把 {unit.level} 网格移到 {parent.level} 下 A {unit.level} grid cannot move under a "
            f"{parent.level}.",
            field="to_parent",
            value=to_parent,
            expected="a general grid for a micro-grid, a community for a general grid",
            codes=[code],
            op=op,
        )
    if unit.parent_code == to_parent:
        raise refuse(
            "same_parent",
            f"{code} 已属于 {to_parent} {code} already lies in {to_parent}.",
            field="to_parent",
            value=to_parent,
            expected="a neighbouring parent",
            op=op,
        )
    border = sum(ws.length_m(e) for e in shared_edges(unit.geom, parent.geom))
    if border < ws.rules.edit_snap_m:
        raise refuse(
            "not_adjacent",
            f"{code} 与 {to_parent} 不相邻 {code} does not border {to_parent}.",
            field="to_parent",
            value=to_parent,
            expected="a parent next to the grid",
            where=unit.geom,
            codes=[code, to_parent],
            op=op,
        )
    old_parent = unit.parent_code or ""
    siblings = [u for u in ws.children(old_parent) if u.code != code]
    if not siblings:
        raise refuse(
            "empty_parent",
            f"{old_parent} 只剩 {code} 一个下级 {code} is the only child of {old_parent}: it cannot be left empty.",
            field="code",
            value=code,
            expected="a grid whose parent has other children",
            codes=[code, old_parent],
            op=op,
        )
    new_code = ws.allocate_code(to_parent)
    _recode(ws, unit, new_code, to_parent)
    ws.dirty_parents.update({old_parent, to_parent})
    return new_code


def _recode(ws: Workspace, unit: Unit, new_code: str, new_parent: str) -> None:
    old_code = unit.code
    kids = ws.children(old_code) if unit.level != "micro" else []
    moved = Unit(
        **{**unit.__dict__, "code": new_code, "parent_code": new_parent, "version": 0, "restored_from": None}
    )
    ws.retire(old_code)
    ws.create(moved)
    ws.recoded[old_code] = new_code
    ws.move_workers(old_code, new_code)
    for kid in kids:
        _recode(ws, kid, new_code + kid.code[len(old_code) :], new_code)


SPECIAL_PREFIX = {"law": "FZ", "care": "GA", "medical": "YL", "veterans": "TY"}
SPECIAL_SQL = (
    "SELECT code, kind, name, community_code, ST_AsBinary(geom), version FROM special_grid "
    "WHERE code = :c AND retired_at IS NULL"
)
SPECIAL_SQL_LOCKED = SPECIAL_SQL + " FOR UPDATE"


def parse_area(value: Any, *, op: int, ws: Workspace) -> BaseGeometry:
    """A drawn area: a GeoJSON Polygon or MultiPolygon, or one ring [[lon, lat], …], in WGS 84; valid, on the
    coordinate grid, at least the sliver limit."""
    expected = "a GeoJSON Polygon/MultiPolygon or a ring [[lon, lat], …] (WGS 84), valid, not crossing itself"
    try:
        if isinstance(value, dict):
            geom = shapely.geometry.shape(value)
        elif isinstance(value, list):
            geom = Polygon(value)
        else:
            raise TypeError(type(value).__name__)
        coords = shapely.get_coordinates(geom)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, shapely.errors.GEOSException) as exc:
        raise refuse(
            "bad_area",
            f"范围无效 The area cannot be read ({exc}).",
            field="geometry",
            value=str(value)[:200],
            expected=expected,
            op=op,
        ) from exc
    if not isinstance(geom, Polygon | MultiPolygon) or len(coords) > 100_000 or not len(coords):
        raise refuse(
            "bad_area",
            "范围须为多边形 The area must be a polygon.",
            field="geometry",
            value=str(value)[:200],
            expected=expected,
            op=op,
        )
    if not (abs(coords) <= 180).all() or not shapely.is_valid(geom):
        where = None if not (abs(coords) <= 180).all() else geom
        raise refuse(
            "invalid_geometry",
            "范围无效 The area is not a valid polygon: "
            + (shapely.is_valid_reason(geom) if where is not None else "coordinates out of range"),
            field="geometry",
            value=None,
            expected=expected,
            where=where,
            op=op,
        )
    geom = _polygonal(shapely.set_precision(geom, GRID))
    if ws.area_m2(geom) < ws.rules.sliver_m2:
        raise refuse(
            "sliver",
            f"范围太小 The area is under {ws.rules.sliver_m2:g} m².",
            field="geometry",
            value=round(ws.area_m2(geom), 3),
            expected=f"at least {ws.rules.sliver_m2:g} m²",
            op=op,
        )
    return geom


def _special(ws: Workspace, code: Any, op: int) -> Special:
    if not isinstance(code, str):
        raise refuse(
            "bad_code",
            "需要特色网格编码 code is required.",
            field="code",
            value=str(code),
            expected="a special grid's code",
            op=op,
        )
    if code in ws.specials:
        special = ws.specials[code]
        if special.retired:
            raise refuse(
                "retired",
                f"特色网格 {code} 已撤销 Special grid {code} is retired in this change set.",
                field="code",
                value=code,
                expected="a special grid in force",
                op=op,
            )
        return special
    sql = SPECIAL_SQL_LOCKED if ws.lock else SPECIAL_SQL
    row = ws.session.execute(text(sql), {"c": code}).first()
    if row is None:
        raise NotFound(
            f"没有该特色网格 No special grid {code!r} in force.",
            field="code",
            value=code,
            expected="the code of a special grid (GET /api/layers/special_grids)",
        )
    special = Special(row[0], row[1], row[2], row[3], _polygonal(wkb.loads(bytes(row[4]))), int(row[5]))
    ws.in_scope(*([special.community_code] if special.community_code else [code.split("-")[0]]), op=op)
    ws.specials[code] = special
    ws.specials_before[code] = copy(special)
    return special


def special_create(ws: Workspace, op: int, kind: Any, name: Any, geometry: Any, community: Any = None) -> str:
    """A new special grid; its code is the subdistrict's, the kind's letters and the next number never used."""
    if kind not in SPECIAL_PREFIX:
        raise refuse(
            "bad_kind",
            f"未知特色网格类型 Unknown kind {kind!r}.",
            field="kind",
            value=str(kind),
            expected=", ".join(SPECIAL_PREFIX),
            op=op,
        )
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise refuse(
            "bad_name",
            "名称须为 1–100 字 name must have 1 to 100 characters.",
            field="name",
            value=str(name)[:120],
            expected="a name of 1 to 100 characters",
            op=op,
        )
    geom = parse_area(geometry, op=op, ws=ws)
    if community is not None:
        unit = ws.get(str(community), op=op)
        if unit.level != "community":
            raise refuse(
                "level",
                f"{community} 不是社区 {community} is not a community.",
                field="community_code",
                value=str(community),
                expected="a community's code",
                op=op,
            )
        ws.in_scope(unit.code, op=op)
        root = unit.code[:9]
    else:
        found = ws.session.execute(
            text(
                "SELECT code FROM grid_unit WHERE level = 'subdistrict' AND valid_to IS NULL AND "
                "ST_Intersects(geom, ST_PointOnSurface(ST_GeomFromWKB(:g, 4326)))"
            ),
            {"g": shapely.to_wkb(geom)},
        ).scalar()
        if found is None:
            raise refuse(
                "outside_parent",
                "范围不在街道内 The area lies outside the subdistrict.",
                field="geometry",
                value=None,
                expected="an area inside the subdistrict",
                where=geom,
                op=op,
            )
        root = str(found)
        ws.in_scope(root, op=op)
    prefix = f"{root}-{SPECIAL_PREFIX[kind]}-"
    used = ws.session.execute(
        text(
            "SELECT max(substr(code, length(:p) + 1)::int) FROM special_grid WHERE code ~ ('^' || :p || '[0-9]+$')"
        ),
        {"p": prefix},
    ).scalar()
    mine = [int(c[len(prefix) :]) for c in ws.specials if c.startswith(prefix)]
    code = f"{prefix}{max([used or 0, *mine]) + 1:02d}"
    ws.specials[code] = Special(code, kind, name.strip(), str(community) if community else None, geom)
    return code


def special_reshape(ws: Workspace, op: int, code: Any, geometry: Any, name: Any = None) -> None:
    """A special grid's new area (and name)."""
    special = _special(ws, code, op)
    special.geom = parse_area(geometry, op=op, ws=ws)
    if name is not None:
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise refuse(
                "bad_name",
                "名称须为 1–100 字 name must have 1 to 100 characters.",
                field="name",
                value=str(name)[:120],
                expected="a name of 1 to 100 characters",
                op=op,
            )
        special.name = name.strip()


def special_retire(ws: Workspace, op: int, code: Any) -> None:
    """End a special grid (its code is not used again)."""
    special = _special(ws, code, op)
    if special.version == 0:
        del ws.specials[special.code]
    else:
        special.retired = True
    ws.move_workers(special.code, None)


def rename(ws: Workspace, op: int, code: Any, name: Any, name_en: Any = None) -> None:
    """Name a grid (typically a part a split created)."""
    if not isinstance(code, str):
        raise refuse(
            "bad_code",
            "需要网格编码 code is required.",
            field="code",
            value=str(code),
            expected="a grid code",
            op=op,
        )
    ws.in_scope(code, op=op)
    unit = ws.get(code, op=op)
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise refuse(
            "bad_name",
            "名称须为 1–100 字 name must have 1 to 100 characters.",
            field="name",
            value=str(name)[:120],
            expected="a name of 1 to 100 characters",
            op=op,
        )
    unit.name = name.strip()
    if name_en is not None:
        if not isinstance(name_en, str) or len(name_en) > 200:
            raise refuse(
                "bad_name",
                "英文名至多 200 字 name_en has at most 200 characters.",
                field="name_en",
                value=str(name_en)[:120],
                expected="an English name up to 200 characters",
                op=op,
            )
        unit.name_en = name_en.strip() or None
    ws._touch(unit)


def assign_worker(ws: Workspace, op: int, worker: Any, add: Any = None, remove: Any = None) -> None:
    """Give a worker grids (`add`) or take them away (`remove`)."""
    if not isinstance(worker, str):
        raise refuse(
            "bad_worker",
            "需要网格员编号 worker is required.",
            field="worker",
            value=str(worker),
            expected="a worker's id",
            op=op,
        )
    add, remove = add or [], remove or []
    if (
        not isinstance(add, list)
        or not isinstance(remove, list)
        or not all(isinstance(c, str) for c in [*add, *remove])
    ):
        raise refuse(
            "bad_codes",
            "add/remove 须为编码列表 add and remove are lists of grid codes.",
            field="add",
            value=str(add)[:200],
            expected="lists of grid codes",
            op=op,
        )
    change = ws.worker_by_ext_id(worker, op=op)
    for code in [*add, *remove]:
        ws.in_scope(code, op=op)
    for code in add:
        ws.get(code, op=op)
    change.after = sorted((set(change.after) | set(add)) - set(remove))


def restore(ws: Workspace, op: int, generation: Any) -> None:
    """Bring back the state before a generation: the units it ended come back as they were, the units it began
    go, attribute edits it made are undone. Refused when a unit it began has changed since."""
    if not isinstance(generation, int) or isinstance(generation, bool):
        raise refuse(
            "bad_generation",
            "需要版本号 generation must be a number.",
            field="generation",
            value=str(generation),
            expected="the id of a grid generation",
            op=op,
        )
    # A row the generation began counts as current when the grid in force now is that state brought back by a
    # revert of the later generations (a new row with the same shape and figures), so that a chain of
    # generations is reverted newest first, as the refusal below advises.
    began = ws.session.execute(
        text(
            "SELECT b.code, b.valid_to IS NULL OR c.id IS NOT NULL AS current, b.retired_generation_id "
            "FROM grid_unit b LEFT JOIN grid_unit c ON b.valid_to IS NOT NULL AND c.code = b.code "
            "AND c.valid_to IS NULL AND c.level = b.level AND c.parent_code IS NOT DISTINCT FROM b.parent_code "
            "AND c.name = b.name AND c.name_en IS NOT DISTINCT FROM b.name_en AND c.households = b.households "
            "AND c.population = b.population AND ST_Equals(c.geom, b.geom) WHERE b.generation_id = :g"
        ),
        {"g": generation},
    ).all()
    ended = ws.session.execute(
        text("SELECT id, code FROM grid_unit WHERE retired_generation_id = :g"), {"g": generation}
    ).all()
    edits = ws.session.scalar(text("SELECT detail FROM grid_generation WHERE id = :g"), {"g": generation})
    if edits is None and not began and not ended:
        raise NotFound(
            f"没有该网格版本 No grid generation {generation}.",
            field="generation",
            value=generation,
            expected="the id of a grid generation (GET /api/grids/generations)",
        )
    stale = [(c, r) for c, cur, r in began if not cur]
    if stale:
        raise refuse(
            "changed_since",
            f"版本 {generation} 之后这些网格又被修改 Grids changed since generation {generation}: "
            + ", ".join(f"{c} (by generation {r})" for c, r in stale[:20])
            + ". Revert the later generations first.",
            field="generation",
            value=generation,
            expected="the newest generation of these grids",
            codes=[c for c, _ in stale],
            op=op,
        )
    for code, _, _ in began:
        ws.in_scope(code, op=op)
        ws.get(code, op=op)
    for _, code in ended:
        ws.in_scope(code, op=op)
    for code, _, _ in began:
        ws.retire(code)
    for row_id, code in ended:
        old = ws.session.get(GridUnit, row_id)
        assert old is not None
        geom = wkb.loads(bytes(ws.session.execute(select(func.ST_AsBinary(old.geom))).scalar_one()))
        ws.retired.discard(code)
        ws.create(
            Unit(
                code=code,
                level=old.level,
                parent_code=old.parent_code,
                name=old.name,
                name_en=old.name_en,
                households=old.households,
                population=old.population,
                geom=_polygonal(geom),
                restored_from=old.id,
            )
        )
    for edit in (edits or {}).get("edits", []):
        code = edit["code"]
        ws.in_scope(code, op=op)
        unit = ws.get(code, op=op)
        if unit.version != edit["after"]["version"]:
            raise refuse(
                "changed_since",
                f"{code} 在该版本后又被修改 {code} changed since generation {generation}.",
                field="generation",
                value=generation,
                expected="the newest generation of these grids",
                codes=[code],
                op=op,
            )
        for key, value in edit["before"].items():
            if key != "version":
                setattr(unit, key, value)
        ws._touch(unit)
    for w in (edits or {}).get("workers", []):
        change = ws.worker_by_ext_id(w["ext_id"], op=op)
        change.after = sorted(w["before"])
    for sp in (edits or {}).get("specials", []):
        _restore_special(ws, op, sp, generation)
    parents = {u.parent_code for u in ws.current().values() if u.level != "subdistrict"}
    ws.dirty_parents.update(p for p in parents if p)
    ws._restored_generations.append(generation)


def _restore_special(ws: Workspace, op: int, change: dict[str, Any], generation: int) -> None:
    code = change["code"]
    row = ws.session.execute(
        text(
            "SELECT code, kind, name, community_code, ST_AsBinary(geom), version, retired_at IS NOT NULL "
            "FROM special_grid WHERE code = :c"
        ),
        {"c": code},
    ).first()
    if row is None:
        raise NotFound(
            f"没有该特色网格 No special grid {code!r}.",
            field="code",
            value=code,
            expected="a special grid's code",
        )
    if int(row[5]) != change.get("version_after", int(row[5])):
        raise refuse(
            "changed_since",
            f"特色网格 {code} 在该版本后又被修改 Special grid {code} changed since generation {generation}.",
            field="generation",
            value=generation,
            expected="the newest generation of it",
            op=op,
        )
    if change["change"] == "added":
        special_retire(ws, op, code)
        return
    current = _polygonal(wkb.loads(bytes(row[4])))
    special = Special(row[0], row[1], row[2], row[3], current, int(row[5]))
    ws.in_scope(*([special.community_code] if special.community_code else [code.split("-")[0]]), op=op)
    if change["change"] == "retired":
        special.revived = True
    else:
        special.geom = _polygonal(shapely.from_wkt(change["wkt_before"]))
        special.name = change["name_before"]
    ws.specials_before[code] = Special(row[0], row[1], row[2], row[3], current, int(row[5]))
    ws.specials[code] = special


def apply(ws: Workspace, operations: Any) -> list[dict[str, Any]]:
    """Apply a list of operations in order; returns what each did (new codes)."""
    if not isinstance(operations, list) or not operations or len(operations) > 200:
        raise refuse(
            "bad_operations",
            "需要 1–200 个操作 operations must be a list of 1 to 200 operations.",
            value=str(operations)[:200],
            expected="a list of operations: " + ", ".join(OPERATIONS),
        )
    results: list[dict[str, Any]] = []
    for i, raw in enumerate(operations):
        if not isinstance(raw, dict) or raw.get("op") not in OPERATIONS:
            raise refuse(
                "bad_operation",
                f"第 {i + 1} 个操作无效 Operation {i + 1} is not one of " + ", ".join(OPERATIONS) + ".",
                field=f"operations[{i}].op",
                value=str(raw.get("op") if isinstance(raw, dict) else raw)[:100],
                expected=", ".join(OPERATIONS),
                op=i,
            )
        kind = raw["op"]
        args = {k: v for k, v in raw.items() if k != "op"}
        allowed = OP_ARGS[kind]
        extra = sorted(set(args) - set(allowed))
        if extra:
            raise refuse(
                "bad_operation",
                f"操作 {kind} 不接受 {', '.join(extra)} Operation {kind} does not take {', '.join(extra)}.",
                field=f"operations[{i}]",
                value=", ".join(extra),
                expected=", ".join(allowed),
                op=i,
            )
        result: dict[str, Any] = {"op": kind}
        if kind == "reshape":
            reshape(ws, i, args.get("a"), args.get("b"), args.get("line"))
        elif kind == "split":
            result["codes"] = split(ws, i, args.get("code"), args.get("line"), args.get("names"))
        elif kind == "merge":
            result["code"] = merge(ws, i, args.get("codes"), args.get("keep"), args.get("name"))
        elif kind == "move_place":
            move_place(ws, i, args.get("kind"), args.get("ext_id"), args.get("to"))
        elif kind == "move_grid":
            result["code"] = move_grid(ws, i, args.get("code"), args.get("to_parent"))
        elif kind == "partition":
            result["codes"] = partition(ws, i, args.get("general"), args.get("parts"), args.get("names"))
        elif kind == "special_create":
            result["code"] = special_create(
                ws, i, args.get("kind"), args.get("name"), args.get("geometry"), args.get("community_code")
            )
        elif kind == "special_reshape":
            special_reshape(ws, i, args.get("code"), args.get("geometry"), args.get("name"))
        elif kind == "special_retire":
            special_retire(ws, i, args.get("code"))
        elif kind == "rename":
            rename(ws, i, args.get("code"), args.get("name"), args.get("name_en"))
        elif kind == "assign_worker":
            assign_worker(ws, i, args.get("worker"), args.get("add"), args.get("remove"))
        elif kind == "restore":
            restore(ws, i, args.get("generation"))
        results.append(result)
    _recompute_parents(ws)
    return results


OP_ARGS: dict[str, tuple[str, ...]] = {
    "reshape": ("a", "b", "line"),
    "split": ("code", "line", "names"),
    "merge": ("codes", "keep", "name"),
    "move_place": ("kind", "ext_id", "to"),
    "move_grid": ("code", "to_parent"),
    "partition": ("general", "parts", "names"),
    "special_create": ("kind", "name", "geometry", "community_code"),
    "special_reshape": ("code", "geometry", "name"),
    "special_retire": ("code",),
    "rename": ("code", "name", "name_en"),
    "assign_worker": ("worker", "add", "remove"),
    "restore": ("generation",),
}


def _recompute_parents(ws: Workspace) -> None:
    """Parents whose children changed across their boundary become the union (and sums) of their children,
    level by level up to the subdistrict."""
    pending = set(ws.dirty_parents)
    while pending:
        # deepest level first, so that a community sees its general grids' new shapes
        code = max(pending, key=lambda c: (len(c), c))
        pending.discard(code)
        if code in ws.retired:
            continue
        parent = ws.get(code)
        kids = ws.children(code)
        if not kids:
            continue
        merged = _polygonal(shapely.union_all([k.geom for k in kids], grid_size=GRID))
        sums = (sum(k.households for k in kids), sum(k.population for k in kids))
        # A parent whose outline did not move keeps its row (no new version for a re-ordered ring).
        same_shape = shapely.equals_exact(shapely.normalize(merged), shapely.normalize(parent.geom), 0) or (
            ws.area_m2(shapely.symmetric_difference(merged, parent.geom)) < NOISE_M2
        )
        if not same_shape:
            ws.set_geom(parent, merged)
        if sums != (parent.households, parent.population):
            parent.households, parent.population = sums
            ws._touch(parent)
        if (not same_shape or parent.code in ws.created) and parent.parent_code:
            pending.add(parent.parent_code)


# -- checks ----------------------------------------------------------------------------------------------------


def check(ws: Workspace) -> list[Issue]:
    """The rules on the affected neighbourhood after the change set: valid shapes, no slivers, no overlap with
    any neighbour, the same area covered as before, children inside their parents, no compound or building cut,
    and (warnings) household ranges and workers."""
    issues: list[Issue] = []
    after = ws.current()
    edited = {c: u for c, u in after.items() if c in ws.changed or c in ws.created}
    sliver = ws.rules.sliver_m2
    for code, unit in edited.items():
        if not unit.geom.is_valid:
            issues.append(
                Issue("invalid_geometry", "error", code, None, shapely.is_valid_reason(unit.geom), unit.geom)
            )
            continue
        for part in _parts(unit.geom):
            area = ws.area_m2(part)
            if area < sliver:
                issues.append(Issue("sliver", "error", code, None, f"a piece of {area:.3f} m²", part))
    # Every parent the change set touches is tiled by its children (no gap inside it); the subdistrict's own
    # outline does not move (only nodes may be added to it).
    parents = {u.parent_code for u in edited.values() if u.parent_code} | {
        c for c, u in edited.items() if u.level != "micro"
    }
    for code in sorted(parents):
        parent = after.get(code) if code not in ws.retired else None
        if parent is None:
            continue
        kids = ws.children(code)
        if not kids:
            continue
        covered = shapely.union_all([k.geom for k in kids], grid_size=GRID)
        gap = _polygonal(shapely.difference(parent.geom, covered, grid_size=GRID))
        for part in _parts(gap):
            area = ws.area_m2(part)
            if area >= NOISE_M2:
                issues.append(
                    Issue(
                        "gap", "error", code, None, f"{area:.3f} m² of {code} in none of its children", part
                    )
                )
    for code, unit in edited.items():
        if unit.level == "subdistrict" and code in ws.before:
            moved = ws.area_m2(shapely.symmetric_difference(unit.geom, ws.before[code].geom))
            if moved >= sliver:
                issues.append(
                    Issue(
                        "gap",
                        "error",
                        code,
                        None,
                        f"the subdistrict outline moved by {moved:.3f} m²",
                        unit.geom.boundary,
                    )
                )
    # No overlap among the edited units and their neighbours of the same level.
    for code, unit in edited.items():
        if not unit.geom.is_valid:
            continue
        for other in ws.neighbours(unit.geom, unit.level):
            if other.code == code or other.code in ws.retired or (other.code in edited and other.code < code):
                continue
            inter = _polygonal(shapely.intersection(unit.geom, other.geom))
            area = ws.area_m2(inter)
            if area >= NOISE_M2:
                issues.append(Issue("overlap", "error", code, other.code, f"{area:.3f} m² overlap", inter))
    # Children inside their parents.
    for code, unit in after.items():
        if unit.level == "subdistrict" or (code not in edited and unit.parent_code not in edited):
            continue
        parent_code = unit.parent_code or ""
        parent = after.get(parent_code) or (None if parent_code in ws.retired else ws.get(parent_code))
        if parent is None:
            issues.append(Issue("parent_missing", "error", code, parent_code, "parent retired", unit.geom))
            continue
        out = _polygonal(shapely.difference(unit.geom, parent.geom))
        area = ws.area_m2(out)
        if area >= NOISE_M2:
            issues.append(Issue("outside_parent", "error", code, parent_code, f"{area:.3f} m² outside", out))
    for code in ws.dirty_parents | {u.parent_code for u in edited.values() if u.parent_code}:
        if code and code not in ws.retired and code in after and not ws.children(code):
            issues.append(Issue("empty_parent", "error", code, None, "no children left", after[code].geom))
    issues.extend(_special_checks(ws))
    issues.extend(_place_cuts(ws, edited, sliver))
    issues.extend(_warnings(ws, edited))
    return issues


def _special_checks(ws: Workspace) -> list[Issue]:
    """A special grid lies inside its community (or, without one, inside the subdistrict)."""
    out: list[Issue] = []
    for code, special in ws.specials.items():
        if special.retired:
            continue
        host = special.community_code or code.split("-")[0]
        parent = ws.current().get(host) or (None if host in ws.retired else ws.get(host))
        if parent is None:
            out.append(Issue("parent_missing", "error", code, host, "its community is retired", special.geom))
            continue
        outside = _polygonal(shapely.difference(special.geom, parent.geom, grid_size=GRID))
        area = ws.area_m2(outside)
        if area >= ws.rules.sliver_m2:
            out.append(Issue("outside_parent", "error", code, host, f"{area:.1f} m² outside {host}", outside))
    return out


def _place_cuts(ws: Workspace, edited: dict[str, Unit], sliver: float) -> list[Issue]:
    micro = [u for u in edited.values() if u.level == "micro"]
    if not micro:
        return []
    area = shapely.union_all([u.geom for u in micro])
    out: list[Issue] = []
    for table, rule in (("compound", "compound_split"), ("building", "building_split")):
        rows = ws.session.execute(
            text(PLACE_SQL[table]["in"]),
            {"g": shapely.to_wkb(area)},
        ).all()
        for ext_id, raw in rows:
            place = _polygonal(wkb.loads(bytes(raw)))
            holders = [u for u in ws.neighbours(place, "micro") if u.code not in ws.retired]
            pieces = [
                (u.code, ws.area_m2(_polygonal(shapely.intersection(place.buffer(0), u.geom))))
                for u in holders
            ]
            inside = [c for c, a in pieces if a >= sliver]
            if len(inside) > 1:
                out.append(
                    Issue(
                        rule,
                        "error",
                        inside[0],
                        inside[1],
                        f"{table} {ext_id} is cut across {', '.join(inside)}",
                        place,
                    )
                )
    return out


def _warnings(ws: Workspace, edited: dict[str, Unit]) -> list[Issue]:
    out: list[Issue] = []
    lo, hi = ws.rules.micro_min_households, ws.rules.micro_max_households
    # Every worker of a grid the change set loaded is in ws.workers(), so their grids after are complete.
    workers = ws.workers()
    staffed = {c for w in workers.values() for c in w.after}
    for code, unit in edited.items():
        if unit.level != "micro":
            continue
        if not lo <= unit.households <= hi:
            out.append(
                Issue(
                    "household_range",
                    "warning",
                    code,
                    None,
                    f"{unit.households} households, expected {lo}–{hi}",
                    unit.geom,
                )
            )
        if code not in staffed:
            out.append(Issue("no_worker", "warning", code, None, f"{unit.name} has no worker", unit.geom))
    for w in workers.values():
        live = [c for c in w.after if c not in ws.retired]
        if w.before and not live:
            out.append(
                Issue(
                    "worker_without_grid",
                    "warning",
                    None,
                    None,
                    f"{w.name} ({w.ext_id}) is left without a grid",
                    None,
                )
            )
    return out


@dataclass
class Outcome:
    """A change set applied in memory: what each operation did, the issues, and the workspace."""

    workspace: Workspace
    results: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        """Issues that refuse the change set."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Issues the planner confirms."""
        return [i for i in self.issues if i.severity == "warning"]


def run(
    session: Session,
    operations: Any,
    *,
    actor: Principal,
    rules: GridRuleSettings,
    srid: int = 4544,
    lock: bool = False,
) -> Outcome:
    """Apply `operations` to a workspace over the current grids and check the result (nothing written)."""
    ws = Workspace(session, actor=actor, rules=rules, srid=srid, lock=lock)
    results = apply(ws, operations)
    return Outcome(ws, results, check(ws))
