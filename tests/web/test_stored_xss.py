"""Stored XSS, end to end in headless Chromium: script payloads in every free-text field of every layer in the
registry, in an incident (title, description, address, reporter, department, comments, attachment names), its
category, the admin's display name, a failed log-in's user name and a hotline import's rows; then one journey as
admin over every page the app serves, opening what shows those strings (labels, search results, a popup of
every clickable layer, the incident list, detail, map pin and statistics, the grid panel, the import's bad rows,
an API message echoing input, the planner's grid panel and history, the audit trail, the API docs).

It fails on any dialog, console error (a Content-Security-Policy violation is one) or uncaught error, on any
element a payload could have made (an element with an on* attribute, <img src=x>, a javascript: link), and when a
payload is not shown as text at all. `live_url` serves one database for the whole session: everything planted is
put back (or deleted) afterwards; only the audit trail, append-only, keeps its rows."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import Connection, Engine, text

from api.app import create_app
from api.routers.web import WEB
from gisgrid.config import Settings
from gisgrid.layers import REGISTRY
from gisgrid.layers.registry import Dataset, Field
from tests.conftest import DEMO_PASSWORDS
from tests.web.conftest import BrowserLog
from tests.web.pages import SETTLE, assert_clean, clear_expected_errors, exactly

pytestmark = pytest.mark.browser

PAYLOADS = (
    "<img src=x onerror=alert(1)>",
    '"><script>alert(2)</script>',
    "javascript:alert(3)",
    "{{7*7}}",
    "</textarea><svg onload=alert(4)>",
)
IMG, SCRIPT, JS_URL, TEMPLATE, SVG = PAYLOADS
# Fields holding another row's code (parent_code, community_code, a worker's grid_codes) tie the layers together
# and are not free text; keys, references and coded values (CHECK constraints) neither.
CODE_SUFFIXES = ("_code", "_codes")
BACKUP = "xss_backup_"
COLUMNS_SQL = """
    SELECT column_name, character_maximum_length FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = :table
"""
BUILDING_POINT_SQL = """
    SELECT ST_X(p) AS x, ST_Y(p) AS y
      FROM (SELECT ST_PointOnSurface(geom) AS p FROM building ORDER BY ext_id LIMIT 1) b
"""
SUBCATEGORY_SQL = """
    SELECT code, name_zh, name_en FROM incident_category WHERE parent_code IS NOT NULL ORDER BY code LIMIT 1
