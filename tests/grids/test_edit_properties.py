"""Property test of boundary edits (issue 11): random sequences of reshape, split, merge, compound moves and
reverts on random grids of the demo subdistrict, each drafted and saved through the real change-set path, with
the invariants checked after every step — every level tiles its parent, codes stay unique and are never reused,
households and population are conserved, every compound and building lies in exactly one micro-grid, a revert
restores the earlier state exactly, a refused edit changes nothing — and the full topology validation at the end
of each sequence.

Each sequence runs in one transaction that is rolled back (every save is a savepoint, as each request is a
transaction of its own). Bounded by GISGRID_TEST_EDIT_EXAMPLES (sequences, default 10) and
GISGRID_TEST_EDIT_STEPS (operations per sequence, default 8); derandomized, so CI sees the same sequences every
run — GISGRID_TEST_EDIT_RANDOM=1 draws new random sequences each run (a failure prints the shrunk sequence,
which is then kept as a plain test in tests/grids/test_edit_regressions.py).
"""

from __future__ import annotations

import math
import os
from typing import Any, ClassVar

import pytest
import shapely
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from shapely import wkb
from shapely.geometry import LineString
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gisgrid.config import GridRuleSettings
from gisgrid.errors import GisGridError
from gisgrid.grids import changesets, edits, topology
from tests.grids.test_edits import _principal

RULES = GridRuleSettings()
EXAMPLES = int(os.environ.get("GISGRID_TEST_EDIT_EXAMPLES", "10"))
STEPS = int(os.environ.get("GISGRID_TEST_EDIT_STEPS", "8"))
RANDOM = os.environ.get("GISGRID_TEST_EDIT_RANDOM") == "1"
# Metric areas: below this (m²) a difference is floating-point noise of cutting on the 1e-7° grid.
AREA_TOL_M2 = 0.01
# The subdistrict's outline does not move: a cut only adds nodes to it, each rounded to the 1e-7° grid, so within
# ON_LINE_DEG of where it was (twice that for a node put between two earlier ones).
OUTLINE_TOL_DEG = 2 * edits.ON_LINE_DEG
FOCUS_DEG = 0.003  # candidates come from around one general grid, so that the operations meet each other

CURRENT = (
    "SELECT code, level, parent_code, name, households, population, md5(ST_AsBinary(ST_Normalize(geom))) "
    "FROM grid_unit WHERE valid_to IS NULL ORDER BY code"
)


def grid_state(session: Session) -> dict[str, tuple[Any, ...]]:
    """Every grid in force: code → (level, parent, name, households, population, normalized shape digest)."""
    return {r[0]: tuple(r[1:]) for r in session.execute(text(CURRENT)).all()}


def worker_state(session: Session) -> list[tuple[int, str]]:
    """Who serves which grid."""
    return [
        (w, c) for w, c in session.execute(text("SELECT worker_id, grid_code FROM worker_grid ORDER BY 1, 2"))
    ]


def geom(session: Session, code: str) -> Any:
    raw = session.execute(
        text("SELECT ST_AsBinary(geom) FROM grid_unit WHERE code = :c AND valid_to IS NULL"), {"c": code}
    ).scalar_one()
    return wkb.loads(bytes(raw))


# -- invariants (SQL on the real database) ---------------------------------------------------------------------

TILING = """
WITH cur AS (SELECT code, level, parent_code, geom, ST_Area(ST_Transform(geom, :srid)) AS area
               FROM grid_unit WHERE valid_to IS NULL)
SELECT 'area' AS what, p.code, abs(p.area - sum(c.area)) AS amount
  FROM cur p JOIN cur c ON c.parent_code = p.code GROUP BY p.code, p.area HAVING abs(p.area - sum(c.area)) > :tol
UNION ALL
SELECT 'childless', p.code, 0 FROM cur p
 WHERE p.level <> 'micro' AND NOT EXISTS (SELECT 1 FROM cur c WHERE c.parent_code = p.code)
UNION ALL
SELECT 'orphan', c.code, 0 FROM cur c
 WHERE c.level <> 'subdistrict' AND NOT EXISTS (SELECT 1 FROM cur p WHERE p.code = c.parent_code)
UNION ALL
SELECT 'outside', c.code, ST_Area(ST_Transform(ST_Difference(c.geom, p.geom), :srid))
  FROM grid_unit c JOIN cur p ON p.code = c.parent_code
 WHERE c.valid_to IS NULL AND c.generation_id = :gen
   AND ST_Area(ST_Transform(ST_Difference(c.geom, p.geom), :srid)) > :noise
UNION ALL
SELECT 'overlap', a.code || '/' || b.code, ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), :srid))
  FROM grid_unit a JOIN cur b ON b.level = a.level AND b.code <> a.code AND b.geom && a.geom
 WHERE a.valid_to IS NULL AND a.generation_id = :gen AND ST_Relate(a.geom, b.geom, '2********')
   AND ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), :srid)) > :noise
"""

