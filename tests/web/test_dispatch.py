"""The dispatch page (/static/dispatch.html) in headless Chromium: locate by pasted GCJ-02 coordinates, by compound
and building, and by a point on a shared edge; report an incident (with the duplicate check); work it through
file → dispatch; a stale version; a swapped pair and a point outside the grid; who gets the workspace.

`live_url` serves one database for the whole session, never rolled back: every incident made here has a unique
title and is deleted (with its timeline) in `finally`; nothing else is changed."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine, text

from gisgrid.crs import wgs84_to_gcj02
from gisgrid.db.engine import session_scope
from gisgrid.incidents import demo, intake
from tests.web.conftest import BrowserLog
from tests.web.pages import SETTLE, assert_clean, clear_expected_errors, log_in, log_out

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-dispatch.png"
PAGE = "/static/dispatch.html"

# A micro-grid whose point on surface lies well inside it (> 25 m from its edge, more than the 15 m accuracy
# circle): locating it is not ambiguous.
INNER_POINT_SQL = """
    SELECT code, name, ST_X(p) AS x, ST_Y(p) AS y
      FROM (SELECT code, name, geom, ST_PointOnSurface(geom) AS p
              FROM grid_unit WHERE valid_to IS NULL AND level = 'micro') g
     WHERE ST_Distance(ST_Boundary(geom)::geography, p::geography) > 25
     ORDER BY code
     LIMIT 1
"""
# A point on the edge two micro-grids share, away from any third one: the locate answer is ambiguous.
SHARED_EDGE_SQL = """
    WITH edges AS MATERIALIZED (
        SELECT a.code AS a, b.code AS b, ST_LineMerge(ST_Intersection(a.geom, b.geom)) AS edge
          FROM grid_unit a
          JOIN grid_unit b ON b.level = 'micro' AND b.valid_to IS NULL AND a.code < b.code
                          AND a.geom && b.geom AND ST_Touches(a.geom, b.geom)
         WHERE a.level = 'micro' AND a.valid_to IS NULL
           AND a.code LIKE (SELECT min(code) FROM grid_unit WHERE level = 'community' AND valid_to IS NULL) || '%'
    ),
    mids AS MATERIALIZED (
        SELECT a, b, ST_LineInterpolatePoint(edge, 0.5) AS p
          FROM edges WHERE GeometryType(edge) = 'LINESTRING' AND ST_Length(edge::geography) > 60
    )
    SELECT a, b, ST_X(p) AS x, ST_Y(p) AS y
      FROM mids m
     WHERE NOT EXISTS (SELECT 1 FROM grid_unit c
                        WHERE c.level = 'micro' AND c.valid_to IS NULL AND c.code NOT IN (m.a, m.b)
                          AND c.geom && ST_Expand(m.p, 0.001)
                          AND ST_DWithin(c.geom::geography, m.p::geography, 20))
     ORDER BY a, b
     LIMIT 1
"""
WALK = re.compile(r"^步行 [\d,]+ 米$")

# Background incidents for the whole module (map clusters, filters, statistics, the screenshot): the demo
# incidents (gisgrid.incidents.demo: one at every 8th micro-grid, in every stage and deadline colour) under test
# titles, none within 300 m of the test point above (its duplicate check must find only what the test made).
SEED = "浏览器测试背景"


def open_dispatch(page: Page, live_url: str) -> None:
    """Open the dispatch page and wait until its base layers are loaded and the session is known."""
    page.goto(live_url.rstrip("/") + PAGE)
    page.wait_for_function("() => window.gisgridDispatch && window.gisgridDispatch.ready")
    page.evaluate("() => window.gisgridDispatch.ready")


def log_in_dispatch(page: Page, username: str) -> None:
    """Log in from the header and wait until the workspace has read the categories and the first list page."""
    log_in(page, username)
    expect(page.locator("#dispatch-work")).to_be_visible()
    page.wait_for_function("() => window.gisgridDispatchList && window.gisgridDispatchList.loads > 0")
    expect(page.locator("#create-form select[name='main'] option").nth(1)).to_be_attached()


def paste(page: Page, coords: str, crs: str = "gcj02") -> None:
    """Paste coordinates in `crs` and wait for the answer (a grid panel or a message)."""
    page.click("[data-tab='intake']")
    page.fill("#locate-coords", coords)
    page.select_option("#locate-crs", crs)
    page.click("#locate-form button[type='submit']")
    expect(page.locator("#locate-status")).not_to_have_text("正在定位…")


def filter_list(page: Page, name: str, value: str) -> None:
    """Choose a list filter and wait until the list has been read again with it."""
    loads = page.evaluate("() => window.gisgridDispatchList.loads")
    page.select_option(f"#list-filters select[name='{name}']", value)
    page.wait_for_function("(n) => window.gisgridDispatchList.loads > n", arg=loads)


def timeline(page: Page) -> Locator:
    return page.locator("#incident-detail .timeline .event")


def act(page: Page, action: str, comment: str, *, attachments: str = "", category: str = "") -> None:
    """Open the form of an action button, write the comment (and attachment names, a category), confirm."""
    page.locator(f"#incident-detail .action-button[data-action='{action}']").click()
    form = page.locator(f"#incident-detail .action-form[data-action='{action}']")
    form.locator("textarea[name='comment']").fill(comment)
    if category:
        form.locator("select[name='category']").select_option(category)
    if attachments:
        form.locator("input[name='attachments']").fill(attachments)
    form.locator("button[type='submit']").click()


def incident_row(engine: Engine, title: str) -> Any:
    with engine.connect() as conn:
        sql = "SELECT id, micro_code, status, version, category_code FROM incident WHERE title = :t"
        return conn.execute(text(sql), {"t": title}).one_or_none()


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def api_error(page: Page, path: str) -> dict[str, Any]:
    """The API's error for a GET made by the page itself (with its session): what the page must show."""
    body: dict[str, Any] = page.evaluate(
        "async (path) => (await fetch(path, {credentials: 'same-origin'})).json()", path
    )
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> Iterator[int]:
    """Background incidents in every status and deadline colour, made through the services; deleted afterwards."""
    with engine.connect() as conn:
        inner = conn.execute(text(INNER_POINT_SQL)).one()
    try:
        with session_scope(engine) as session:
            made = demo.seed(
                session,
                now=datetime.now(UTC),
                label=SEED,
                ext_prefix="WEBSEED-",
                keep_clear=(inner.x, inner.y, 300),
            )
        yield made
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM incident WHERE title LIKE :p"), {"p": SEED + " %"})