"""
# Anything a payload could have turned into markup.
INJECTED = """() => [...document.querySelectorAll('*')].filter((el) =>
    [...el.attributes].some((a) => a.name.startsWith('on'))
    || (el.tagName === 'IMG' && el.getAttribute('src') === 'x')
    || /^\\s*javascript:/i.test(el.getAttribute('href') || ''))
  .map((el) => el.outerHTML.slice(0, 200))"""
CLICK_FEATURE = """([name, key, lat, lon]) => {
  const lyr = window.gisgrid.layers[name].index.get(key);
  if (lyr) lyr.fire('click', {latlng: L.latLng(lat, lon)});
  return Boolean(lyr);
}"""


@dataclass
class Planted:
    """What the fixture planted: the payload of each layer field, the incident (as the API answered), the
    category's name and the admin's display name."""

    fields: dict[tuple[str, str], str]  # (dataset, field) -> payload
    incident: dict[str, Any] = field(default_factory=dict)
    category: str = ""
    display_name: str = ""

    def of_dataset(self, dataset: str) -> set[str]:
        return {p for (d, _), p in self.fields.items() if d == dataset}


def text_fields(conn: Connection) -> list[tuple[Dataset, Field, int | None]]:
    """Every free-text field of every dataset in the registry stored as a column of its table, with its limit."""
    found = []
    for dataset in REGISTRY.datasets.values():
        rows = conn.execute(text(COLUMNS_SQL), {"table": dataset.table}).all()
        columns: dict[str, int | None] = {row.column_name: row.character_maximum_length for row in rows}
        for fs in dataset.fields:
            structural = fs.name == dataset.key or fs.ref or fs.choices or fs.name.endswith(CODE_SUFFIXES)
            if fs.kind in ("str", "list") and not structural and fs.col in columns:
                found.append((dataset, fs, columns[fs.col]))
    return found


def fitting(i: int, limit: int | None) -> str:
    """The i-th payload (round robin), or the next one that fits a column of `limit` characters."""
    return next(p for p in PAYLOADS[i % 5 :] + PAYLOADS[: i % 5] if limit is None or len(p) <= limit)


def plant_layers(conn: Connection) -> dict[tuple[str, str], str]:
    """Put a payload in every free-text field of every row of every layer; the old values wait in backup tables."""
    planted: dict[tuple[str, str], str] = {}
    tables: dict[str, dict[str, Any]] = {}  # table -> column -> value
    for i, (dataset, fs, limit) in enumerate(text_fields(conn)):
        planted[(dataset.name, fs.name)] = payload = fitting(i, limit)
        tables.setdefault(dataset.table, {})[fs.col] = [payload] if fs.kind == "list" else payload
    assert set(planted.values()) == set(PAYLOADS), planted
    # Table and column names from the registry and the catalogue; the values are bound.
    for table, values in tables.items():
        names, sets = ", ".join(values), ", ".join(f"{c} = :{c}" for c in values)
        conn.execute(text(f"CREATE TABLE {BACKUP}{table} AS SELECT id, {names} FROM {table}"))  # noqa: S608
        conn.execute(text(f"UPDATE {table} SET {sets}"), values)  # noqa: S608
    return planted


def restore_layers(conn: Connection) -> None:
    """Put back what plant_layers replaced and drop its backup tables."""
    found = (
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, :b)"
    )
    for backup in conn.execute(text(found), {"b": BACKUP}).scalars().all():
        table = backup.removeprefix(BACKUP)
        columns = [c for c in conn.execute(text(COLUMNS_SQL), {"table": backup}).scalars() if c != "id"]
        sets = ", ".join(f"{c} = b.{c}" for c in columns)
        conn.execute(text(f"UPDATE {table} t SET {sets} FROM {backup} b WHERE t.id = b.id"))  # noqa: S608
        conn.execute(text(f"DROP TABLE {backup}"))


def report_incident(live_url: str, conn: Connection, category: str) -> dict[str, Any]:
    """Through the API as admin: an incident with a payload in every text, filed with a payload comment and
    attachment names, then escalated to a payload department."""
    where = conn.execute(text(BUILDING_POINT_SQL)).one()
    with httpx.Client(base_url=live_url, timeout=30) as api:
        login = api.post("/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORDS["admin"]})
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        body = {"category_code": category, "title": IMG, "description": SCRIPT, "address": JS_URL}
        body |= {"reporter": TEMPLATE, "lon": where.x, "lat": where.y, "crs": "wgs84"}
        made = api.post("/api/incidents", json=body, headers=csrf)
        assert made.status_code == 201, made.text
        incident: dict[str, Any] = made.json()
        steps: list[dict[str, Any]] = [
            {"action": "file", "comment": SCRIPT, "attachments": [f"{IMG}.jpg", JS_URL, TEMPLATE]},
            {"action": "escalate", "level": "department", "department": SVG, "comment": TEMPLATE},
        ]
        for step in steps:
            res = api.post(
                f"/api/incidents/{incident['id']}/transitions",
                json={**step, "version": incident["version"]},
                headers=csrf,
            )
            assert res.status_code == 200, res.text
            incident = res.json()
        api.post("/api/auth/logout", headers=csrf)
    return incident


@pytest.fixture
def planted(admin_engine: Engine, live_url: str) -> Iterator[Planted]:
    """The payloads, planted (as the admin: the old values wait in tables of their own); everything put back
    afterwards."""
    with admin_engine.begin() as conn:
        category = conn.execute(text(SUBCATEGORY_SQL)).one()
        admin_name = conn.execute(
            text("SELECT display_name FROM app_user WHERE username = 'admin'")
        ).scalar_one()
    made = Planted(fields={}, category=SVG, display_name=TEMPLATE)
    try:
        with admin_engine.begin() as conn:
            made.fields = plant_layers(conn)
            conn.execute(
                text("UPDATE incident_category SET name_zh = :p, name_en = :p WHERE code = :c"),
                {"p": made.category, "c": category.code},
            )
            conn.execute(
                text("UPDATE app_user SET display_name = :p WHERE username = 'admin'"),
                {"p": made.display_name},
            )
        with admin_engine.connect() as conn:
            made.incident = report_incident(live_url, conn, category.code)
        yield made
    finally:
        with admin_engine.begin() as conn:
            restore_layers(conn)
            conn.execute(
                text("UPDATE incident_category SET name_zh = :zh, name_en = :en WHERE code = :c"),
                {"zh": category.name_zh, "en": category.name_en, "c": category.code},
            )
            conn.execute(
                text("UPDATE app_user SET display_name = :n WHERE username = 'admin'"), {"n": admin_name}
            )
            conn.execute(
                text("DELETE FROM incident WHERE id = :id OR ext_id = ANY(:p)"),
                {"id": made.incident.get("id"), "p": list(PAYLOADS)},
            )


def served_pages(settings: Settings, live_url: str) -> set[str]:
    """Every page the app serves: its GET routes without parameters that answer HTML, and the pages at the top of
    web/src (served under /static; their modules live in the folders below)."""
    candidates = [
        route.path
        for route in iter_route_contexts(create_app(settings).routes)  # through the included routers
        if isinstance(route.original_route, APIRoute)
        and not route.include_in_schema
        and "GET" in (route.methods or ())
        and "{" not in (route.path or "{")
    ]
    with httpx.Client(base_url=live_url, timeout=30) as client:
        html = {p for p in candidates if p and client.get(p).headers["content-type"].startswith("text/html")}
    return html | {f"/static/{p.name}" for p in (WEB / "src").glob("*.html")}


@dataclass
class Journey:
    """One admin's walk over the pages, checking after each step what the page did with the payloads."""

    page: Page
    live_url: str
    log: BrowserLog
    dialogs: list[str] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)

    def visit(self, path: str) -> None:
        response = self.page.goto(self.live_url.rstrip("/") + path)
        assert response is not None and response.ok, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self';" in policy and "unsafe" not in policy, (path, policy)
        assert response.headers.get("x-content-type-options") == "nosniff"
        self.visited.add(path)

    def check(self, where: str) -> None:
        """No dialog, no markup made from a payload, no console error; note which payloads show as text."""
        assert self.dialogs == [], where
        assert self.page.evaluate(INJECTED) == [], where
        assert self.log.console_errors == [], where
        shown = self.page.inner_text("body")
        self.seen |= {p for p in PAYLOADS if p in shown}