CODES = """
SELECT 'duplicate' AS what, code FROM grid_unit WHERE valid_to IS NULL GROUP BY code HAVING count(*) > 1
UNION ALL
SELECT 'identity', code FROM grid_unit GROUP BY code HAVING count(DISTINCT (level, parent_code)) > 1
UNION ALL
SELECT 'versions', code FROM grid_unit GROUP BY code
HAVING count(*) <> max(version) OR count(DISTINCT version) <> count(*)
UNION ALL
SELECT 'periods', a.code FROM grid_unit a JOIN grid_unit b ON b.code = a.code AND b.version = a.version + 1
 WHERE a.valid_to IS NULL OR b.valid_from < a.valid_to
"""

SUMS = """
WITH cur AS (SELECT code, level, parent_code, households, population FROM grid_unit WHERE valid_to IS NULL)
SELECT p.code, p.households, sum(c.households), p.population, sum(c.population)
  FROM cur p JOIN cur c ON c.parent_code = p.code GROUP BY p.code, p.households, p.population
HAVING p.households <> sum(c.households) OR p.population <> sum(c.population)
"""

PLACES = """
SELECT t.kind, t.ext_id, count(g.code) FILTER (
         WHERE ST_Area(ST_Transform(ST_Intersection(t.geom, g.geom), :srid)) >= :sliver) AS holders
  FROM (SELECT 'compound' AS kind, ext_id, geom FROM compound
        UNION ALL SELECT 'building', ext_id, geom FROM building) t
  LEFT JOIN grid_unit g ON g.level = 'micro' AND g.valid_to IS NULL AND g.geom && t.geom
       AND ST_Intersects(g.geom, t.geom)
 GROUP BY t.kind, t.ext_id HAVING count(g.code) FILTER (
         WHERE ST_Area(ST_Transform(ST_Intersection(t.geom, g.geom), :srid)) >= :sliver) <> 1
"""


def check_invariants(session: Session, *, generation: int, totals: tuple[int, int], outline: bytes) -> None:
    """The cheap invariants of the grid hierarchy after a saved generation (its new rows checked against their
    neighbours, areas and sums everywhere)."""
    params = {"srid": 4544, "tol": AREA_TOL_M2, "noise": topology.NOISE_M2, "gen": generation}
    assert session.execute(text(TILING), params).all() == []
    assert session.execute(text(CODES)).all() == []
    assert session.execute(text(SUMS)).all() == []
    assert micro_totals(session) == totals
    assert outline_moved(session, outline) <= OUTLINE_TOL_DEG
    assert session.execute(text(PLACES), {"srid": 4544, "sliver": RULES.sliver_m2}).all() == []


def micro_totals(session: Session) -> tuple[int, int]:
    row = session.execute(
        text(
            "SELECT sum(households), sum(population) FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL"
        )
    ).one()
    return int(row[0]), int(row[1])


def subdistrict_outline(session: Session) -> bytes:
    return bytes(
        session.execute(
            text("SELECT ST_AsBinary(geom) FROM grid_unit WHERE level = 'subdistrict' AND valid_to IS NULL")
        ).scalar_one()
    )


def outline_moved(session: Session, outline: bytes) -> float:
    """How far (degrees) the subdistrict's outline is from where it started."""
    return float(
        session.execute(
            text(
                "SELECT ST_HausdorffDistance(ST_Boundary(geom), ST_Boundary(ST_GeomFromWKB(:g, 4326))) "
                "FROM grid_unit WHERE level = 'subdistrict' AND valid_to IS NULL"
            ),
            {"g": outline},
        ).scalar_one()
    )


def full_validation_errors(session: Session) -> list[dict[str, Any]]:
    """Errors of the full topology validation (topology.sql) over the whole subdistrict."""
    report = topology.validate(session, rules=RULES)
    return [i for i in report["issues"] if i["severity"] == "error"]


# -- drawing random operations on the current grids ------------------------------------------------------------

