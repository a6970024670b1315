"""Boundary edits on the demo subdistrict: each operation saved as one generation that keeps every level tiled
(checked by the full topology validation), the refusals (each a 4xx naming the rule and where, nothing saved),
scope, stale drafts, warnings that need confirming, reverts and the audit trail."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely import wkb
from shapely.geometry import LineString, Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.config import GridRuleSettings
from gisgrid.errors import Conflict, Forbidden, InvalidInput
from gisgrid.grids import changesets, edits, topology
from gisgrid.grids.edits import EditRefused
from tests.conftest import bearer

RULES = GridRuleSettings()


def _pv(cs: Any) -> dict[str, Any]:
    assert cs.preview is not None
    return dict(cs.preview)


def _gen(cs: Any) -> int:
    assert cs.generation_id is not None
    return int(cs.generation_id)


def _principal(session: Session, username: str) -> Principal:
    row = session.execute(text("SELECT id, role FROM app_user WHERE username = :u"), {"u": username}).one()
    scope = session.execute(
        text(
            "SELECT coalesce(array_agg(g.code), '{}') FROM app_user u "
            "LEFT JOIN LATERAL unnest(u.scope_codes) AS s(code) ON TRUE "
            "LEFT JOIN grid_unit g ON g.code = s.code AND g.valid_to IS NULL WHERE u.username = :u"
        ),
        {"u": username},
    ).scalar_one()
    return Principal(user_id=row[0], username=username, role=row[1], scope_codes=tuple(c for c in scope if c))


@pytest.fixture
def admin(session: Session) -> changesets.Context:
    return changesets.Context(actor=_principal(session, "admin"), rules=RULES)


def _geom(session: Session, code: str) -> Any:
    raw = session.execute(
        text("SELECT ST_AsBinary(geom) FROM grid_unit WHERE code = :c AND valid_to IS NULL"), {"c": code}
    ).scalar_one()
    return wkb.loads(bytes(raw))


def _errors(session: Session) -> list[dict[str, Any]]:
    report = topology.validate(session, rules=RULES)
    return [i for i in report["issues"] if i["severity"] == "error" and i["rule"] != "household_range"]


def _totals(session: Session) -> tuple[int, int]:
    row = session.execute(
        text(
            "SELECT sum(households), sum(population) FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL"
        )
    ).one()
    return int(row[0]), int(row[1])


def _siblings(session: Session) -> Iterator[tuple[str, str]]:
    rows = session.execute(
        text(
            "SELECT a.code, b.code FROM grid_unit a JOIN grid_unit b ON a.parent_code = b.parent_code "
            "AND a.code < b.code AND b.level = 'micro' AND b.valid_to IS NULL "
            "AND ST_Relate(a.geom, b.geom, '****1****') "
            "WHERE a.level = 'micro' AND a.valid_to IS NULL ORDER BY a.code, b.code LIMIT 40"
        )
    ).all()
    yield from ((a, b) for a, b in rows)


def _nudged_edge(session: Session, a: str, b: str, metres: float) -> list[tuple[float, float]]:
    """The shared edge of a and b with its midpoint pushed `metres` sideways (a new middle vertex)."""
    edge = edits.shared_edges(_geom(session, a), _geom(session, b))[0]
    mid = edge.interpolate(0.5, normalized=True)
    ahead = edge.interpolate(0.5 + 1e-3, normalized=True)
    dx, dy = ahead.x - mid.x, ahead.y - mid.y
    norm = math.hypot(dx * math.cos(math.radians(mid.y)), dy) or 1.0
    deg = metres / 111_320
    nx, ny = -dy / norm * deg, dx / norm * deg / math.cos(math.radians(mid.y))
    before = [c for c in edge.coords if edge.project(Point(c), normalized=True) < 0.5]
    after = [c for c in edge.coords if edge.project(Point(c), normalized=True) > 0.5]
    return [*before, (mid.x + nx, mid.y + ny), *after]


def _reshapable(session: Session, ctx: changesets.Context) -> tuple[str, str, list[tuple[float, float]]]:
    for a, b in _siblings(session):
        if len(edits.shared_edges(_geom(session, a), _geom(session, b))) != 1:
            continue
        line = _nudged_edge(session, a, b, 3.0)
        try:
            changesets.preview(session, [{"op": "reshape", "a": a, "b": b, "line": line}], ctx)
        except EditRefused:
            continue
        return a, b, line
    raise AssertionError("no reshapable edge in the demo data")


def test_a_reshape_moves_the_shared_edge_for_both_grids_and_keeps_everything_tiled(
    session: Session, admin: changesets.Context
) -> None:
    a, b, line = _reshapable(session, admin)
    union_before = shapely.union(_geom(session, a), _geom(session, b))
    totals = _totals(session)
    cs = changesets.create(
        session, operations=[{"op": "reshape", "a": a, "b": b, "line": line}], reason="r", ctx=admin
    )
    assert {u["code"] for u in _pv(cs)["units"]} >= {a, b}
    assert cs.base_versions[a] == 1 and cs.base_versions[b] == 1
    saved = changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
    assert saved.status == "saved" and saved.generation_id
    ga, gb = _geom(session, a), _geom(session, b)
    shared = edits.shared_edges(ga, gb)
    assert len(shared) == 1
    # The new middle vertex is on the edge both grids now share, and the pair covers what it covered.
    assert shared[0].distance(Point(line[len(line) // 2])) < 1e-9
    assert shapely.symmetric_difference(shapely.union(ga, gb), union_before).area < 1e-12
    assert _errors(session) == []
    assert _totals(session) == totals
    versions = session.execute(
        text(
            "SELECT code, version, generation_id FROM grid_unit WHERE code IN (:a, :b) AND valid_to IS NULL"
        ),
        {"a": a, "b": b},
    ).all()
    assert {(c, v, g) for c, v, g in versions} == {(a, 2, saved.generation_id), (b, 2, saved.generation_id)}
    # The old versions stay readable, and the audit row keeps before and after.
    old = session.execute(
        text("SELECT count(*) FROM grid_unit WHERE code = :a AND version = 1 AND valid_to IS NOT NULL"),
        {"a": a},
    ).scalar_one()
    assert old == 1
    audit = session.execute(
        text("SELECT before, after FROM audit_log WHERE entity = 'grid_boundaries' AND entity_key = :k"),
        {"k": str(saved.generation_id)},
    ).one()
    assert audit.before[a]["version"] == 1 and audit.after[a]["wkt"].startswith(("POLYGON", "MULTIPOLYGON"))


def test_reshape_refusals_name_the_rule_and_where(session: Session, admin: changesets.Context) -> None:
    a, b, line = _reshapable(session, admin)

    def refused(op: dict[str, Any]) -> dict[str, Any]:
        with pytest.raises(EditRefused) as caught:
            changesets.create(session, operations=[op], reason=None, ctx=admin)
        return caught.value.to_dict()

    # Ends far from the edge's end nodes.
    far = [(line[0][0] + 0.0005, line[0][1]), *line[1:]]
    out = refused({"op": "reshape", "a": a, "b": b, "line": far})
    assert out["details"]["rule"] == "edge_ends" and out["details"]["location"]["type"] == "Point"
    # A line that crosses itself.
    mid = line[len(line) // 2]
    loop = [
        line[0],
        (mid[0] + 1e-4, mid[1] + 1e-4),
        (mid[0] + 1e-4, mid[1] - 1e-4),
        (mid[0] - 1e-4, mid[1]),
        (mid[0] + 2e-4, mid[1]),
        line[-1],
    ]
    out = refused({"op": "reshape", "a": a, "b": b, "line": loop})
    assert out["details"]["rule"] == "self_intersection" and out["details"]["location"]
    # Grids that share no edge.
    lone = session.execute(
        text(
            "SELECT code FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL AND NOT ST_Intersects(geom, "
            "(SELECT geom FROM grid_unit WHERE code = :a AND valid_to IS NULL)) LIMIT 1"
        ),
        {"a": a},
    ).scalar_one()
    assert refused({"op": "reshape", "a": a, "b": lone, "line": line})["details"]["rule"] == "not_adjacent"
    # An edge moved through a building is refused with the building named.
    rows = session.execute(
        text(
            "SELECT b.ext_id, ST_X(ST_Centroid(b.geom)), ST_Y(ST_Centroid(b.geom)) FROM building b "
            "JOIN grid_unit g ON g.code IN (:a, :b) AND g.valid_to IS NULL AND ST_Contains(g.geom, b.geom) "
            "ORDER BY ST_Distance(b.geom, ST_GeomFromText(:edge, 4326)) LIMIT 8"
        ),
        {"a": a, "b": b, "edge": LineString(line).wkt},
    ).all()
    rules = set()
    for _, x, y in rows:
        try:
            changesets.create(
                session,
                operations=[{"op": "reshape", "a": a, "b": b, "line": [line[0], (x, y), line[-1]]}],
                reason=None,
                ctx=admin,
            )
        except EditRefused as exc:
            rules.add(exc.details["rule"])
            if exc.details["rule"] in ("building_split", "compound_split"):
                assert exc.details["issues"][0]["location"]["type"] == "Point"
                break
    assert rules & {"building_split", "compound_split"}, rules
    assert session.execute(text("SELECT count(*) FROM grid_change_set")).scalar_one() == 0


def _splittable(session: Session, ctx: changesets.Context) -> tuple[str, list[tuple[float, float]]]:
    """A micro-grid with room west of all its compounds, and a north-south line through that room."""
    rows = session.execute(
        text(
            "SELECT g.code, ST_XMin(g.geom), ST_YMin(g.geom), ST_YMax(g.geom), min(ST_XMin(c.geom)) "
            "FROM grid_unit g JOIN compound c ON ST_Intersects(g.geom, c.geom) "
            "WHERE g.level = 'micro' AND g.valid_to IS NULL GROUP BY g.code, g.geom "
            "HAVING min(ST_XMin(c.geom)) - ST_XMin(g.geom) > 0.0002 ORDER BY g.code LIMIT 20"
        )
    ).all()
    for code, gx, gy0, gy1, cx in rows:
        x = (gx + cx) / 2
        line = [(x, gy0 - 0.001), (x, gy1 + 0.001)]
        try:
            changesets.preview(session, [{"op": "split", "code": code, "line": line}], ctx)
        except EditRefused:
            continue
        return code, line
    raise AssertionError("no splittable micro-grid")


def test_a_split_makes_new_codes_west_to_east_conserves_households_and_needs_confirmed_warnings(
    session: Session, admin: changesets.Context
) -> None:
    code, line = _splittable(session, admin)
    parent = code[:-3]
    highest = session.execute(
        text("SELECT max(code) FROM grid_unit WHERE parent_code = :p"), {"p": parent}
    ).scalar_one()
    households = session.execute(
        text("SELECT households FROM grid_unit WHERE code = :c AND valid_to IS NULL"), {"c": code}
    ).scalar_one()
    worker = session.execute(
        text("SELECT worker_id FROM worker_grid WHERE grid_code = :c LIMIT 1"), {"c": code}
    ).scalar()
    cs = changesets.create(
        session,
        operations=[{"op": "split", "code": code, "line": line, "names": ["西片", "东片"]}],
        reason="split",
        ctx=admin,
    )
    new = _pv(cs)["results"][0]["codes"]
    assert new == [f"{parent}{int(highest[-3:]) + 1:03d}", f"{parent}{int(highest[-3:]) + 2:03d}"]
    # The western part holds no compound: warnings (households out of range, no worker) need confirming.
    assert {w["rule"] for w in _pv(cs)["warnings"]} >= {"household_range", "no_worker"}
    with pytest.raises(InvalidInput) as caught:
        changesets.save(session, cs.id, confirm_warnings=False, expected_version=None, ctx=admin)
    assert caught.value.field == "confirm_warnings"
    saved = changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
    rows = session.execute(
        text(
            "SELECT code, name, households, ST_X(ST_Centroid(geom)) FROM grid_unit "
            "WHERE code = ANY(:c) AND valid_to IS NULL ORDER BY code"
        ),
        {"c": new},
    ).all()
    assert [r.name for r in rows] == ["西片", "东片"] and rows[0][3] < rows[1][3]
    assert rows[0].households == 0 and rows[1].households == households
    retired = session.execute(
        text("SELECT retired_generation_id FROM grid_unit WHERE code = :c ORDER BY version DESC LIMIT 1"),
        {"c": code},
    ).scalar_one()
    assert retired == saved.generation_id
    if worker:
        served = (
            session.execute(text("SELECT grid_code FROM worker_grid WHERE worker_id = :w"), {"w": worker})
            .scalars()
            .all()
        )
        assert new[1] in served and code not in served
    assert _errors(session) == []
    # Splitting again never reuses the retired code or the numbers just taken.
    assert all(c > highest for c in new)


def test_split_refusals(session: Session, admin: changesets.Context) -> None:
    code, line = _splittable(session, admin)
    g = _geom(session, code)
    x0, y0, x1, y1 = g.bounds
    with pytest.raises(EditRefused) as caught:
        changesets.preview(
            session, [{"op": "split", "code": code, "line": [(x1 + 0.01, y0), (x1 + 0.01, y1)]}], admin
        )
    assert caught.value.details["rule"] == "split_misses"
    # A sliver: a cut 1 cm inside the western tip.
    west = min(shapely.get_coordinates(g), key=lambda c: c[0])
    with pytest.raises(EditRefused) as caught:
        changesets.preview(
            session,
            [
                {
                    "op": "split",
                    "code": code,
                    "line": [(west[0] + 2e-7, west[1] - 0.001), (west[0] + 2e-7, west[1] + 0.001)],
                }
            ],
            admin,
        )
    assert caught.value.details["rule"] in ("sliver", "split_misses")
    # Through the middle of the grid: compounds are cut.
    cx = g.centroid.x
    with pytest.raises(EditRefused) as caught:
        changesets.preview(
            session, [{"op": "split", "code": code, "line": [(cx, y0 - 0.001), (cx, y1 + 0.001)]}], admin
        )
    assert caught.value.details["rule"] in ("compound_split", "building_split")


def test_merge_sums_households_and_refuses_grids_that_are_not_neighbours_or_siblings(
    session: Session, admin: changesets.Context
) -> None:
    a, b = next(_siblings(session))
    hh = session.execute(
        text("SELECT sum(households) FROM grid_unit WHERE code IN (:a, :b) AND valid_to IS NULL"),
        {"a": a, "b": b},
    ).scalar_one()
    cs = changesets.create(session, operations=[{"op": "merge", "codes": [a, b]}], reason="m", ctx=admin)
    changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
    assert (
        session.execute(
            text("SELECT households FROM grid_unit WHERE code = :a AND valid_to IS NULL"), {"a": a}
        ).scalar_one()
        == hh
    )
    assert (
        session.execute(
            text("SELECT count(*) FROM grid_unit WHERE code = :b AND valid_to IS NULL"), {"b": b}
        ).scalar_one()
        == 0
    )
    assert (
        session.execute(text("SELECT count(*) FROM worker_grid WHERE grid_code = :b"), {"b": b}).scalar_one()
        == 0
    )
    assert _errors(session) == []
    other = session.execute(
        text(
            "SELECT code FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL AND parent_code <> :p "
            "AND ST_Relate(geom, (SELECT geom FROM grid_unit WHERE code = :a AND valid_to IS NULL), '****1****') "
            "LIMIT 1"
        ),
        {"p": a[:-3], "a": a},
    ).scalar()
    if other:
        with pytest.raises(EditRefused) as caught:
            changesets.preview(session, [{"op": "merge", "codes": [a, other]}], admin)
        assert caught.value.details["rule"] == "different_parents"
    far = session.execute(
        text(
            "SELECT code FROM grid_unit WHERE parent_code = :p AND valid_to IS NULL AND NOT ST_Intersects(geom, "
            "(SELECT geom FROM grid_unit WHERE code = :a AND valid_to IS NULL)) LIMIT 1"
        ),
        {"p": a[:-3], "a": a},
    ).scalar()
    if far:
        with pytest.raises(EditRefused) as caught:
            changesets.preview(session, [{"op": "merge", "codes": [a, far]}], admin)
        assert caught.value.details["rule"] == "not_adjacent"


def test_a_compound_moves_to_the_neighbour_with_its_households(
    session: Session, admin: changesets.Context
) -> None:
    for a, b in _siblings(session):
        compounds = session.execute(
            text(
                "SELECT c.ext_id, c.households FROM compound c JOIN grid_unit g ON g.code = :a "
                "AND g.valid_to IS NULL AND ST_Contains(g.geom, ST_PointOnSurface(c.geom))"
            ),
            {"a": a},
        ).all()
        for ext_id, households in compounds:
            op = {"op": "move_place", "kind": "compound", "ext_id": ext_id, "to": b}
            try:
                cs = changesets.create(session, operations=[op], reason="move", ctx=admin)
            except EditRefused:
                continue
            before = session.execute(
                text("SELECT code, households FROM grid_unit WHERE code IN (:a, :b) AND valid_to IS NULL"),
                {"a": a, "b": b},
            ).all()
            assert [c["ext_id"] for c in _pv(cs)["compounds"]] == [ext_id]
            changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
            after: dict[str, int] = dict(
                session.execute(
                    text(
                        "SELECT code, households FROM grid_unit WHERE code IN (:a, :b) AND valid_to IS NULL"
                    ),
                    {"a": a, "b": b},
                ).all()
            )
            was: dict[str, int] = dict(before)
            assert after[a] == was[a] - households and after[b] == was[b] + households
            inside = session.execute(
                text(
                    "SELECT ST_Contains(g.geom, c.geom) FROM compound c, grid_unit g WHERE c.ext_id = :e "
                    "AND g.code = :b AND g.valid_to IS NULL"
                ),
                {"e": ext_id, "b": b},
            ).scalar_one()
            assert inside
            assert _errors(session) == []
            return
    raise AssertionError("no movable compound")


def test_a_micro_grid_moves_to_the_neighbouring_general_grid_with_a_new_code(
    session: Session, admin: changesets.Context
) -> None:
    code, target = session.execute(
        text(
            "SELECT a.code, g.code FROM grid_unit a JOIN grid_unit g ON g.level = 'general' AND g.valid_to IS NULL "
            "AND a.parent_code <> g.code AND ST_Relate(a.geom, g.geom, '****1****') "
            "WHERE a.valid_to IS NULL AND a.level = 'micro' "
            "AND (SELECT count(*) FROM grid_unit s WHERE s.parent_code = a.parent_code AND s.valid_to IS NULL) > 1 "
            "ORDER BY a.code LIMIT 1"
        )
    ).one()
    highest = session.execute(
        text("SELECT max(code) FROM grid_unit WHERE parent_code = :p"), {"p": target}
    ).scalar_one()
    cs = changesets.create(
        session, operations=[{"op": "move_grid", "code": code, "to_parent": target}], reason="move", ctx=admin
    )
    new = _pv(cs)["results"][0]["code"]
    assert new == f"{target}{int(highest[-3:]) + 1:03d}"
    changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
    assert (
        session.execute(
            text("SELECT parent_code FROM grid_unit WHERE code = :c AND valid_to IS NULL"), {"c": new}
        ).scalar_one()
        == target
    )
    assert _errors(session) == []
    # The general grids follow their micro-grids: the target now covers the moved grid.
    covers = session.execute(
        text(
            "SELECT ST_Area(ST_Difference(a.geom, g.geom)::geography) FROM grid_unit a, grid_unit g "
            "WHERE a.code = :c AND g.code = :t AND a.valid_to IS NULL AND g.valid_to IS NULL"
        ),
        {"c": new, "t": target},
    ).scalar_one()
    assert covers < 1e-3


def test_scope_stale_drafts_and_reverts(session: Session, admin: changesets.Context) -> None:
    a, b, line = _reshapable(session, admin)
    # A planner scoped to another community may not touch these grids.
    community = a[:12]
    outsider = session.execute(
        text(
            "SELECT u.username FROM app_user u WHERE u.role = 'planner' AND cardinality(u.scope_codes) > 0 "
            "AND NOT (:c = ANY(u.scope_codes)) LIMIT 1"
        ),
        {"c": community},
    ).scalar()
    if outsider:
        ctx = changesets.Context(actor=_principal(session, outsider), rules=RULES)
        with pytest.raises(Forbidden):
            changesets.create(
                session, operations=[{"op": "reshape", "a": a, "b": b, "line": line}], reason=None, ctx=ctx
            )
    # Two drafts from the same state; the second to save is stale and told who changed what.
    first = changesets.create(
        session, operations=[{"op": "reshape", "a": a, "b": b, "line": line}], reason="1", ctx=admin
    )
    second = changesets.create(session, operations=[{"op": "merge", "codes": [a, b]}], reason="2", ctx=admin)
    saved = changesets.save(session, first.id, confirm_warnings=True, expected_version=None, ctx=admin)
    with pytest.raises(Conflict) as caught:
        changesets.save(session, second.id, confirm_warnings=True, expected_version=None, ctx=admin)
    stale = {s["code"]: s for s in caught.value.details["stale"]}
    assert stale[a]["generation_id"] == saved.generation_id and stale[a]["changed_by"] == "admin"
    assert stale[a]["reason"] == "1"
    # Rebased on the new state, it saves; the first edit can then no longer be reverted on its own.
    changesets.rebase(session, second.id, ctx=admin)
    changesets.save(session, second.id, confirm_warnings=True, expected_version=None, ctx=admin)
    with pytest.raises(EditRefused) as refused:
        changesets.revert(session, generation_id=_gen(saved), reason="undo", ctx=admin)
    assert refused.value.details["rule"] == "changed_since"
    assert _errors(session) == []


def _state(session: Session, codes: list[str]) -> dict[str, tuple[Any, ...]]:
    rows = session.execute(
        text(
            "SELECT code, parent_code, name, households, population, ST_AsBinary(geom) FROM grid_unit "
            "WHERE code = ANY(:c) AND valid_to IS NULL"
        ),
        {"c": codes},
    ).all()
    return {r[0]: (r[1], r[2], r[3], r[4], wkb.loads(bytes(r[5])).normalize().wkb) for r in rows}


def test_a_revert_restores_the_earlier_state_exactly(session: Session, admin: changesets.Context) -> None:
    code, line = _splittable(session, admin)
    neighbours = (
        session.execute(
            text(
                "SELECT code FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL AND ST_DWithin(geom, "
                "(SELECT geom FROM grid_unit WHERE code = :c AND valid_to IS NULL), 1e-6)"
            ),
            {"c": code},
        )
        .scalars()
        .all()
    )
    before = _state(session, list(neighbours))
    workers = session.execute(text("SELECT worker_id, grid_code FROM worker_grid ORDER BY 1, 2")).all()
    cs = changesets.create(
        session, operations=[{"op": "split", "code": code, "line": line}], reason="s", ctx=admin
    )
    split = changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
    new = _pv(split)["results"][0]["codes"]
    revert = changesets.revert(session, generation_id=_gen(split), reason="undo", ctx=admin)
    assert {u["change"] for u in _pv(revert)["units"] if u["code"] == code} == {"restored"}
    undone = changesets.save(session, revert.id, confirm_warnings=True, expected_version=None, ctx=admin)
    gen = session.execute(
        text("SELECT source FROM grid_generation WHERE id = :g"), {"g": undone.generation_id}
    ).scalar_one()
    assert gen == "revert"
    assert _state(session, list(neighbours)) == before
    assert (
        session.execute(
            text("SELECT count(*) FROM grid_unit WHERE code = ANY(:c) AND valid_to IS NULL"), {"c": new}
        ).scalar_one()
        == 0
    )
    assert (
        session.execute(text("SELECT worker_id, grid_code FROM worker_grid ORDER BY 1, 2")).all() == workers
    )
    assert _errors(session) == []


def test_the_api_refuses_bad_operations_in_the_error_shape(client: TestClient, session: Session) -> None:
    client.headers["Authorization"] = bearer(session, client, "admin")
    a, b = next(_siblings(session))
    bodies: list[dict[str, Any]] = [
        {"operations": [{"op": "explode", "code": a}]},
        {"operations": [{"op": "reshape", "a": a, "b": b, "line": [["1e400", 0], [0, 0]]}]},
        {"operations": [{"op": "split", "code": a, "line": [[104.1, 30.6]]}]},
        {"operations": []},
        {"operations": [{"op": "rename", "code": "\u0000", "name": "x"}]},
    ]
    for body in bodies:
        raw = json.dumps(body).replace('"1e400"', "1e400")  # a number JSON allows and floats cannot hold
        res = client.post("/api/grids/changes", content=raw, headers={"Content-Type": "application/json"})
        assert res.status_code == 422, (body, res.text)
        assert res.json()["error"]["code"] in ("invalid_input", "edit_refused")
    crossing = [[104.1, 30.64], [104.101, 30.641], [104.101, 30.64], [104.1, 30.641]]
    res = client.post(
        "/api/grids/changes", json={"operations": [{"op": "split", "code": a, "line": crossing}]}
    )
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["code"] == "edit_refused" and error["details"]["rule"] == "self_intersection"
    assert error["details"]["location"]["type"] == "Point"
    res = client.post("/api/grids/changes/999999/save", json={"confirm_warnings": True})
    assert res.status_code == 404
    assert session.execute(text("SELECT count(*) FROM grid_change_set")).scalar_one() == 0


def test_drawn_vertices_snap_to_streets_compounds_and_grid_vertices_within_the_tolerance(
    session: Session, admin: changesets.Context
) -> None:
    x, y = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_StartPoint(geom) AS p FROM walk_edge ORDER BY id LIMIT 1) s"
        )
    ).one()
    ws = edits.Workspace(session, actor=admin.actor, rules=RULES)
    metre = 1 / 111_320
    near = edits.snap_line(ws, LineString([(x + 0.4 * metre, y), (x + 50 * metre, y + 50 * metre)]))
    assert near.coords[0] == (x, y)
    far = edits.snap_line(ws, LineString([(x + 3 * metre, y), (x + 50 * metre, y + 50 * metre)]))
    assert far.coords[0] != (x, y)


def test_special_grids_are_created_reshaped_retired_and_reverted_inside_their_community(
    session: Session, admin: changesets.Context
) -> None:
    community, cx, cy = session.execute(
        text(
            "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grid_unit "
            "WHERE level = 'community' AND valid_to IS NULL ORDER BY code LIMIT 1"
        )
    ).one()
    d = 0.0002
    square = [[cx - d, cy - d], [cx + d, cy - d], [cx + d, cy + d], [cx - d, cy + d], [cx - d, cy - d]]
    cs = changesets.create(
        session,
        operations=[
            {
                "op": "special_create",
                "kind": "care",
                "name": "新关爱格",
                "geometry": square,
                "community_code": community,
            }
        ],
        reason="new",
        ctx=admin,
    )
    code = _pv(cs)["results"][0]["code"]
    assert code.startswith(community[:9] + "-GA-") and _pv(cs)["specials"][0]["change"] == "added"
    created = changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
    assert session.execute(
        text("SELECT name, version FROM special_grid WHERE code = :c"), {"c": code}
    ).one() == ("新关爱格", 1)
    # A reshape reaching far outside the community is refused, naming where.
    far = [[cx - d, cy - d], [cx + 0.2, cy - d], [cx + 0.2, cy + d], [cx - d, cy + d], [cx - d, cy - d]]
    with pytest.raises(EditRefused) as caught:
        changesets.preview(session, [{"op": "special_reshape", "code": code, "geometry": far}], admin)
    assert caught.value.details["rule"] == "outside_parent" and caught.value.details["location"]
    bigger = [[x * 1.0, y * 1.0] for x, y in square]
    bigger[1][0] += d / 2
    bigger[2][0] += d / 2
    cs = changesets.create(
        session,
        operations=[{"op": "special_reshape", "code": code, "geometry": bigger}],
        reason="grow",
        ctx=admin,
    )
    changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
    assert (
        session.execute(text("SELECT version FROM special_grid WHERE code = :c"), {"c": code}).scalar_one()
        == 2
    )
    cs = changesets.create(
        session, operations=[{"op": "special_retire", "code": code}], reason="end", ctx=admin
    )
    changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
    assert session.execute(
        text("SELECT retired_at IS NOT NULL FROM special_grid WHERE code = :c"), {"c": code}
    ).scalar_one()
    # A new one never takes the retired code.
    cs = changesets.create(
        session,
        operations=[
            {
                "op": "special_create",
                "kind": "care",
                "name": "又一个",
                "geometry": square,
                "community_code": community,
            }
        ],
        reason="again",
        ctx=admin,
    )
    assert _pv(cs)["results"][0]["code"] != code
    # Reverting the creation retires it again; the layer shows only special grids in force.
    with pytest.raises(EditRefused):  # changed since it was created
        changesets.revert(session, generation_id=_gen(created), reason="undo", ctx=admin)


def test_a_general_grid_split_along_its_micro_grids_edges_recodes_them_under_two_new_general_grids(
    session: Session, admin: changesets.Context
) -> None:
    ws = edits.Workspace(session, actor=admin.actor, rules=RULES)
    for a, b in _siblings(session):
        general = ws.get(a[:-3]).geom
        edge = next(
            (
                e
                for e in edits.shared_edges(ws.get(a).geom, ws.get(b).geom)
                if general.boundary.distance(Point(e.coords[0])) < 1e-9
                and general.boundary.distance(Point(e.coords[-1])) < 1e-9
            ),
            None,
        )
        if edge is not None:
            break
    else:
        raise AssertionError("no micro-grid edge crosses a general grid")
    c = list(edge.coords)

    def beyond(p: tuple[float, ...], q: tuple[float, ...]) -> tuple[float, float]:
        return (p[0] + (p[0] - q[0]) * 0.05, p[1] + (p[1] - q[1]) * 0.05)

    line = [beyond(c[0], c[1]), *c, beyond(c[-1], c[-2])]
    code = a[:-3]
    kids = (
        session.execute(
            text("SELECT code FROM grid_unit WHERE parent_code = :c AND valid_to IS NULL"), {"c": code}
        )
        .scalars()
        .all()
    )
    households = session.execute(
        text("SELECT households FROM grid_unit WHERE code = :c AND valid_to IS NULL"), {"c": code}
    ).scalar_one()
    cs = changesets.create(
        session, operations=[{"op": "split", "code": code, "line": line}], reason="g", ctx=admin
    )
    new = _pv(cs)["results"][0]["codes"]
    assert len(new) == 2 and all(n[:-3] == code[:-3] for n in new)
    changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=admin)
    rows = session.execute(
        text("SELECT code, parent_code FROM grid_unit WHERE parent_code = ANY(:n) AND valid_to IS NULL"),
        {"n": new},
    ).all()
    # Every micro-grid moved under one of the two, keeping its three digits.
    assert sorted(r.code[-3:] for r in rows) == sorted(k[-3:] for k in kids)
    assert (
        session.execute(
            text("SELECT sum(households) FROM grid_unit WHERE code = ANY(:n) AND valid_to IS NULL"),
            {"n": new},
        ).scalar_one()
        == households
    )
    assert _errors(session) == []