@pytest.fixture
def journey(page: Page, browser_log: BrowserLog, live_url: str) -> Journey:
    made = Journey(page, live_url, browser_log)

    def on_dialog(dialog: Dialog) -> None:
        made.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return made


def layer_points(conn: Connection) -> list[Any]:
    """For every clickable map layer: one feature's key and a point on it."""
    points = []
    for layer in REGISTRY.map_layers.values():
        if not layer.interactive:
            continue
        dataset = REGISTRY.datasets[layer.dataset]
        key = dataset.field(dataset.key).col
        where = f"({dataset.current}) AND ({layer.where})"
        columns = f":layer AS layer, :dataset AS dataset, t.{key}::text AS key, ST_X(p) AS x, ST_Y(p) AS y"
        # Names and conditions from the registry.
        sql = f"SELECT {columns} FROM {dataset.table} t, ST_PointOnSurface(t.geom) p WHERE {where}"  # noqa: S608
        sql += f" ORDER BY t.{key} LIMIT 1"
        points.append(conn.execute(text(sql), {"layer": layer.name, "dataset": dataset.name}).one())
    return points


def log_in_after_a_failed_attempt(j: Journey, display_name: str) -> None:
    """A log-in with a payload as the user name (refused, and audited with that name), then as admin."""
    page = j.page
    page.click(".account .login-button")
    dialog = page.locator("#login-dialog")
    dialog.locator("input[name='username']").fill(IMG)
    dialog.locator("input[name='password']").fill("not the password")
    dialog.locator("button[type='submit']").click()
    expect(dialog.locator(".form-message")).to_be_visible()
    clear_expected_errors(j.log, 401)
    dialog.locator("input[name='username']").fill("admin")
    dialog.locator("input[name='password']").fill(DEMO_PASSWORDS["admin"])
    dialog.locator("button[type='submit']").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".account .user-name")).to_have_text(exactly(display_name))
    page.evaluate("() => window.gisgrid.refreshed")


def walk_map(j: Journey, planted: Planted, points: list[Any]) -> None:
    page = j.page
    j.visit("/")
    page.wait_for_function("() => window.gisgrid && window.gisgrid.ready")
    page.evaluate("() => window.gisgrid.ready")
    j.check("map, anonymous")
    log_in_after_a_failed_attempt(j, planted.display_name)
    grid_name = planted.fields[("grids", "name")]
    expect(page.locator(".label-communities", has_text=exactly(grid_name)).first).to_be_visible()
    j.check("map labels")

    page.fill("#search-input", "alert")
    results = page.locator("#search-results .result-name")
    expect(results.first).to_be_visible()
    j.check("search results")
    page.locator("#search-results .search-result").first.click()
    expect(page.locator(".leaflet-popup-content .popup-section")).not_to_have_count(0)
    j.check("search result popup")

    for point in points:
        group = f"window.gisgrid.layers[{point.layer!r}]"
        if not page.evaluate(f"() => window.gisgrid.map.hasLayer({group})"):
            page.locator(f".gg-panel input[data-layer='{point.layer}']").check()
        page.evaluate(
            "([lat, lon]) => { window.gisgrid.map.setView([lat, lon], 17, {animate: false}); }",
            [point.y, point.x],
        )
        page.evaluate("() => window.gisgrid.loader.settled()")
        assert page.evaluate(CLICK_FEATURE, [point.layer, point.key, point.y, point.x]), point
        section = page.locator(f".leaflet-popup-content .popup-section[data-layer='{point.layer}']")
        expect(section.first).to_be_visible()
        shown = section.first.inner_text()
        assert planted.of_dataset(point.dataset) & {p for p in PAYLOADS if p in shown}, (point.layer, shown)
        page.evaluate(SETTLE, "gisgrid")
        j.check(f"popup of {point.layer}")


