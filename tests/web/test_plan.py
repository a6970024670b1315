"""The planner's page (/static/plan.html) in headless Chromium with real mouse and keyboard events: a planner drags the middle
of a shared edge, draws a split line (after a refused one), names a new part, merges two neighbours, undoes and
redoes, confirms the warnings and saves — one grid generation, every level still tiled (topology errors: 0),
audited with before and after; then the map goes back in time and the generation is reverted from the history.
A planner scoped to 莲花社区 sees the edges to other communities without handles.

`live_url` serves one database for the whole session, never rolled back: what the journey saves is removed in
`finally` (grid rows, generations, change sets, workers' grids as they were; the append-only audit rows stay)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gisgrid.db.engine import session_scope
from gisgrid.grids import changesets, topology
from tests.web import plan_picks as picks
from tests.web.conftest import BrowserLog
from tests.web.pages import SETTLE, assert_clean, clear_expected_errors, log_in

pytestmark = pytest.mark.browser

PAGE = "/static/plan.html"
# Centre the map on [lat, lon] at a zoom, then answer the page pixel of each [lat, lon] given.
VIEW = """([lat, lon, zoom]) => { window.gisgridPlan.map.setView([lat, lon], zoom, {animate: false}); }"""
PIXELS = """(points) => { const m = window.gisgridPlan.map; const b = m.getContainer().getBoundingClientRect();
  return points.map(([lat, lon]) => { const p = m.latLngToContainerPoint([lat, lon]);
    return [b.left + p.x, b.top + p.y]; }); }"""
OPS = "() => window.gisgridPlan.workspace.draft.state.ops"
IDLE = (
    """(n) => { const d = window.gisgridPlan.workspace.draft.state; return !d.busy && d.ops.length === n; }"""
)


def open_plan(page: Page, live_url: str) -> None:
    """Open the planner's page and wait until its layers are in."""
    page.goto(live_url.rstrip("/") + PAGE)
    page.wait_for_function("() => window.gisgridPlan && window.gisgridPlan.ready")
    page.evaluate("() => window.gisgridPlan.ready")


def view(page: Page, point: picks.LonLat, zoom: float) -> None:
    """Centre the map on a point and wait until it has stopped and loaded."""
    page.evaluate(VIEW, [point[1], point[0], zoom])
    page.evaluate(SETTLE, "gisgridPlan")
    page.evaluate("() => window.gisgridPlan.loader.settled()")


def pixel(page: Page, point: picks.LonLat) -> tuple[float, float]:
    """Where a lon/lat point is on the page now."""
    x, y = page.evaluate(PIXELS, [[point[1], point[0]]])[0]
    return float(x), float(y)


def select(page: Page, code: str, inner: picks.LonLat, zoom: float = 18) -> None:
    """Click a grid and wait for its shared edges."""
    view(page, inner, zoom)
    page.mouse.click(*pixel(page, inner))
    expect(page.locator("#plan-grid .plan-grid-title code")).to_have_text(code)
    page.wait_for_function("() => window.gisgridPlan.editor.edges().length > 0")


def wait_ops(page: Page, n: int) -> list[dict[str, Any]]:
    """Wait until the draft holds `n` steps and no call is out; return them."""
    page.wait_for_function(IDLE, arg=n)
    ops: list[dict[str, Any]] = page.evaluate(OPS)
    return ops


@pytest.fixture
def restored(engine: Engine) -> Iterator[dict[str, Any]]:
    """What the test may change, as it is before; put back afterwards."""
    with engine.connect() as conn:
        before = {
            "errors": 0,
            "workers": conn.execute(text("SELECT worker_id, grid_code FROM worker_grid")).all(),
            "last_generation": conn.execute(text("SELECT max(id) FROM grid_generation")).scalar_one(),
            "last_change_set": conn.execute(
                text("SELECT coalesce(max(id), 0) FROM grid_change_set")
            ).scalar_one(),
        }
    try:
        yield before
    finally:
        with session_scope(engine) as session:
            _restore(session, before)