@pytest.fixture
def titles(engine: Engine) -> Iterator[Callable[[str], str]]:
    """`titles(label)` gives a unique incident title; every incident with such a title is deleted afterwards."""
    made: list[str] = []

    def make(label: str) -> str:
        made.append(f"浏览器测试 {label} {uuid.uuid4().hex[:8]}")
        return made[-1]

    yield make
    with engine.begin() as conn:  # the timeline goes with the incident (ON DELETE CASCADE)
        conn.execute(text("DELETE FROM incident WHERE title = ANY(:t)"), {"t": made})


def test_a_dispatcher_locates_gcj02_reports_and_dispatches(
    page: Page,
    browser_log: BrowserLog,
    live_url: str,
    engine: Engine,
    titles: Callable[[str], str],
    seeded: int,
) -> None:
    with engine.connect() as conn:
        grid = conn.execute(text(INNER_POINT_SQL)).one()
    lons, lats = wgs84_to_gcj02(np.array([grid.x]), np.array([grid.y]))
    glon, glat = float(lons[0]), float(lats[0])
    open_dispatch(page, live_url)
    log_in_dispatch(page, "dispatcher")

    # Paste what a phone map app gives: GCJ-02, longitude first (the default system of the picker).
    expect(page.locator("#locate-crs")).to_have_value("gcj02")
    paste(page, f"{glon:.7f},{glat:.7f}")
    panel = page.locator("#grid-panel")
    expect(panel.locator(".micro-code")).to_have_text(grid.code)
    expect(panel.locator(".micro-name")).to_have_text(grid.name)
    expect(panel.locator(".ambiguous-notice")).to_have_count(0)
    path = panel.locator(".grid-path li")
    expect(path).to_have_count(4)
    expect(path.nth(0)).to_contain_text("街道")
    expect(path.nth(3)).to_contain_text(grid.code)
    expect(panel.locator(".worker").first).to_be_visible()
    expect(panel.locator(".worker-phone").first).to_have_text(re.compile(r"\*{4}"))
    sites = panel.locator(".nearest-sites .site-item")
    expect(sites).to_have_count(3)
    for i in range(3):
        expect(sites.nth(i).locator(".site-walk")).to_have_text(WALK)
    expect(panel.locator(".coords-input")).to_contain_text("GCJ-02")
    # The converted point is the WGS 84 point the GCJ-02 pair was made from (to the API's 7 decimals).
    shown = [float(v) for v in re.findall(r"\d+\.\d+", panel.locator(".coords-wgs84").inner_text())]
    assert shown == pytest.approx([grid.x, grid.y], abs=2e-7)
    expect(panel.locator(".coords-shift")).to_have_text(re.compile(r"相差 \d{3} 米"))

    # Report it.
    title = titles("垃圾")
    form = page.locator("#create-form")
    form.locator("select[name='main']").select_option("chengguan")
    form.locator("select[name='sub']").select_option("chengguan.litter")
    form.locator("input[name='title']").fill(title)
    form.locator("textarea[name='description']").fill("楼下垃圾无人清运")
    form.locator("select[name='channel']").select_option("hotline")
    form.locator("input[name='reporter']").fill("王女士")
    form.locator("button[type='submit']").click()
    detail = page.locator("#incident-detail")
    expect(detail.locator(".detail-title")).to_have_text(title)
    expect(detail.locator(".status-badge")).to_have_text("上报")
    expect(detail.locator(".detail-micro-code")).to_have_text(grid.code)
    expect(timeline(page)).to_have_count(1)
    eventually(lambda: incident_row(engine, title) is not None)
    row = incident_row(engine, title)
    assert row.micro_code == grid.code
    # The API reports exactly these actions to a dispatcher for a new incident at micro level (and it may move it).
    buttons = detail.locator(".action-button")
    expect(buttons).to_have_text(["立案", "不予立案", "升级", "更正位置"])

    # File (correcting the category: it is a stall, not rubbish), then dispatch: the timeline grows and the
    # status follows.
    page.locator("#incident-detail .action-button[data-action='file']").click()
    picker = page.locator("#incident-detail .action-form select[name='category']")
    expect(picker).to_have_value("chengguan.litter")
    page.locator("#incident-detail .action-button[data-action='file']").click()  # closes the form again
    act(page, "file", "核实属实，立案", category="chengguan.stall")
    expect(timeline(page)).to_have_count(2)
    expect(detail.locator(".status-badge")).to_have_text("立案")
    expect(timeline(page).nth(1).locator(".event-comment")).to_have_text("核实属实，立案")
    expect(timeline(page).nth(1).locator(".event-detail")).to_contain_text(
        "类别：城市管理 · 垃圾堆放 → 城市管理 · 占道经营"
    )
    expect(detail).to_contain_text("城市管理 · 占道经营")
    eventually(lambda: incident_row(engine, title).category_code == "chengguan.stall")
    act(page, "dispatch", "派网格员处置", attachments="现场照片1.jpg, 现场照片2.jpg")
    expect(timeline(page)).to_have_count(3)
    expect(detail.locator(".status-badge")).to_have_text("已派遣")
    expect(timeline(page).nth(2).locator(".attachment")).to_have_text(["现场照片1.jpg", "现场照片2.jpg"])
    expect(timeline(page).nth(2).locator(".event-actor")).to_have_text("dispatcher")
    expect(buttons).to_have_text(["退回", "升级", "更正位置"])
    eventually(lambda: incident_row(engine, title).status == "dispatched")
    # On the map, drawn alone (the selected incident is never clustered) in its status colour.
    dot = page.locator(f".incident-dot[data-id='{row.id}']")
    expect(dot).to_have_attribute("data-status", "dispatched")

    # The list, filtered to dispatched incidents, has it.
    page.click("[data-tab='list']")
    filter_list(page, "status", "dispatched")
    expect(page.locator(f"#incident-rows tr[data-id='{row.id}'] .row-title")).to_have_text(title)
    expect(page.locator("#incident-rows .status-badge").first).to_have_text("已派遣")
    # Every incident again, and a little wider, so the screenshot shows the neighbourhood's incidents (and
    # clusters) around this one.
    page.click("#list-clear")
    page.click("[data-tab='detail']")
    page.evaluate(
        "([lat, lon]) => { window.gisgridDispatch.map.setView([lat, lon], 16, {animate: false}); }",
        [grid.y, grid.x],
    )
    expect(dot).to_be_visible()
    expect(page.locator(".incident-count")).to_have_text(re.compile(rf"/ {seeded + 1} 件"))
    page.screenshot(path=str(SCREENSHOT))

    # Someone else changes it meanwhile: the action is refused (409) with the API's message, and reload helps.
    with engine.begin() as conn:
        conn.execute(text("UPDATE incident SET version = version + 1 WHERE id = :id"), {"id": row.id})
    act(page, "return", "需补充现场照片")
    message = detail.locator(".action-form .form-message")
    expect(message).to_contain_text("事件已被他人修改")
    detail.locator(".action-form .reload").click()
    expect(detail.locator(".detail-head")).to_have_attribute("data-version", str(row.version + 3))
    expect(timeline(page)).to_have_count(3)
    clear_expected_errors(browser_log, 409)

    # A second report of the same kind at the same spot: the page shows the first as a possible duplicate first.
    page.click("[data-tab='intake']")
    paste(page, f"{glon:.7f},{glat:.7f}")
    expect(panel.locator(".micro-code")).to_have_text(grid.code)
    second = titles("重复")
    form.locator("select[name='main']").select_option("chengguan")
    form.locator("select[name='sub']").select_option("chengguan.stall")  # the first one's corrected category
    form.locator("input[name='title']").fill(second)
    form.locator("button[type='submit']").click()
    duplicate = form.locator(f".duplicates li[data-id='{row.id}']")
    expect(duplicate).to_contain_text(title)
    expect(duplicate).to_contain_text("已派遣")
    form.locator(".dup-continue").click()
    expect(detail.locator(".detail-title")).to_have_text(second)
    expect(timeline(page).first.locator(".event-detail")).to_contain_text(f"#{row.id}")
    assert incident_row(engine, second).micro_code == grid.code

    # Escalate it to a department: the department is asked for, then the level and department are on the timeline.
    page.locator("#incident-detail .action-button[data-action='escalate']").click()
    escalate = page.locator("#incident-detail .action-form[data-action='escalate']")
    escalate.locator("select[name='level']").select_option("department")
    escalate.locator("button[type='submit']").click()
    expect(escalate.locator(".form-message")).to_have_text("升级到部门须写明部门名称")
    escalate.locator("input[name='department']").fill("区城管局")
    escalate.locator("textarea[name='comment']").fill("需城管执法")
    escalate.locator("button[type='submit']").click()
    expect(timeline(page)).to_have_count(2)
    expect(timeline(page).nth(1).locator(".event-detail")).to_have_text("层级 微网格 → 部门；部门：区城管局")
    expect(detail.locator(".detail-facts")).to_contain_text("部门 · 区城管局")
    assert_clean(browser_log, live_url)