PAIRS = """
SELECT a.code, b.code FROM grid_unit a JOIN grid_unit b ON a.code < b.code AND b.level = 'micro'
   AND b.valid_to IS NULL AND b.geom && a.geom AND ST_Relate(a.geom, b.geom, '****1****') {same}
 WHERE a.level = 'micro' AND a.valid_to IS NULL
   AND a.geom && ST_Expand((SELECT geom FROM grid_unit WHERE code = :focus ORDER BY version DESC LIMIT 1), :d)
 ORDER BY a.code, b.code
"""
MICROS = """
SELECT code FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL
   AND geom && ST_Expand((SELECT geom FROM grid_unit WHERE code = :focus ORDER BY version DESC LIMIT 1), :d)
 ORDER BY code
"""
COMPOUND_MOVES = """
SELECT c.ext_id, n.code FROM compound c
  JOIN grid_unit h ON h.level = 'micro' AND h.valid_to IS NULL AND ST_Contains(h.geom, ST_PointOnSurface(c.geom))
  JOIN grid_unit n ON n.level = 'micro' AND n.valid_to IS NULL AND n.code <> h.code AND n.geom && h.geom
       AND ST_Relate(n.geom, h.geom, '****1****')
 WHERE h.geom && ST_Expand((SELECT geom FROM grid_unit WHERE code = :focus ORDER BY version DESC LIMIT 1), :d)
   AND ST_DWithin(c.geom, n.geom, 0.0003)
 ORDER BY c.ext_id, n.code
"""


def pushed_edge(edge: LineString, *, at: int, metres: float) -> list[tuple[float, float]]:
    """The edge with one inner vertex (or, with none, a new middle one) moved `metres` sideways."""
    coords = [(float(x), float(y)) for x, y in edge.coords]
    if len(coords) > 2:
        k = 1 + at % (len(coords) - 2)
    else:
        mid = edge.interpolate(0.5, normalized=True)
        coords.insert(1, (mid.x, mid.y))
        k = 1
    (x0, y0), (x1, y1) = coords[k - 1], coords[k + 1]
    lat = math.cos(math.radians(coords[k][1]))
    dx, dy = (x1 - x0) * lat, y1 - y0
    norm = math.hypot(dx, dy) or 1.0
    deg = metres / 111_320
    coords[k] = (coords[k][0] - dy / norm * deg / lat, coords[k][1] + dx / norm * deg)
    return coords


def split_line(g: Any, *, angle: float, offset: float) -> list[tuple[float, float]]:
    """A straight line across the whole of `g` at `angle` (radians), `offset` (a share of its size) off centre."""
    x0, y0, x1, y1 = g.bounds
    cx, cy = g.centroid.x, g.centroid.y
    size = max(x1 - x0, y1 - y0)
    ux, uy = math.cos(angle), math.sin(angle)
    px, py = cx - uy * offset * size, cy + ux * offset * size
    return [(px - ux * size * 2, py - uy * size * 2), (px + ux * size * 2, py + uy * size * 2)]


