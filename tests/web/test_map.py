"""The map shell in real headless Chromium, against the app on the demo database (live_url, engine)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, Route, ViewportSize, expect
from sqlalchemy import Engine, text

from gisgrid.layers import REGISTRY
from tests.web.conftest import BrowserLog
from tests.web.pages import (
    AIM,
    MICRO_GRIDS_SQL,
    POLYGON_LAYERS,
    assert_clean,
    click_grid,
    exactly,
    open_map,
)

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-map.png"
HIDDEN_BY_DEFAULT = ("special_grids", "buildings")


def _current_grids(level: str) -> str:
    return f"SELECT count(*) FROM grid_unit WHERE valid_to IS NULL AND level = '{level}'"  # noqa: S608


COUNT_RENDERED = "name => document.querySelectorAll(`.gg-feature[data-layer='${name}']`).length"
LAYER_STATE = (
    "() => Object.fromEntries(Object.entries(window.gisgrid.layers)"
    ".map(([k, v]) => [k, {count: v.featureCount, status: v.status}]))"
)


def db_counts_in(engine: Engine, boxes: dict[str, str | None]) -> dict[str, int]:
    """What the API serves for each layer within the box the page loaded (0 for a layer not loaded)."""
    out = {}
    with engine.connect() as conn:
        for name, bbox in boxes.items():
            if bbox is None:
                out[name] = 0
                continue
            layer = REGISTRY.map_layers[name]
            dataset = REGISTRY.datasets[layer.dataset]
            minx, miny, maxx, maxy = (float(v) for v in bbox.split(","))
            where = (
                f"({dataset.current}) AND ({layer.where}) AND t.geom && ST_MakeEnvelope(:a, :b, :c, :d, 4326)"
            )
            sql = f"SELECT count(*) FROM {dataset.table} t WHERE {where}"  # noqa: S608
            out[name] = int(
                conn.execute(text(sql), {"a": minx, "b": miny, "c": maxx, "d": maxy}).scalar_one()
            )
    return out


def settle_layers(page: Page) -> None:
    page.evaluate("() => window.gisgrid.loader.settled()")


def test_each_visible_layer_draws_every_feature_of_its_box(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    summary = open_map(page, live_url)
    assert summary["failed"] == []
    config = page.evaluate("() => window.gisgrid.config")
    min_zoom = {layer["name"]: layer["map"]["min_zoom"] for layer in config["layers"]}
    # Only the visible area of the switched-on layers was asked for, each request with a bbox.
    layer_requests = [url for url in browser_log.requests if "/api/layers/" in url]
    assert layer_requests and all("bbox=" in url for url in layer_requests)
    assert not [url for url in layer_requests if any(f"/api/layers/{n}?" in url for n in HIDDEN_BY_DEFAULT)]

    for name in HIDDEN_BY_DEFAULT:
        assert page.evaluate(COUNT_RENDERED, name) == 0, f"{name} should be off by default"
        # Hidden layers are switched on the way a user does, from the layer panel.
        page.check(f".gg-panel input[data-layer='{name}']")
    # Close enough for every layer (buildings only show close up), then count like the rest.
    page.evaluate("(z) => { window.gisgrid.map.setZoom(z, {animate: false}); }", max(min_zoom.values()))
    settle_layers(page)
    boxes = page.evaluate("() => window.gisgrid.loader.boxes()")
    assert all(boxes.values()), boxes
    expected = db_counts_in(engine, boxes)
    assert all(n > 0 for n in expected.values()), f"demo data missing a layer here: {expected}"
    recorded = {name: v["count"] for name, v in page.evaluate(LAYER_STATE).items()}
    rendered = {name: page.evaluate(COUNT_RENDERED, name) for name in expected}
    assert recorded == expected
    assert rendered == expected

    page.uncheck(".gg-panel input[data-layer='micro_grids']")
    assert page.evaluate(COUNT_RENDERED, "micro_grids") == 0
    assert_clean(browser_log, live_url)


def test_zooming_out_drops_close_up_layers_and_panning_loads_the_new_area(
    page: Page, browser_log: BrowserLog, live_url: str
) -> None:
    open_map(page, live_url)
    config = page.evaluate("() => window.gisgrid.config")
    walk_min = next(layer["map"]["min_zoom"] for layer in config["layers"] if layer["name"] == "walk_edges")
    assert page.evaluate(COUNT_RENDERED, "walk_edges") > 0
    page.evaluate("(z) => { window.gisgrid.map.setZoom(z, {animate: false}); }", walk_min - 1)
    settle_layers(page)
    # Below its minimum zoom a layer draws nothing and the panel says why.
    assert page.evaluate(COUNT_RENDERED, "walk_edges") == 0
    expect(page.locator("[data-layer-count='walk_edges']")).to_have_text("放大后显示")
    assert page.evaluate(COUNT_RENDERED, "communities") > 0

    # Far away (outside the data) every loaded layer is re-read for the new box and the old features go.
    loads = page.evaluate("() => window.gisgrid.loader.loads()")
    page.evaluate("() => { window.gisgrid.map.setView([30.9, 104.5], 16, {animate: false}); }")
    settle_layers(page)
    assert page.evaluate("() => window.gisgrid.loader.loads()") > loads
    assert page.evaluate(COUNT_RENDERED, "micro_grids") == 0
    assert page.evaluate(COUNT_RENDERED, "walk_edges") == 0
    assert_clean(browser_log, live_url)


def _micro_grids_with_workers(engine: Engine) -> list[Any]:
    sql = """
        SELECT g.code, g.name, min(w.name) AS worker,
               ST_X(ST_PointOnSurface(g.geom)) AS x, ST_Y(ST_PointOnSurface(g.geom)) AS y
          FROM grid_unit g
          JOIN worker_grid wg ON wg.grid_code = g.code
          JOIN worker w ON w.id = wg.worker_id
         WHERE g.valid_to IS NULL AND g.level = 'micro'
         GROUP BY g.code, g.name, g.geom
         ORDER BY g.code
         LIMIT 25
    """
    with engine.connect() as conn:
        return list(conn.execute(text(sql)))


def test_micro_grid_popup_names_its_worker(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    open_map(page, live_url)
    candidates = _micro_grids_with_workers(engine)
    assert candidates, "no micro-grid with a worker in the demo data"
    for grid in candidates:
        aim = page.evaluate(AIM, [grid.y, grid.x])
        if aim["layer"] in POLYGON_LAYERS:
            break
    else:
        pytest.fail("every candidate micro-grid is covered by a marker or line at its point on surface")
    page.mouse.click(aim["x"], aim["y"])

    section = page.locator(".leaflet-popup-content .popup-section[data-layer='micro_grids']")
    expect(section).to_contain_text(grid.name)
    expect(section).to_contain_text(grid.code)
    expect(section).to_contain_text(grid.worker)
    expect(page.locator(".gg-feature[data-layer='micro_grids'].highlight")).to_have_count(1)
    assert_clean(browser_log, live_url)


def test_language_switch_relabels_legend_and_labels(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    with engine.connect() as conn:
        community = conn.execute(
            text(
                "SELECT name, coalesce(name_en, name) AS name_en FROM grid_unit "
                "WHERE valid_to IS NULL AND level = 'community' ORDER BY code LIMIT 1"
            )
        ).one()
    open_map(page, live_url)
    legend = page.locator(".gg-legend")
    label = page.locator(".label-communities").first
    expect(legend.locator(".gg-toggle")).to_have_text("图例")
    expect(legend.locator("[data-legend='micro_grids']")).to_have_text("微网格")
    expect(page.locator(".label-communities", has_text=exactly(community.name))).to_have_count(1)

    page.click("button[data-lang='en']")
    expect(legend.locator(".gg-toggle")).to_have_text("Legend")
    expect(legend.locator("[data-legend='micro_grids']")).to_have_text("Micro-grids")
    expect(legend.locator("[data-legend='sites-centre']")).to_have_text("Subdistrict service centre")
    expect(page.locator(".gg-panel h2")).to_have_text("Layers")
    expect(page.locator(".label-communities", has_text=exactly(community.name_en))).to_have_count(1)
    assert page.evaluate("document.documentElement.lang") == "en"

    # The choice is remembered for the next visit.
    page.reload()
    page.wait_for_function("() => window.gisgrid && window.gisgrid.ready")
    page.evaluate("() => window.gisgrid.ready")
    expect(legend.locator(".gg-toggle")).to_have_text("Legend")
    page.click("button[data-lang='zh']")
    expect(legend.locator(".gg-toggle")).to_have_text("图例")
    expect(label).to_be_visible()
    assert_clean(browser_log, live_url)


def test_search_lists_community_and_zooms_to_it(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    with engine.connect() as conn:
        lianhua = conn.execute(
            text(
                "SELECT code, ST_X(ST_Centroid(geom)) AS x, ST_Y(ST_Centroid(geom)) AS y FROM grid_unit "
                "WHERE valid_to IS NULL AND level = 'community' AND name = '莲花社区'"
            )
        ).one()
    open_map(page, live_url)
    zoom_before = page.evaluate("() => window.gisgrid.map.getZoom()")

    page.fill("#search-input", "莲花")
    page.press("#search-input", "Enter")
    result = page.locator(".search-result").filter(
        has=page.locator(".result-name", has_text=exactly("莲花社区"))
    )
    expect(result).to_have_count(1)
    result.click()

    popup = page.locator(".leaflet-popup-content .popup-section[data-layer='communities']")
    expect(popup).to_contain_text("莲花社区")
    expect(popup).to_contain_text(lianhua.code)
    page.wait_for_function(
        "([lat, lon, z]) => { const m = window.gisgrid.map;"
        " return m.getZoom() > z && m.getBounds().contains([lat, lon]); }",
        arg=[lianhua.y, lianhua.x, zoom_before],
    )
    expect(page.locator(".gg-feature[data-layer='communities'].highlight")).to_have_count(1)
    assert_clean(browser_log, live_url)


def test_search_shows_the_api_error(page: Page, browser_log: BrowserLog, live_url: str) -> None:
    too_long = "网" * 101
    url = f"{live_url.rstrip('/')}/api/search?" + urllib.parse.urlencode({"q": too_long})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(url)  # noqa: S310 - our own test server
    error = json.loads(raised.value.read())["error"]

    open_map(page, live_url)
    page.fill("#search-input", too_long)
    page.press("#search-input", "Enter")
    expect(page.locator(".search-error")).to_contain_text(error["message"])
    # The browser logs the 422 response itself as a console error; that one is expected here.
    assert all("422" in e for e in browser_log.console_errors)
    browser_log.console_errors.clear()
    assert_clean(browser_log, live_url)


def test_a_failed_layer_shows_a_banner(page: Page, live_url: str) -> None:
    body = {
        "error": {
            "code": "database_unavailable",
            "message": "The database cannot be reached.",
            "field": None,
            "value": None,
            "expected": "a running database",
        }
    }
    page.route("**/api/layers/rivers*", lambda route: route.fulfill(status=503, json=body))
    summary = open_map(page, live_url)

    assert summary["failed"] == ["rivers"]
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("河流")
    expect(banner).to_contain_text("The database cannot be reached.")
    expect(page.locator("[data-layer-count='rivers']")).to_have_text("失败")
    expect(page.locator("#loading")).to_be_hidden()


def test_screenshot_for_the_readme(page: Page, browser_log: BrowserLog, live_url: str) -> None:
    open_map(page, live_url)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
    assert_clean(browser_log, live_url)


def test_site_popup_shows_kind_services_and_hours(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    with engine.connect() as conn:
        centre = conn.execute(
            text("SELECT name, opening_hours FROM service_site WHERE kind = 'centre' ORDER BY ext_id LIMIT 1")
        ).one()
    open_map(page, live_url)
    for kind in ("centre", "community", "outpost"):
        assert page.locator(f".gg-feature[data-layer='sites'].site-icon-{kind}").count() > 0, kind

    page.locator(".gg-feature[data-layer='sites'].site-icon-centre").first.click()
    popup = page.locator(".leaflet-popup-content .popup-section[data-layer='sites']")
    expect(popup).to_contain_text(centre.name)
    expect(popup).to_contain_text("街道便民服务中心")
    if centre.opening_hours:
        expect(popup).to_contain_text(centre.opening_hours)
    assert_clean(browser_log, live_url)


def test_tile_layer_only_when_configured_and_off_by_default(page: Page, live_url: str) -> None:
    tiles = f"{live_url.rstrip('/')}/test-tiles/{{z}}/{{x}}/{{y}}.png"

    def with_tiles(route: Route) -> None:
        config = route.fetch().json()
        route.fulfill(json={**config, "tile_url": tiles, "tile_attribution": "test tiles"})

    page.route("**/api/map-config", with_tiles)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_map(page, live_url)

    box = page.locator(".gg-panel input[data-layer='tiles']")
    expect(box).not_to_be_checked()
    assert not [url for url in requested if "/test-tiles/" in url]
    box.check()
    page.wait_for_function("() => document.querySelectorAll('.leaflet-tile').length > 0")
    # The (missing) tiles are asked of the configured server only once the user switches them on.
    assert [url for url in requested if "/test-tiles/" in url]


PHONE: ViewportSize = {"width": 390, "height": 844}
BOX = "(sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_on_a_phone_panel_and_legend_collapse_and_never_cover_a_popup(
    browser: Browser, live_url: str, engine: Engine
) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    log = BrowserLog()
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    page.on("request", log.on_request)
    try:
        open_map(page, live_url)
        panel_rows = page.locator(".gg-panel .layer-row").first
        legend_items = page.locator(".gg-legend li").first
        # Collapsed at first: only their buttons show.
        expect(page.locator(".gg-panel .gg-toggle")).to_be_visible()
        expect(page.locator(".gg-legend .gg-toggle")).to_be_visible()
        expect(panel_rows).to_be_hidden()
        expect(legend_items).to_be_hidden()
        page.click(".gg-panel .gg-toggle")
        expect(panel_rows).to_be_visible()
        expect(page.locator(".gg-panel .gg-toggle")).to_have_attribute("aria-expanded", "true")
        page.click(".gg-legend .gg-toggle")
        expect(legend_items).to_be_visible()

        # A popup closes both, and it overlaps neither.
        with engine.connect() as conn:
            grids = list(conn.execute(text(MICRO_GRIDS_SQL), {"prefix": ""}))
        # The whole subdistrict fits a phone below micro-grids' minimum zoom (14): zoom in as a worker would.
        page.evaluate(
            "([y, x]) => window.gisgrid.map.setView([y, x], 15, { animate: false })", [grids[0].y, grids[0].x]
        )
        settle_layers(page)
        click_grid(page, grids)
        popup = page.locator(".leaflet-popup-content-wrapper")
        expect(popup).to_be_visible()
        expect(panel_rows).to_be_hidden()
        expect(legend_items).to_be_hidden()
        popup_box = page.evaluate(BOX, ".leaflet-popup-content-wrapper")
        for control in (".gg-panel", ".gg-legend"):
            assert not _overlap(popup_box, page.evaluate(BOX, control)), control
        # Opening the panel again closes the popup rather than covering it.
        page.click(".gg-panel .gg-toggle")
        expect(panel_rows).to_be_visible()
        expect(page.locator(".leaflet-popup")).to_have_count(0)
        assert_clean(log, live_url)
    finally:
        context.close()


def test_a_script_in_a_grid_or_site_name_is_shown_as_text(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    payload = '<img src=x onerror="window.__xss=1">'
    with engine.begin() as conn:
        community = conn.execute(
            text(
                "SELECT code, name FROM grid_unit WHERE valid_to IS NULL AND level = 'community' ORDER BY code LIMIT 1"
            )
        ).one()
        site = conn.execute(text("SELECT ext_id, name FROM service_site ORDER BY ext_id LIMIT 1")).one()
        conn.execute(
            text("UPDATE grid_unit SET name = :n WHERE code = :c AND valid_to IS NULL"),
            {"n": payload, "c": community.code},
        )
        conn.execute(
            text("UPDATE service_site SET name = :n WHERE ext_id = :i"), {"n": payload, "i": site.ext_id}
        )
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        open_map(page, live_url)
        expect(page.locator(".label-communities", has_text=exactly(payload))).to_have_count(1)
        assert page.evaluate("() => window.__xss") is None and not dialogs
        assert page.locator(".label-communities img").count() == 0
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE grid_unit SET name = :n WHERE code = :c AND valid_to IS NULL"),
                {"n": community.name, "c": community.code},
            )
            conn.execute(
                text("UPDATE service_site SET name = :n WHERE ext_id = :i"),
                {"n": site.name, "i": site.ext_id},
            )
    assert_clean(browser_log, live_url)