def walk_dispatch(j: Journey, planted: Planted, tmp_path: Path) -> None:
    page, incident = j.page, planted.incident
    j.visit("/static/dispatch.html")
    page.wait_for_function("() => window.gisgridDispatch && window.gisgridDispatch.ready")
    page.evaluate("() => window.gisgridDispatch.ready")
    page.wait_for_function("() => window.gisgridDispatchList && window.gisgridDispatchList.loads > 0")
    expect(page.locator(".account .user-name")).to_have_text(exactly(planted.display_name))

    # The list, filtered by the payload title (the filter echoes it back to the API), then the detail.
    page.click("[data-tab='list']")
    loads = page.evaluate("() => window.gisgridDispatchList.loads")
    page.fill("#list-filters input[name='q']", incident["title"])
    page.click("#list-filters button[type='submit']")
    page.wait_for_function("(n) => window.gisgridDispatchList.loads > n", arg=loads)
    row = page.locator(f"#incident-rows tr[data-id='{incident['id']}']")
    expect(row.locator(".row-title")).to_have_text(exactly(incident["title"]))
    expect(row.locator(".row-category")).to_contain_text(planted.category)
    j.check("incident list")
    row.click()
    detail = page.locator("#incident-detail")
    expect(detail.locator(".detail-title")).to_have_text(exactly(incident["title"]))
    expect(detail.locator(".detail-description")).to_have_text(exactly(incident["description"]))
    facts = detail.locator(".detail-facts")
    for value in (
        incident["address"],
        incident["reporter"],
        f"部门 · {incident['department']}",
        planted.category,
    ):
        expect(facts).to_contain_text(value)
    events = detail.locator(".timeline .event")
    expect(events.nth(1).locator(".event-comment")).to_have_text(exactly(SCRIPT))
    expect(events.nth(1).locator(".attachment")).to_have_text([f"{IMG}.jpg", JS_URL, TEMPLATE])
    expect(events.nth(2).locator(".event-detail")).to_contain_text(incident["department"])
    j.check("incident detail")

    # An API message echoing what was typed: an attachment name with a slash is refused, naming it.
    detail.locator(".action-button[data-action='dispatch']").click()
    form = detail.locator(".action-form[data-action='dispatch']")
    form.locator("textarea[name='comment']").fill(SVG)
    form.locator("input[name='attachments']").fill(SVG)
    form.locator("button[type='submit']").click()
    expect(form.locator(".form-message")).to_contain_text(SVG)
    clear_expected_errors(j.log, 422)
    form.locator(".cancel").click()
    j.check("refused action")

    # The incident's pin and its tooltip.
    detail.locator(".detail-zoom").click()
    page.evaluate(SETTLE, "gisgridDispatch")
    page.locator(f".incident-dot[data-id='{incident['id']}']").hover()
    expect(page.locator(".leaflet-tooltip:not(.grid-label)", has_text=incident["title"])).to_be_visible()
    j.check("incident pin")

    # Intake: compounds by a payload in their names, and the grid panel of one (grids, workers, sites).
    page.click("[data-tab='intake']")
    page.fill("#place-q", "alert")
    page.click("#place-form button[type='submit']")
    page.locator("#place-results .place-result").first.click()
    expect(page.locator("#grid-panel .micro-name")).to_have_text(exactly(planted.fields[("grids", "name")]))
    j.check("grid panel")

    page.click("[data-tab='stats']")
    page.wait_for_function("() => window.gisgridDispatchStats.loads > 0")
    expect(page.locator("#stats-table .stats-row").first).to_contain_text(planted.fields[("grids", "name")])
    j.check("statistics")

    upload_bad_rows(j, tmp_path)