@pytest.fixture
def journey(engine: Engine, restored: dict[str, Any]) -> dict[str, Any]:
    """The edits to make, picked on the database as it is (and checked with the server's preview)."""
    with session_scope(engine) as session:
        ctx = picks.context(session, "planner")
        reshape = picks.pick_reshape(session, ctx)
        near = shapely.union(picks.geom(session, reshape.a), picks.geom(session, reshape.b))
        split = picks.pick_split(session, ctx, away_from=near)
        merge = picks.pick_merge(session, ctx, away_from=shapely.union(near, picks.geom(session, split.code)))
        made = {
            **restored,
            "reshape": reshape,
            "split": split,
            "merge": merge,
            "inner": {c: picks.inner_point(session, c) for c in (reshape.a, split.code, merge[0], merge[1])},
            "errors": topology.validate(session, rules=picks.RULES)["errors"],
        }
        session.rollback()
    return made


def _restore(session: Session, made: dict[str, Any]) -> None:
    """Remove every generation the test saved: their rows go, the rows they ended are current again."""
    params = {"g": made["last_generation"], "cs": made["last_change_set"]}
    session.execute(text("DELETE FROM grid_change_set WHERE id > :cs"), params)
    session.execute(text("DELETE FROM grid_unit WHERE generation_id > :g"), params)
    session.execute(
        text(
            "UPDATE grid_unit SET valid_to = NULL, retired_generation_id = NULL WHERE retired_generation_id > :g"
        ),
        params,
    )
    session.execute(text("DELETE FROM grid_generation WHERE id > :g"), params)
    session.execute(text("DELETE FROM worker_grid"))
    for worker_id, grid_code in made["workers"]:
        session.execute(
            text("INSERT INTO worker_grid (worker_id, grid_code) VALUES (:w, :c)"),
            {"w": worker_id, "c": grid_code},
        )


def _current(engine: Engine, codes: list[str]) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                text("SELECT code FROM grid_unit WHERE code = ANY(:c) AND valid_to IS NULL"), {"c": codes}
            ).scalars()
        )