# Centre the dispatch map on a point at zoom 18; say where that is on the screen and what is drawn there.
AIM = """([lat, lon]) => {
  const map = window.gisgridDispatch.map;
  map.setView([lat, lon], 18, {animate: false});
  const p = map.latLngToContainerPoint([lat, lon]);
  const box = map.getContainer().getBoundingClientRect();
  const x = box.left + p.x, y = box.top + p.y;
  const el = document.elementFromPoint(x, y);
  return {x, y, marker: Boolean(el && el.closest('.leaflet-marker-icon'))};
}"""


def test_a_map_click_and_a_compound_search_locate(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    open_dispatch(page, live_url)
    log_in_dispatch(page, "dispatcher")
    panel = page.locator("#grid-panel")

    # A click on the map locates the clicked WGS 84 point (polygons do not take the click).
    with engine.connect() as conn:
        grid = conn.execute(text(INNER_POINT_SQL)).one()
    aim = page.evaluate(AIM, [grid.y, grid.x])
    assert not aim["marker"], "a marker covers the micro-grid's point on surface"
    page.mouse.click(aim["x"], aim["y"])
    expect(panel.locator(".micro-code")).to_have_text(grid.code)
    expect(panel.locator(".coords-input")).to_contain_text("WGS 84")
    expect(panel.locator(".coords-shift")).to_have_text("（无需纠偏）")
    expect(page.locator("#create-box")).to_be_visible()

    # A compound and building, picked from the candidates.
    page.fill("#place-q", "莲花新区3栋")
    page.click("#place-form button[type='submit']")
    results = page.locator("#place-results .place-result")
    expect(results.first).to_be_visible()
    expect(results.first.locator(".place-name")).to_contain_text("莲花新区")
    expect(results.first.locator(".place-name")).to_contain_text("3栋")
    picked = results.first.locator(".place-name").inner_text()
    results.first.click()
    expect(panel.locator(".grid-compound")).to_have_text(picked)
    expect(panel.locator(".grid-path li")).to_have_count(4)
    expect(panel.locator(".grid-path li").nth(1)).to_contain_text("莲花社区")
    expect(panel.locator(".nearest-sites .site-item")).to_have_count(3)
    # The compound and building fill the address of the report.
    expect(page.locator("#create-form input[name='address']")).to_have_value(picked)
    assert_clean(browser_log, live_url)


def test_swapped_and_outside_points_show_the_api_message_and_an_edge_is_ambiguous(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    open_dispatch(page, live_url)
    log_in_dispatch(page, "dispatcher")
    status = page.locator("#locate-status")
    panel = page.locator("#grid-panel")

    # Latitude first: sent as typed (never swapped by the page), and the API's message is shown.
    swapped = api_error(page, "/api/locate?lon=30.6377&lat=104.1077&crs=gcj02")
    assert "swapped" in swapped["message"]
    paste(page, "30.6377, 104.1077")
    expect(status).to_have_text(f"{swapped['message']}（{swapped['expected']}）")
    expect(panel).to_be_hidden()
    expect(page.locator("#create-box")).to_be_hidden()

    # Outside every grid: the API's message with the nearest grid and its distance.
    outside = api_error(page, "/api/locate?lon=104.2&lat=30.6377&crs=gcj02")
    nearest = outside["details"]["nearest"]
    paste(page, "104.2,30.6377")
    expect(status).to_contain_text(outside["message"])
    expect(status).to_contain_text(f"最近的网格：{nearest['name']}（{nearest['code']}）")

    # Not two numbers: the page says so and asks nothing.
    paste(page, "104.1077")
    expect(status).to_have_text("请输入两个数字：经度在前、纬度在后，如 104.1077,30.6377")

    # On the edge two micro-grids share: the notice lists both.
    with engine.connect() as conn:
        edge = conn.execute(text(SHARED_EDGE_SQL)).one()
    paste(page, f"{edge.x:.8f},{edge.y:.8f}", crs="wgs84")
    notice = panel.locator(".ambiguous-notice")
    expect(notice).to_contain_text("边界附近，可能属于：")
    expect(notice.locator("li code")).to_have_text([edge.a, edge.b])
    expect(panel.locator(".micro-code")).to_have_text(edge.a)  # a shared edge goes to the smallest code
    expect(panel.locator(".coords-shift")).to_have_text("（无需纠偏）")

    page.click("button[data-lang='en']")
    expect(notice).to_contain_text("Near a boundary — it may belong to:")
    expect(page.locator("#locate-crs option[value='gcj02']")).to_have_text("GCJ-02 (Amap · Tencent · WeChat)")
    page.click("button[data-lang='zh']")
    clear_expected_errors(browser_log, 422)
    assert_clean(browser_log, live_url)


def loaded(page: Page) -> None:
    """Wait until the workspace has its list and map points: logging out while a read is still under way would
    have it refused (401, a console error)."""
    page.wait_for_function(
        "() => window.gisgridDispatchList?.loads > 0 && window.gisgridDispatch?.pointLoads > 0"
    )


def test_the_workspace_follows_the_incident_permissions(
    page: Page, browser_log: BrowserLog, live_url: str, seeded: int
) -> None:
    open_dispatch(page, live_url)
    gate = page.locator("#dispatch-gate")
    expect(gate).to_be_visible()
    expect(page.locator("#dispatch-gate-text")).to_have_text(
        "请登录后使用事件调度：调度员、网格员、管理员办理事件，规划员、审计员可查看与统计。"
    )
    expect(page.locator("#dispatch-work")).to_be_hidden()

    # The gate's own log-in button opens the header's dialog.
    page.click("#dispatch-gate-login")
    expect(page.locator("#login-dialog")).to_be_visible()
    page.locator("#login-dialog button.cancel").click()

    # A river patrol may report (elsewhere) but not read incidents: the gate says so.
    log_in(page, "patrol")
    expect(page.locator("#dispatch-gate-text")).to_contain_text("巡河员")
    expect(page.locator("#dispatch-gate-login")).to_be_hidden()
    expect(page.locator("#dispatch-work")).to_be_hidden()
    log_out(page)

    # An auditor reads: list, detail and statistics, but no intake tab, no actions, and a map click locates nothing.
    log_in(page, "auditor")
    expect(page.locator("#dispatch-work")).to_be_visible()
    page.wait_for_function("() => window.gisgridDispatchList && window.gisgridDispatchList.loads > 0")
    expect(page.locator("[data-tab='intake']")).to_be_hidden()
    expect(page.locator("[data-tab='import']")).to_be_hidden()
    expect(page.locator("[data-tab='list']")).to_have_attribute("aria-selected", "true")
    rows = page.locator("#incident-rows tr")
    expect(rows.first).to_be_visible()
    rows.first.click()
    expect(page.locator("#incident-detail .no-actions")).to_be_visible()
    expect(page.locator("#incident-detail .action-button")).to_have_count(0)
    page.locator("#dispatch-map").click(position={"x": 300, "y": 300})
    expect(page.locator("#grid-panel")).to_be_hidden()
    run_stats(page, lambda: page.click("[data-tab='stats']"))
    expect(page.locator("#stats-table tfoot .stats-total .stats-total")).not_to_have_text("")
    loaded(page)
    log_out(page)

    log_in_dispatch(page, "gridworker")
    expect(gate).to_be_hidden()
    expect(page.locator("[data-tab='intake']")).to_be_visible()
    expect(page.locator("[data-tab='import']")).to_be_hidden()  # the dispatch centre's job
    # The map page links here for the roles that read incidents.
    page.click(".back-link")
    page.wait_for_url(live_url.rstrip("/") + "/")
    expect(page.locator(".account .dispatch-link")).to_have_text("事件调度")
    page.click(".account .dispatch-link")
    page.wait_for_url("**" + PAGE)
    expect(page.locator("#dispatch-work")).to_be_visible()
    loaded(page)
    log_out(page)
    expect(gate).to_be_visible()
    assert_clean(browser_log, live_url)


CLUSTER_COUNTS = """() => ({
  clusters: [...document.querySelectorAll('.incident-cluster')].map((e) => Number(e.dataset.count)),
  dots: document.querySelectorAll('.incident-dot[data-id]').length,
  zoom: window.gisgridDispatch.map.getZoom(),
})"""


def test_many_incidents_are_clustered_on_the_map_and_filtered(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, seeded: int, tmp_path: Path
) -> None:
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
    assert total >= seeded > 40
    open_dispatch(page, live_url)
    log_in_dispatch(page, "dispatcher")
    expect(page.locator(".incident-count")).to_have_text(f"地图显示 {total} / {total} 件事件")

    # The whole subdistrict at once: crowded dots are drawn as numbered clusters, every incident counted once.
    counts = page.evaluate(CLUSTER_COUNTS)
    assert counts["clusters"], counts
    assert sum(counts["clusters"]) + counts["dots"] == total
    # A cluster zooms in on its incidents.
    page.locator(".incident-cluster").first.click()
    page.wait_for_function("(z) => window.gisgridDispatch.map.getZoom() > z", arg=counts["zoom"])
    page.evaluate(SETTLE, "gisgridDispatch")
    # Close up every incident has its own dot.
    page.evaluate("() => { window.gisgridDispatch.map.setZoom(19, {animate: false}); }")
    counts = page.evaluate(CLUSTER_COUNTS)
    assert counts["clusters"] == [] and counts["dots"] == total
    page.evaluate("() => { window.gisgridDispatch.map.setZoom(14, {animate: false}); }")

    # Overdue only (red): the list and the map agree, and every row is red.
    page.click("[data-tab='list']")
    filter_list(page, "overdue", "yes")
    range_text = page.locator("#list-range")
    red = int(re.findall(r"共 (\d+) 条", range_text.inner_text())[0])
    assert 0 < red < total
    expect(page.locator(".incident-count")).to_have_text(f"地图显示 {red} / {red} 件事件")
    rows = page.locator("#incident-rows tr")
    expect(rows.locator(".deadline-dot.deadline-red")).to_have_count(rows.count())

    # A main category includes its subcategories; paging moves on by 20.
    filter_list(page, "overdue", "")
    filter_list(page, "category", "chengguan")
    assert rows.count() > 0
    for category in rows.locator(".row-category").all_inner_texts():
        assert category.startswith("城市管理")
    # The filtered list as a CSV file: every matching incident (all pages), the same ones the list shows.
    matching = int(re.findall(r"共 (\d+) 条", range_text.inner_text())[0])
    with page.expect_download() as download:
        page.click("#list-export")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("incidents-") and saved.suffix == ".csv"
    exported = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert exported[0][4] == "类别编码" and len(exported) == matching + 1
    assert all(r[4].startswith("chengguan") for r in exported[1:])
    shown = [int(i) for i in rows.evaluate_all("(trs) => trs.map((tr) => tr.dataset.id)")]
    assert [int(r[0]) for r in exported[1 : len(shown) + 1]] == shown
    page.click("#list-clear")
    expect(range_text).to_have_text(f"第 1–20 条，共 {total} 条")
    page.click("#list-next")
    expect(range_text).to_have_text(f"第 21–40 条，共 {total} 条")

    # A row opens the detail, with the seeded timeline.
    rows.first.click()
    expect(page.locator("#incident-detail .detail-title")).to_have_text(re.compile(SEED))
    expect(page.locator("#incident-detail .timeline .event").first).to_contain_text("上报")
    assert_clean(browser_log, live_url)


def test_clusters_come_from_leaflet_markercluster_and_show_the_worst_deadline(
    page: Page, live_url: str
) -> None:
    open_dispatch(page, live_url)
    result = page.evaluate(
        """async () => {
          const m = await import('/static/dispatch/markers.js');
          const worst = m.worstDeadline([{properties: {colour: 'green'}}, {properties: {colour: 'red'}},
                                         {properties: {colour: 'yellow'}}]);
          const map = window.gisgridDispatch.map;
          const layer = m.createIncidentLayer(map, {onPick: () => {}});
          const c = map.getCenter();
          const at = (dx, colour, id) => ({type: 'Feature', geometry: {type: 'Point', coordinates: [c.lng + dx, c.lat]},
            properties: {id, status: 'filed', colour, title: 't' + id}});
          layer.setFeatures({features: [at(0, 'green', -1), at(0.00001, 'red', -2), at(0.5, 'yellow', -3)]});
          const plugin = typeof L.MarkerClusterGroup === 'function';
          const near = [...document.querySelectorAll('.incident-cluster')].map(
            (e) => [Number(e.dataset.count), e.className]);
          layer.setFeatures(null);
          return {worst, plugin, near};
        }"""
    )
    assert result["worst"] == "red" and result["plugin"] is True
    # The two close pins are one cluster of 2, coloured by its most urgent deadline; the far one is not in view.
    assert [count for count, _ in result["near"]] == [2]
    assert "deadline-red" in result["near"][0][1]


STATS_LOADS = "() => window.gisgridDispatchStats.loads"


def run_stats(page: Page, action: Callable[[], object]) -> None:
    """Do `action` on the statistics tab and wait until the answer it asked for is shown."""
    loads = page.evaluate(STATS_LOADS)
    action()
    page.wait_for_function(f"(n) => ({STATS_LOADS})() > n", arg=loads)


def test_statistics_tab_matches_the_database_and_exports_csv(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, seeded: int, tmp_path: Path
) -> None:
    beijing = (datetime.now(UTC) + timedelta(hours=8) - timedelta(days=3)).date().isoformat()
    with engine.connect() as conn:
        per_category: dict[str, int] = dict(
            conn.execute(text("SELECT category_code, count(*) FROM incident GROUP BY 1")).all()
        )
        that_day = conn.execute(
            text("SELECT count(*) FROM incident WHERE (reported_at AT TIME ZONE 'Asia/Shanghai')::date = :d"),
            {"d": beijing},
        ).scalar_one()
    total = sum(per_category.values())
    assert total >= seeded > 0 and that_day > 0
    open_dispatch(page, live_url)
    log_in_dispatch(page, "dispatcher")

    # Opening the tab computes per community over all time; the total row is every incident.
    run_stats(page, lambda: page.click("[data-tab='stats']"))
    table = page.locator("#stats-table")
    expect(table.locator("tfoot .stats-total .stats-total")).to_have_text(str(total))
    expect(table.locator("tbody th").first).to_contain_text("社区")

    # Per category: one row per category with the database's count, named with its parent.
    run_stats(page, lambda: page.select_option("#stats-form select[name='by']", "category"))
    rows = table.locator("tbody tr.stats-row")
    expect(rows).to_have_count(len(per_category))
    for code, count in per_category.items():
        expect(table.locator(f"tr.stats-row[data-key='{code}'] .stats-total")).to_have_text(str(count))
    expect(table.locator("tr.stats-row[data-key='chengguan.litter'] th")).to_contain_text(
        "城市管理 · 垃圾堆放"
    )

    # One local (Beijing) day.
    page.fill("#stats-form input[name='from']", beijing)
    page.fill("#stats-form input[name='to']", beijing)
    run_stats(page, lambda: page.click("#stats-form button[type='submit']"))
    expect(table.locator("tfoot .stats-total .stats-total")).to_have_text(str(that_day))

    # The CSV is the table as shown (UTF-8 with BOM for Excel), the total row last.
    with page.expect_download() as download:
        page.click("#stats-export")
    target = tmp_path / "stats.csv"
    download.value.save_as(target)
    raw = target.read_bytes()
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["按类别", "编码", "总数"]
    assert lines[-1].startswith("合计,,") and lines[-1].split(",")[2] == str(that_day)
    assert len(lines) == 2 + table.locator("tbody tr.stats-row").count()

    # A reversed range is refused on the page; English labels on switching.
    page.fill("#stats-form input[name='from']", "2026-03-02")
    page.fill("#stats-form input[name='to']", "2026-03-01")
    page.click("#stats-form button[type='submit']")
    expect(page.locator("#stats-status")).to_have_text("起始日期晚于截止日期。")
    page.click("button[data-lang='en']")
    expect(table.locator("thead th").nth(1)).to_have_text("Total")
    page.click("button[data-lang='zh']")
    assert_clean(browser_log, live_url)


IMPORT_POINTS_SQL = """
    SELECT code, ST_X(p) AS x, ST_Y(p) AS y
      FROM (SELECT code, geom, ST_PointOnSurface(geom) AS p
              FROM grid_unit WHERE valid_to IS NULL AND level = 'micro') g
     WHERE ST_Distance(ST_Boundary(geom)::geography, p::geography) > 25
     ORDER BY md5(code)
     LIMIT 3
"""


def test_a_hotline_export_is_uploaded_with_progress_and_its_bad_rows_come_back(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, tmp_path: Path
) -> None:
    tag = f"WEBIMP-{uuid.uuid4().hex[:8]}"
    with engine.connect() as conn:
        points = conn.execute(text(IMPORT_POINTS_SQL)).all()
        before = conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
    lons, lats = wgs84_to_gcj02(np.array([p.x for p in points]), np.array([p.y for p in points]))
    when = (datetime.now(UTC) + timedelta(hours=8) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    lines = ["工单编号,事件类别,诉求标题,经度,纬度,受理时间"]
    for i, (lon, lat) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
        lines.append(f"{tag}-{i},垃圾堆放,热线工单 {i},{lon:.7f},{lat:.7f},{when}")
    lines.append(f"{tag}-bad-lon,垃圾堆放,坐标错误,abc,30.64,{when}")
    lines.append(f"{tag}-bad-cat,不存在的类别,类别错误,{lons[0]:.7f},{lats[0]:.7f},{when}")
    export = tmp_path / "12345导出.csv"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        open_dispatch(page, live_url)
        log_in_dispatch(page, "dispatcher")
        page.click("[data-tab='import']")
        form = page.locator("#import-form")
        form.locator("input[name='file']").set_input_files(str(export))
        # CSV without a chosen coordinate system: refused on the page, nothing sent.
        form.locator("button[type='submit']").click()
        expect(page.locator("#import-status")).to_have_text("CSV 和 XLSX 文件须选择坐标系：系统不会猜测。")
        form.locator("select[name='crs']").select_option("gcj02")
        form.locator("button[type='submit']").click()
        page.wait_for_function("() => window.gisgridDispatchImport.phase === 'done'")
        expect(page.locator("#import-status")).to_have_text(
            "导入完成：3 条导入，0 条已存在跳过，2 条有误未导入。"
        )
        expect(page.locator(".import-summary")).to_have_text("文件共 5 行：导入 3，跳过 0，错误 2。")
        errors = page.locator("#import-result .import-errors tbody tr")
        expect(errors).to_have_count(2)
        expect(errors.nth(0)).to_contain_text(f"{tag}-bad-lon")
        expect(errors.nth(1)).to_contain_text(f"{tag}-bad-cat")
        # Each imported row sits in the micro-grid of its true (WGS 84) position.
        with engine.connect() as conn:
            stored: dict[str, str | None] = dict(
                conn.execute(
                    text("SELECT ext_id, micro_code FROM incident WHERE ext_id LIKE :t"), {"t": tag + "-%"}
                ).all()
            )
        assert stored == {f"{tag}-{i}": p.code for i, p in enumerate(points)}
        # The map and list were refreshed with them.
        expect(page.locator(".incident-count")).to_contain_text(f"/ {before + 3} 件事件")

        # The bad rows as a CSV file to correct: row number, ext_id, reason, then the row as it was.
        with page.expect_download() as download:
            page.click("#import-result .import-download")
        assert download.value.suggested_filename == "12345导出.errors.csv"
        saved = tmp_path / "errors.csv"
        download.value.save_as(saved)
        rows = saved.read_text(encoding="utf-8-sig").splitlines()
        assert len(rows) == 3 and rows[1].startswith("5,") and rows[2].startswith("6,")

        # The same file again adds nothing: the ext_ids are known.
        form.locator("button[type='submit']").click()
        page.wait_for_function("() => window.gisgridDispatchImport.imports === 2")
        expect(page.locator(".import-summary")).to_have_text("文件共 5 行：导入 0，跳过 3，错误 2。")
        assert_clean(browser_log, live_url)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM incident WHERE ext_id LIKE :t"), {"t": tag + "-%"})


def test_new_reports_appear_without_pressing_refresh(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, titles: Callable[[str], str]
) -> None:
    page.clock.install()
    open_dispatch(page, live_url)
    log_in_dispatch(page, "dispatcher")
    loaded(page)
    with engine.connect() as conn:
        grid = conn.execute(text(INNER_POINT_SQL)).one()
        total = conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
    expect(page.locator(".incident-count")).to_have_text(f"地图显示 {total} / {total} 件事件")
    # Someone else reports (a grid worker's phone, an import): committed while the page is open.
    title = titles("自动刷新")
    with session_scope(engine) as session:
        data = intake.NewIncident(
            category_code="minsheng.errand", title=title, lon=grid.x, lat=grid.y, crs="wgs84"
        )
        intake.create(session, data=data, actor=None)
    page.clock.run_for(20_000)
    expect(page.locator(".incident-count")).to_have_text(f"地图显示 {total} / {total} 件事件")
    page.clock.run_for(11_000)  # past the 30 s refresh
    expect(page.locator(".incident-count")).to_have_text(f"地图显示 {total + 1} / {total + 1} 件事件")
    page.click("[data-tab='list']")
    expect(page.locator("#incident-rows .row-title").first).to_have_text(title)
    assert_clean(browser_log, live_url)


MOVE_POINTS_SQL = """
    WITH a AS (
        SELECT code, geom FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL ORDER BY md5(code) LIMIT 1
    ), b AS (
        SELECT n.code, n.geom FROM grid_unit n, a
         WHERE n.level = 'micro' AND n.valid_to IS NULL AND n.code <> a.code AND ST_Touches(n.geom, a.geom)
         ORDER BY n.code LIMIT 1
    )
    SELECT a.code AS a_code, ST_X(pa) AS ax, ST_Y(pa) AS ay, b.code AS b_code, ST_X(pb) AS bx, ST_Y(pb) AS by
      FROM a, b,
           LATERAL (SELECT (ST_Dump(ST_GeneratePoints(ST_Buffer(a.geom::geography, -20)::geometry, 1, 11))).geom
                    AS pa) qa,
           LATERAL (SELECT (ST_Dump(ST_GeneratePoints(ST_Buffer(b.geom::geography, -20)::geometry, 1, 12))).geom
                    AS pb) qb
"""


def test_an_incident_is_moved_by_clicking_its_right_place_on_the_map(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, titles: Callable[[str], str]
) -> None:
    with engine.connect() as conn:
        where = conn.execute(text(MOVE_POINTS_SQL)).one()
    title = titles("位置更正")
    with session_scope(engine) as session:
        data = intake.NewIncident(
            category_code="chengguan.litter", title=title, lon=where.ax, lat=where.ay, crs="wgs84"
        )
        incident_id = intake.create(session, data=data, actor=None)["id"]
    open_dispatch(page, live_url)
    log_in_dispatch(page, "dispatcher")
    page.click("[data-tab='list']")
    page.locator(f"#incident-rows tr[data-id='{incident_id}']").click()
    detail = page.locator("#incident-detail")
    expect(detail.locator(".detail-micro-code")).to_have_text(where.a_code)
    detail.locator(".action-button[data-action='move']").click()
    form = detail.locator(".action-form[data-action='move']")
    expect(form.locator(".move-target")).to_have_text("尚未选择新位置。")
    expect(form.locator("input[name='attachments']")).to_have_count(0)  # a move records none
    # Confirming before a point is picked is refused on the page.
    form.locator("button[type='submit']").click()
    expect(form.locator(".form-message")).to_have_text("请先在地图上点击新位置。")
    # A real click on the map, where the neighbouring micro-grid is.
    page.evaluate(
        "([lat, lon]) => window.gisgridDispatch.map.setView([lat, lon], 19, {animate: false})",
        [where.by, where.bx],
    )
    page.evaluate(SETTLE, "gisgridDispatch")
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.gisgridDispatch.map.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [where.by, where.bx],
    )
    page.locator("#dispatch-map").click(position={"x": x, "y": y})
    expect(form.locator(".move-target")).to_contain_text(f"（{where.b_code}）")
    expect(
        page.locator("#grid-panel")
    ).to_be_hidden()  # the click picked the place; it did not start a report
    form.locator("textarea[name='comment']").fill("居民报错了楼栋")
    form.locator("button[type='submit']").click()
    expect(page.locator("#detail-status")).to_have_text(f"已更正位置，归属微网格 {where.b_code}。")
    expect(detail.locator(".detail-micro-code")).to_have_text(where.b_code)
    moved = timeline(page).last
    expect(moved).to_contain_text("居民报错了楼栋")
    expect(moved.locator(".event-detail")).to_contain_text(where.a_code)
    expect(moved.locator(".event-detail")).to_contain_text(where.b_code)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT micro_code, version FROM incident WHERE id = :i"), {"i": incident_id}
        ).one()
    assert stored.micro_code == where.b_code and stored.version == 2
    assert_clean(browser_log, live_url)


def test_the_import_tab_uploads_then_follows_the_job_to_its_result(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, tmp_path: Path
) -> None:
    with engine.connect() as conn:
        inner = conn.execute(text(INNER_POINT_SQL)).one()
    export = tmp_path / "12345热线.csv"
    with export.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["工单编号", "类别", "诉求标题", "受理时间", "经度", "纬度"])
        writer.writerow(["WEBJOB-1", "垃圾堆放", "浏览器导入测试", "2024-05-01 09:30", inner.x, inner.y])
        writer.writerow(
            ["<b>WEBJOB-2</b>", "不存在的类别", "浏览器导入测试", "2024-05-01 09:31", inner.x, inner.y]
        )
    try:
        open_dispatch(page, live_url)
        log_in_dispatch(page, "dispatcher")
        page.click("[data-tab='import']")
        page.set_input_files("#import-form input[name='file']", str(export))
        page.select_option("#import-form select[name='crs']", "wgs84")
        page.click("#import-form button[type='submit']")
        # The upload is answered with a job; the page follows it (GET /api/jobs/{id}) to its result.
        expect(page.locator("#import-status")).to_have_text(
            "导入完成：1 条导入，0 条已存在跳过，1 条有误未导入。", timeout=60_000
        )
        job = page.evaluate("() => window.gisgridDispatchImport.job")
        assert (job["kind"], job["status"], job["done"]) == ("incident_import", "succeeded", True)
        assert job["progress"]["done"] == job["progress"]["total"] > 0
        expect(page.locator("#import-result .import-summary")).to_have_text(
            "文件共 2 行：导入 1，跳过 0，错误 1。"
        )
        # File text reaches the page as text: the ext_id's markup is shown, not parsed.
        cells = page.locator("#import-result .import-errors tbody tr td")
        expect(cells.nth(1)).to_have_text("<b>WEBJOB-2</b>")
        expect(page.locator("#import-result .import-errors b")).to_have_count(0)
        expect(page.locator("#import-result .import-download")).to_be_visible()
        assert_clean(browser_log, live_url)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM incident WHERE ext_id LIKE 'WEBJOB-%'"))
            conn.execute(text("DELETE FROM job WHERE params->>'file' = :f"), {"f": export.name})