class EditSequence(RuleBasedStateMachine):
    """One random sequence of saved edits on the demo subdistrict, in a transaction rolled back at the end."""

    engine: ClassVar[Engine]
    tally: ClassVar[dict[str, int]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.conn = self.engine.connect()
        self.trans = self.conn.begin()
        self.session = Session(bind=self.conn, join_transaction_mode="create_savepoint")
        self.ctx = changesets.Context(actor=_principal(self.session, "admin"), rules=RULES)
        self.totals = micro_totals(self.session)
        self.outline = subdistrict_outline(self.session)
        self.seen = set(self.session.execute(text("SELECT DISTINCT code FROM grid_unit")).scalars())
        self.saved: list[tuple[int, dict[str, tuple[Any, ...]], list[tuple[int, str]]]] = []
        self.focus = ""
        self.log: list[str] = []

    def teardown(self) -> None:
        try:
            if self.trans.is_active and self.saved:
                assert full_validation_errors(self.session) == [], self.log
        finally:
            self.session.close()
            if self.trans.is_active:
                self.trans.rollback()
            self.conn.close()

    @initialize(i=st.integers(0, 10_000))
    def choose_focus(self, i: int) -> None:
        generals = (
            self.session.execute(
                text("SELECT code FROM grid_unit WHERE level = 'general' AND valid_to IS NULL ORDER BY code")
            )
            .scalars()
            .all()
        )
        self.focus = generals[i % len(generals)]

    # -- saving ------------------------------------------------------------------------------------------------

    def attempt(self, operations: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Draft and save `operations` as two requests would (each its own savepoint); a refusal (a 4xx domain
        error) must leave everything as it was. Returns the saved change set's view, or None when refused."""
        self.log.append(repr(operations))
        kind = operations[0]["op"]
        grids, workers = grid_state(self.session), worker_state(self.session)
        drafts = self.session.execute(text("SELECT count(*) FROM grid_change_set")).scalar_one()
        step = self.session.begin_nested()
        try:
            cs = changesets.create(self.session, operations=operations, reason="property", ctx=self.ctx)
            step.commit()
        except GisGridError:
            assert grid_state(self.session) == grids
            assert self.session.execute(text("SELECT count(*) FROM grid_change_set")).scalar_one() == drafts
            step.rollback()
            self.count(kind + " refused")
            return None
        step = self.session.begin_nested()
        try:
            saved = changesets.save(
                self.session, cs.id, confirm_warnings=True, expected_version=None, ctx=self.ctx
            )
            step.commit()
        except GisGridError:
            step.rollback()
            assert grid_state(self.session) == grids and worker_state(self.session) == workers
            self.count(kind + " refused at save")
            return None
        self.count(kind + " saved")
        assert saved.generation_id is not None
        view = changesets.view(saved)
        created = self.session.execute(
            text("SELECT code FROM grid_unit WHERE generation_id = :g AND version = 1"),
            {"g": saved.generation_id},
        ).scalars()
        reused = sorted(set(created) & self.seen)
        assert reused == [], f"codes used again: {reused}"
        self.seen |= set(self.session.execute(text("SELECT DISTINCT code FROM grid_unit")).scalars())
        self.saved.append((saved.generation_id, grids, workers))
        return view

    def count(self, what: str) -> None:
        self.tally[what] = self.tally.get(what, 0) + 1

    # -- the operations ----------------------------------------------------------------------------------------

    def _pairs(self, *, siblings: bool) -> list[tuple[str, str]]:
        sql = PAIRS.format(same="AND b.parent_code = a.parent_code" if siblings else "")
        return [(a, b) for a, b in self.session.execute(text(sql), {"focus": self.focus, "d": FOCUS_DEG})]

    @rule(i=st.integers(0, 10_000), at=st.integers(0, 100), metres=st.floats(0.5, 8.0), left=st.booleans())
    def reshape(self, i: int, at: int, metres: float, left: bool) -> None:
        pairs = self._pairs(siblings=False)
        if not pairs:
            return
        a, b = pairs[i % len(pairs)]
        shared = edits.shared_edges(geom(self.session, a), geom(self.session, b))
        if not shared:
            return
        line = pushed_edge(shared[at % len(shared)], at=at, metres=metres if left else -metres)
        self.attempt([{"op": "reshape", "a": a, "b": b, "line": line}])

    @rule(
        i=st.integers(0, 10_000),
        angle=st.floats(0.0, math.pi, exclude_max=True),
        offset=st.floats(-0.4, 0.4),
    )
    def split(self, i: int, angle: float, offset: float) -> None:
        micros = self.session.execute(text(MICROS), {"focus": self.focus, "d": FOCUS_DEG}).scalars().all()
        code = micros[i % len(micros)]
        line = split_line(geom(self.session, code), angle=angle, offset=offset)
        self.attempt([{"op": "split", "code": code, "line": line}])

    @rule(i=st.integers(0, 10_000), j=st.integers(0, 100))
    def split_between_compounds(self, i: int, j: int) -> None:
        """Split a micro-grid along the border of one compound's region (the street between compounds), the
        split a planner would draw."""
        micros = self.session.execute(text(MICROS), {"focus": self.focus, "d": FOCUS_DEG}).scalars().all()
        code = micros[i % len(micros)]
        grid = geom(self.session, code)
        places = [
            wkb.loads(bytes(g))
            for (g,) in self.session.execute(
                text(
                    "SELECT ST_AsBinary(geom) FROM compound WHERE ST_Contains(ST_GeomFromWKB(:g, 4326), "
                    "ST_PointOnSurface(geom)) ORDER BY ext_id"
                ),
                {"g": grid.wkb},
            )
        ]
        if len(places) < 2:
            return
        ws = edits.Workspace(self.session, actor=self.ctx.actor, rules=RULES)
        region = shapely.intersection(edits.place_regions(ws, grid, places)[j % len(places)], grid)
        border = shapely.line_merge(shapely.difference(region.boundary, grid.boundary.buffer(1e-7)))
        if not isinstance(border, LineString) or border.is_empty:
            return
        coords = list(border.coords)
        ends = [shapely.Point(coords[0]), shapely.Point(coords[-1])]
        if any(grid.boundary.distance(p) > 1e-6 for p in ends):
            return

        def beyond(p: tuple[float, ...], q: tuple[float, ...]) -> tuple[float, float]:
            return (p[0] + (p[0] - q[0]) * 0.2, p[1] + (p[1] - q[1]) * 0.2)

        line = [beyond(coords[0], coords[1]), *coords, beyond(coords[-1], coords[-2])]
        self.attempt([{"op": "split", "code": code, "line": [(float(x), float(y)) for x, y, *_ in line]}])

    @rule(i=st.integers(0, 10_000))
    def merge(self, i: int) -> None:
        pairs = self._pairs(siblings=True)
        if pairs:
            a, b = pairs[i % len(pairs)]
            self.attempt([{"op": "merge", "codes": [a, b]}])

    @rule(i=st.integers(0, 10_000))
    def move_compound(self, i: int) -> None:
        moves = self.session.execute(text(COMPOUND_MOVES), {"focus": self.focus, "d": FOCUS_DEG}).all()
        if moves:
            ext_id, to = moves[i % len(moves)]
            self.attempt([{"op": "move_place", "kind": "compound", "ext_id": ext_id, "to": to}])

    @precondition(lambda self: bool(self.saved))
    @rule(back=st.integers(0, 3))
    def revert(self, back: int) -> None:
        k = len(self.saved) - 1 - back % len(self.saved)
        generation, grids_before, workers_before = self.saved[k]
        began = set(
            self.session.execute(
                text("SELECT code FROM grid_unit WHERE generation_id = :g"), {"g": generation}
            ).scalars()
        )
        ended = set(
            self.session.execute(
                text("SELECT code FROM grid_unit WHERE retired_generation_id = :g"), {"g": generation}
            ).scalars()
        )
        now, workers_now = grid_state(self.session), worker_state(self.session)
        latest = k == len(self.saved) - 1
        self.log.append(f"revert generation {generation} ({'latest' if latest else 'earlier'})")
        step = self.session.begin_nested()
        try:
            cs = changesets.revert(self.session, generation_id=generation, reason="property", ctx=self.ctx)
            changesets.save(self.session, cs.id, confirm_warnings=True, expected_version=None, ctx=self.ctx)
            step.commit()
        except GisGridError:
            assert grid_state(self.session) == now
            step.rollback()
            self.count("revert refused")
            return
        self.count("revert saved")
        after = grid_state(self.session)
        expected = {c: v for c, v in now.items() if c not in began}
        expected.update({c: grids_before[c] for c in ended})
        assert after == expected, self.log
        if latest:
            assert after == grids_before and worker_state(self.session) == workers_before, self.log
        self.saved.append((self.last_generation(), now, workers_now))

    def last_generation(self) -> int:
        return int(self.session.execute(text("SELECT max(id) FROM grid_generation")).scalar_one())

    # -- after every step ----------------------------------------------------------------------------------

    @invariant()
    def hierarchy_holds(self) -> None:
        if not self.saved:
            return
        check_invariants(self.session, generation=self.saved[-1][0], totals=self.totals, outline=self.outline)


def test_random_edit_sequences_keep_every_invariant(engine: Engine) -> None:
    EditSequence.engine = engine
    EditSequence.tally = {}
    run_state_machine_as_test(
        EditSequence,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=not RANDOM,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print("edit sequences:", dict(sorted(EditSequence.tally.items())))
    # Not vacuous: the sequences did save edits (and some were refused, which must change nothing).
    assert sum(n for what, n in EditSequence.tally.items() if what.endswith(" saved")) >= EXAMPLES


@pytest.mark.parametrize("metres", [3.0, -3.0])
def test_pushed_edge_moves_one_inner_vertex_sideways(metres: float) -> None:
    edge = LineString([(104.0, 30.0), (104.001, 30.0)])
    line = pushed_edge(edge, at=0, metres=metres)
    assert line[0] == edge.coords[0] and line[-1] == edge.coords[-1] and len(line) == 3
    assert shapely.Point(line[1]).distance(edge) * 111_320 == pytest.approx(abs(metres), rel=1e-3)