def test_a_planner_reshapes_splits_merges_saves_and_reverts(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, journey: dict[str, Any]
) -> None:
    reshape: picks.Reshape = journey["reshape"]
    split: picks.Split = journey["split"]
    m1, m2 = journey["merge"]
    inner = journey["inner"]
    open_plan(page, live_url)
    expect(page.locator("#plan-gate")).to_be_visible()
    page.click("#plan-gate-login")
    dialog = page.locator("#login-dialog")
    dialog.locator("input[name='username']").fill("planner")
    dialog.locator("input[name='password']").fill("planner-demo")
    dialog.locator("button[type='submit']").click()
    expect(page.locator("#plan-work")).to_be_visible()

    # 1. Drag the handle in the middle of one segment of the edge a shares with b, a few metres sideways.
    select(page, reshape.a, inner[reshape.a])
    edge = page.locator(f".plan-edge[data-neighbour='{reshape.b}']")
    expect(edge).to_have_attribute("data-editable", "true")
    index = edge.get_attribute("data-edge")
    view(page, reshape.target, 19)
    handle = page.locator(f".plan-midpoint[data-edge='{index}'][data-segment='{reshape.segment}']")
    box = handle.bounding_box()
    assert box is not None
    tx, ty = pixel(page, reshape.target)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(tx, ty, steps=8)
    page.mouse.up()
    (op,) = wait_ops(page, 1)
    assert (op["op"], op["a"], op["b"], len(op["line"])) == (
        "reshape",
        reshape.a,
        reshape.b,
        reshape.points + 1,
    )
    moved = op["line"][reshape.segment + 1]
    assert picks.metres_between((moved[0], moved[1]), reshape.target) < 0.8
    expect(page.locator("#plan-preview tr[data-code='" + reshape.a + "']")).to_be_visible()
    expect(page.locator(".plan-edge[data-neighbour='" + reshape.b + "']")).to_have_count(1)

    # 2. A split line that misses the grid is refused: the step is dropped and the place marked.
    select(page, split.code, inner[split.code], zoom=19)
    page.click(".plan-tools [data-tool='split']")
    expect(page.locator("#plan-tool-hint")).to_be_visible()
    x1, y1 = pixel(page, split.p1)
    page.mouse.click(x1, y1)
    page.mouse.dblclick(x1 + 30, y1)
    wait_ops(page, 1)
    expect(page.locator("#plan-status")).to_contain_text("未被接受")
    expect(page.locator("path.plan-refusal")).to_have_count(1)
    clear_expected_errors(browser_log, 422)

    # 3. The real cut, through the street between two compounds: two clicks, the second a double-click.
    view(page, ((split.p1[0] + split.p2[0]) / 2, (split.p1[1] + split.p2[1]) / 2), 19)
    page.click(".plan-tools [data-tool='split']")
    page.mouse.click(*pixel(page, split.p1))
    page.mouse.dblclick(*pixel(page, split.p2))
    ops = wait_ops(page, 2)
    assert ops[1]["op"] == "split" and ops[1]["code"] == split.code and len(ops[1]["line"]) == 2
    expect(page.locator("path.plan-refusal")).to_have_count(0)
    parts = page.evaluate("() => window.gisgridPlan.workspace.draft.state.preview.results[1].codes")
    assert len(parts) == 2
    # Name the first new part (the form offers the new codes, the split grid is gone).
    page.click(".plan-tools [data-tool='rename']")
    form = page.locator("#plan-rename")
    expect(form.locator("select[name='code'] option")).to_have_count(2)
    form.locator("select[name='code']").select_option(parts[0])
    form.locator("input[name='name']").fill("测试北片 <b>x</b>")
    form.locator("button[type='submit']").click()
    assert wait_ops(page, 3)[2] == {"op": "rename", "code": parts[0], "name": "测试北片 <b>x</b>"}

    # 4. Merge: select one grid, 合并, click its neighbour on the map.
    select(page, m1, inner[m1])
    page.click(".plan-tools [data-tool='merge']")
    view(page, ((inner[m1][0] + inner[m2][0]) / 2, (inner[m1][1] + inner[m2][1]) / 2), 18)
    page.mouse.click(*pixel(page, inner[m2]))
    assert wait_ops(page, 4)[3] == {"op": "merge", "codes": [m1, m2], "keep": m1}

    # 5. Undo and redo from the keyboard (the focus on the page, not in a field).
    page.locator("#plan-draft-title").click()
    page.keyboard.press("Control+z")
    wait_ops(page, 3)
    expect(page.locator("#plan-redo")).to_be_enabled()
    page.keyboard.press("Control+Shift+z")
    wait_ops(page, 4)

    # 6. The preview: figures before and after, shapes before and after, names as text; warnings to confirm.
    preview = page.locator("#plan-preview")
    for code in (reshape.a, reshape.b, split.code, *parts, m1, m2):
        expect(preview.locator(f"tr[data-code='{code}']")).to_have_count(1)
    expect(preview.locator("tr[data-code='" + parts[0] + "'] .plan-unit-name")).to_have_text(
        "测试北片 <b>x</b>"
    )
    expect(preview.locator("b")).to_have_count(0)
    expect(preview.locator(".plan-incidents")).to_contain_text("事件保留")
    assert page.locator("path.plan-before").count() >= 5 and page.locator("path.plan-after").count() >= 5
    save = page.locator("#plan-save-button")
    warnings = page.evaluate("() => window.gisgridPlan.workspace.draft.state.preview.warnings.length")
    if warnings:
        expect(save).to_be_disabled()
        page.locator("#plan-confirm input").check()
    page.locator("#plan-save input[name='reason']").fill("浏览器测试：调整边界")
    expect(save).to_be_enabled()
    save.click()
    expect(page.locator("#plan-status")).to_contain_text("已保存", timeout=30_000)
    wait_ops(page, 0)

    # 7. The database: one generation with the new rows, every level tiled, audited with before and after.
    with engine.connect() as conn:
        gen = conn.execute(
            text("SELECT id, source, created_by, reason FROM grid_generation ORDER BY id DESC LIMIT 1")
        ).one()
        assert gen.id > journey["last_generation"]
        assert (gen.source, gen.created_by, gen.reason) == ("edit", "planner", "浏览器测试：调整边界")
        began = set(
            conn.execute(text("SELECT code FROM grid_unit WHERE generation_id = :g"), {"g": gen.id}).scalars()
        )
        assert {reshape.a, reshape.b, *parts, m1} <= began
        audit = conn.execute(
            text("SELECT before, after FROM audit_log WHERE entity = 'grid_boundaries' AND entity_key = :k"),
            {"k": str(gen.id)},
        ).one()
        assert {reshape.a, split.code, m2} <= set(audit.before) and {reshape.a, *parts, m1} <= set(
            audit.after
        )
        assert audit.after[parts[0]]["name"] == "测试北片 <b>x</b>"
    assert _current(engine, [split.code, m2, *parts]) == set(parts)
    with session_scope(engine) as session:
        assert topology.validate(session, rules=picks.RULES)["errors"] == journey["errors"] == 0

    # 8. History: the map as it was before the save (the layer API's `at`), then now again.
    page.click("#plan-tab-history")
    rng = page.locator("#plan-asof-range")
    expect(rng).to_be_enabled()
    rng.focus()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#plan-past")).to_be_visible()
    page.evaluate("() => window.gisgridPlan.loader.settled()")
    drawn = "(code) => window.gisgridPlan.layers.micro_grids.index.has(code)"
    assert page.evaluate(drawn, m2)
    with_at = [
        url.split("?")[0].rsplit("/", 1)[1]
        for url in browser_log.requests
        if "/api/layers/" in url and "at=" in url
    ]
    assert "micro_grids" in with_at and "compounds" not in with_at
    page.click("#plan-asof-now")
    expect(page.locator("#plan-past")).to_be_hidden()
    page.evaluate("() => window.gisgridPlan.loader.settled()")
    assert not page.evaluate(drawn, m2) and page.evaluate(drawn, m1)

    # 9. Revert the generation from the selected grid's history, check the draft, save it.
    versions = page.locator("#plan-history .plan-version-item")
    expect(versions.first).to_have_attribute("data-generation", str(gen.id))
    versions.first.locator("[data-action='show']").click()
    expect(page.locator("path.plan-version")).to_have_count(1)
    versions.first.locator("[data-action='revert']").click()
    expect(page.locator("#plan-panel-edit")).to_be_visible()
    assert wait_ops(page, 1)[0] == {"op": "restore", "generation": gen.id}
    if page.evaluate("() => window.gisgridPlan.workspace.draft.state.preview.warnings.length"):
        page.locator("#plan-confirm input").check()
    page.locator("#plan-save-button").click()
    expect(page.locator("#plan-status")).to_contain_text("已保存", timeout=30_000)
    assert _current(engine, [split.code, m2, *parts]) == {split.code, m2}
    with session_scope(engine) as session:
        assert topology.validate(session, rules=picks.RULES)["errors"] == 0
    assert_clean(browser_log, live_url)