def upload_bad_rows(j: Journey, tmp_path: Path) -> None:
    """A hotline export (its file name a payload) whose rows are refused: the page lists them with the reasons."""
    page = j.page
    export = tmp_path / f"{IMG}.csv"
    with export.open("w", encoding="utf-8", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["工单编号", "事件类别", "诉求标题", "诉求内容", "地址", "经度", "纬度", "受理时间"])
        rows.writerow([IMG, SCRIPT, JS_URL, TEMPLATE, SVG, "104.1", "30.64", "2026-01-01 09:00"])
        rows.writerow([SVG, "垃圾堆放", SCRIPT, IMG, TEMPLATE, JS_URL, "30.64", "2026-01-01 09:00"])
    page.click("[data-tab='import']")
    form = page.locator("#import-form")
    form.locator("input[name='file']").set_input_files(str(export))
    form.locator("select[name='crs']").select_option("wgs84")
    form.locator("button[type='submit']").click()
    page.wait_for_function("() => ['done', 'failed'].includes(window.gisgridDispatchImport.phase)")
    errors = page.locator("#import-result .import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text(IMG)
    expect(errors.nth(1)).to_contain_text(SVG)
    j.check("import errors")


def walk_plan(j: Journey, planted: Planted, points: list[Any]) -> None:
    """The planner's page: a micro-grid's panel (its name, its neighbours' names) and its history."""
    page = j.page
    j.visit("/static/plan.html")
    page.wait_for_function("() => window.gisgridPlan && window.gisgridPlan.ready")
    page.evaluate("() => window.gisgridPlan.ready")
    micro = next(p for p in points if p.layer == "micro_grids")
    page.evaluate(
        "([lat, lon]) => { window.gisgridPlan.map.setView([lat, lon], 18, {animate: false}); }",
        [micro.y, micro.x],
    )
    page.evaluate(SETTLE, "gisgridPlan")
    page.evaluate("() => window.gisgridPlan.loader.settled()")
    page.evaluate(
        "([lat, lon]) => { window.gisgridPlan.map.fire('click', {latlng: L.latLng(lat, lon)}); }",
        [micro.y, micro.x],
    )
    grid_name = planted.fields[("grids", "name")]
    expect(page.locator("#plan-grid .plan-grid-title span")).to_have_text(exactly(grid_name))
    expect(page.locator("#plan-grid .plan-edge-row").first).to_contain_text(grid_name)
    j.check("planner's page")
    page.click("#plan-tab-history")
    expect(page.locator("#plan-history .plan-version-item").first).to_contain_text(grid_name)
    j.check("planner's history")


def walk_coverage(j: Journey, planted: Planted) -> None:
    """The coverage page: community names in its table, compound names in the siting list and a building popup."""
    page = j.page
    j.visit("/static/coverage.html")
    page.wait_for_function("() => window.gisgridCoverage && window.gisgridCoverage.ready")
    page.wait_for_function("() => window.gisgridCoverage.summary")
    expect(page.locator("#cov-units tr").first).to_contain_text(planted.fields[("grids", "name")])
    j.check("coverage page")
    page.select_option("#cov-siting select[name=against]", "outpost")
    page.click("#cov-siting button[type=submit]")
    expect(page.locator("#cov-siting-list li").first).to_contain_text(planted.fields[("compounds", "name")])
    page.locator("path.cov-pick").first.hover()
    j.check("coverage siting")


def walk_audit(j: Journey) -> None:
    page = j.page
    j.visit("/static/audit.html")
    page.wait_for_function("() => window.gisgridAudit && window.gisgridAudit.loads > 0")
    # The failed log-in keeps the name it was tried with.
    expect(
        page.locator("#audit-rows tr", has=page.locator("td.action", has_text="login_failed")).first
    ).to_contain_text(IMG)
    j.check("audit trail")


def walk_api_docs(j: Journey) -> None:
    page = j.page
    j.visit("/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    j.check("swagger ui")
    j.visit("/redoc")
    expect(page.locator("h1", has_text="gisgrid")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    j.check("redoc")


def test_payloads_in_every_text_field_are_shown_as_text_on_every_page(
    journey: Journey,
    planted: Planted,
    engine: Engine,
    settings: Settings,
    live_url: str,
    tmp_path: Path,
) -> None:
    with engine.connect() as conn:
        points = layer_points(conn)
    pages = served_pages(settings, live_url)
    walk_map(journey, planted, points)
    walk_dispatch(journey, planted, tmp_path)
    walk_plan(journey, planted, points)
    walk_coverage(journey, planted)
    walk_audit(journey)
    walk_api_docs(journey)
    assert journey.visited == pages, "a page the journey does not visit: add it"
    assert journey.seen == set(PAYLOADS), "a payload was never shown as text"
    assert_clean(journey.log, live_url)