def test_a_scoped_planner_sees_other_communities_edges_locked(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    with engine.connect() as conn:
        mine, theirs = conn.execute(
            text(
                "SELECT a.code, b.code FROM grid_unit a JOIN grid_unit b ON b.level = 'micro' AND b.valid_to IS NULL "
                "AND b.code NOT LIKE '510104003003%' AND ST_Relate(a.geom, b.geom, '****1****') "
                "WHERE a.level = 'micro' AND a.valid_to IS NULL AND a.code LIKE '510104003003%' "
                "AND EXISTS (SELECT 1 FROM grid_unit c WHERE c.level = 'micro' AND c.valid_to IS NULL "
                "AND c.code LIKE '510104003003%' AND ST_Relate(a.geom, c.geom, '****1****')) "
                "ORDER BY a.code, b.code LIMIT 1"
            )
        ).one()
    with session_scope(engine) as session:
        inner = {c: picks.inner_point(session, c) for c in (mine, theirs)}
    # The header of the map page links the planner's page for roles that edit grids.
    page.goto(live_url.rstrip("/") + "/")
    page.wait_for_function("() => window.gisgrid && window.gisgrid.ready")
    log_in(page, "planner_lh")
    page.locator(".account .plan-link").click()
    page.wait_for_url("**" + PAGE)
    page.wait_for_function("() => window.gisgridPlan && window.gisgridPlan.ready")
    expect(page.locator("#plan-work")).to_be_visible()

    select(page, mine, inner[mine])
    locked = page.locator(f".plan-edge[data-neighbour='{theirs}']")
    expect(locked.first).to_have_attribute("data-editable", "false")
    expect(page.locator(f".plan-handle[data-neighbour='{theirs}']")).to_have_count(0)
    expect(page.locator(".plan-edge[data-editable='true']").first).to_be_visible()
    assert page.locator(".plan-vertex, .plan-midpoint").count() > 0
    expect(page.locator(f"#plan-grid li[data-neighbour='{theirs}']").first).to_contain_text(
        "不在您的管辖范围"
    )
    expect(page.locator(".plan-tools [data-tool='split']")).to_be_enabled()
    # Their grid: view only, no tools, no handles.
    select(page, theirs, inner[theirs])
    expect(page.locator("#plan-grid")).to_contain_text("不在您的管辖范围")
    expect(page.locator(".plan-tools [data-tool='split']")).to_be_disabled()
    expect(page.locator(".plan-handle")).to_have_count(0)
    assert_clean(browser_log, live_url)


def test_a_stale_save_names_who_changed_the_grid_and_rebases(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, restored: dict[str, Any]
) -> None:
    with session_scope(engine) as session:
        move = picks.pick_move(session, picks.context(session, "planner"))
        inner = {move.home: picks.inner_point(session, move.home)}
        session.rollback()
    open_plan(page, live_url)
    log_in(page, "planner")
    expect(page.locator("#plan-work")).to_be_visible()
    # 移交小区: the compound (a click on it), then the neighbour from the list under the tools.
    select(page, move.home, inner[move.home])
    page.click(".plan-tools [data-tool='move']")
    view(page, move.compound_point, 18)
    page.mouse.click(*pixel(page, move.compound_point))
    expect(page.locator("#plan-tool-hint")).to_contain_text(move.compound_name)
    page.locator(f"#plan-pick button[data-code='{move.to}']").click()
    op = {"op": "move_place", "kind": "compound", "ext_id": move.compound, "to": move.to}
    assert wait_ops(page, 1) == [op]
    expect(page.locator(f"#plan-preview li[data-compound='{move.compound}']")).to_contain_text(move.to)
    # The draft lives on the server: after a reload the page offers it again.
    page.reload()
    page.wait_for_function("() => window.gisgridPlan && window.gisgridPlan.ready")
    page.locator("#plan-resume button.primary").click()
    assert wait_ops(page, 1) == [op]
    expect(page.locator(f"#plan-preview li[data-compound='{move.compound}']")).to_contain_text(move.to)
    # Meanwhile an administrator renames the grid and saves.
    with session_scope(engine) as session:
        ctx = picks.context(session, "admin")
        other = changesets.create(
            session,
            operations=[{"op": "rename", "code": move.home, "name": "他人改名"}],
            reason="并发",
            ctx=ctx,
        )
        changesets.save(session, other.id, confirm_warnings=True, expected_version=None, ctx=ctx)
    if page.evaluate("() => window.gisgridPlan.workspace.draft.state.preview.warnings.length"):
        page.locator("#plan-confirm input").check()
    page.locator("#plan-save-button").click()
    stale = page.locator("#plan-stale")
    expect(stale).to_be_visible()
    expect(stale.locator(f"li[data-code='{move.home}']")).to_contain_text("admin")
    expect(stale.locator(f"li[data-code='{move.home}']")).to_contain_text("并发")
    clear_expected_errors(browser_log, 409)
    # 基于最新重做: the draft is checked on the new state and saves.
    page.locator("#plan-rebase").click()
    expect(page.locator("#plan-status")).to_contain_text("已基于最新")
    expect(stale).to_be_hidden()
    if page.evaluate("() => window.gisgridPlan.workspace.draft.state.preview.warnings.length"):
        page.locator("#plan-confirm input").check()
    page.locator("#plan-save-button").click()
    expect(page.locator("#plan-status")).to_contain_text("已保存", timeout=30_000)
    with engine.connect() as conn:
        holder = conn.execute(
            text(
                "SELECT g.code, g.name FROM grid_unit g JOIN compound c ON c.ext_id = :e AND ST_Contains(g.geom, "
                "ST_PointOnSurface(c.geom)) WHERE g.level = 'micro' AND g.valid_to IS NULL"
            ),
            {"e": move.compound},
        ).one()
        assert holder.code == move.to
        renamed = conn.execute(
            text("SELECT name FROM grid_unit WHERE code = :c AND valid_to IS NULL"), {"c": move.home}
        ).scalar_one()
        assert renamed == "他人改名"
    assert_clean(browser_log, live_url)
