"""Helpers shared by the browser tests: open the map, click a grid unit, log in through the header dialog, and
check that a page logged no errors and asked nothing of any other host."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.conftest import DEMO_PASSWORDS
from tests.web.conftest import BrowserLog

POLYGON_LAYERS = (
    "buildings",
    "compounds",
    "micro_grids",
    "general_grids",
    "communities",
    "subdistricts",
    "special_grids",
)

# Centre the map on a point at zoom 18 and say what the mouse would hit there (a site marker or a bank segment
# drawn on top of the micro-grid would take the click instead).
AIM = """([lat, lon]) => {
  const map = window.gisgrid.map;
  map.setView([lat, lon], 18, {animate: false});
  const p = map.latLngToContainerPoint([lat, lon]);
  const box = map.getContainer().getBoundingClientRect();
  const x = box.left + p.x, y = box.top + p.y;
  const el = document.elementFromPoint(x, y);
  return {x, y, layer: el && el.getAttribute('data-layer')};
}"""

# Resolve once the map centre has not moved for 10 animation frames (a pan or zoom animation has ended). The
# argument names the page's global holding the map: gisgrid (the map page), gisgridDispatch (dispatch page).
SETTLE = """(name) => new Promise((resolve) => {
  const map = window[name].map;
  let last = null, still = 0;
  const tick = () => {
    const c = map.getCenter(), key = `${c.lat},${c.lng},${map.getZoom()}`;
    still = key === last ? still + 1 : 0;
    last = key;
    if (still >= 10) resolve(); else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})"""

# A micro-grid's point on surface, for AIM: pass the level and a code prefix (a community code, say).
MICRO_GRIDS_SQL = """
    SELECT code, name, ST_X(ST_PointOnSurface(geom)) AS x, ST_Y(ST_PointOnSurface(geom)) AS y
      FROM grid_unit
     WHERE valid_to IS NULL AND level = 'micro' AND code LIKE :prefix || '%'
     ORDER BY code DESC
     LIMIT 25
"""


def exactly(value: str) -> re.Pattern[str]:
    """Match an element's whole text (has_text alone matches substrings: 社区1 would match 社区10)."""
    return re.compile(f"^{re.escape(value)}$")


def open_map(page: Page, live_url: str) -> dict[str, Any]:
    """Open the map and wait until every layer has finished loading; return the load summary."""
    page.goto(live_url.rstrip("/") + "/")
    page.wait_for_function("() => window.gisgrid && window.gisgrid.ready")
    return page.evaluate("() => window.gisgrid.ready")  # type: ignore[no-any-return]


def assert_clean(log: BrowserLog, live_url: str) -> None:
    """No console errors, and nothing requested from anywhere but the app on 127.0.0.1."""
    assert log.console_errors == []
    app_host = urllib.parse.urlsplit(live_url).hostname
    assert app_host == "127.0.0.1"
    foreign = [
        url
        for url in log.requests
        if urllib.parse.urlsplit(url).scheme not in ("data", "blob")
        and urllib.parse.urlsplit(url).hostname != app_host
    ]
    assert foreign == []


def clear_expected_errors(log: BrowserLog, *statuses: int) -> None:
    """Drop the console errors Chromium logs for refused requests (it logs every 4xx answer), after checking that
    nothing else was logged."""
    unexpected = [e for e in log.console_errors if not any(f"status of {s}" in e for s in statuses)]
    assert unexpected == []
    log.console_errors.clear()


def click_grid(page: Page, grids: list[Any]) -> tuple[Any, Locator]:
    """Click the first of `grids` (rows with code, x, y) that is not covered by a marker or line at its point on
    surface; return the grid clicked and its popup section."""
    # A popup still fading out would be a second match below.
    page.evaluate("() => { window.gisgrid.map.closePopup(); }")  # no return value to serialise
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    for grid in grids:
        aim = page.evaluate(AIM, [grid.y, grid.x])
        if aim["layer"] in POLYGON_LAYERS:
            page.mouse.click(aim["x"], aim["y"])
            section = page.locator(".leaflet-popup-content .popup-section[data-layer='micro_grids']")
            expect(section).to_contain_text(grid.code)
            # The popup pans the map into view: a click on its buttons mid-pan could land on the map instead.
            page.evaluate(SETTLE, "gisgrid")
            return grid, section
    raise AssertionError("every candidate micro-grid is covered by a marker or line at its point on surface")


def log_in(page: Page, username: str, password: str | None = None) -> None:
    """Log in through the header's dialog and wait until the header shows the user and the layers are re-read."""
    page.click(".account .login-button")
    dialog = page.locator("#login-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("input[name='username']").fill(username)
    dialog.locator("input[name='password']").fill(password or DEMO_PASSWORDS[username])
    dialog.locator("button[type='submit']").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".account .user-name")).to_be_visible()
    if page.evaluate("() => Boolean(window.gisgrid)"):
        page.evaluate("() => window.gisgrid.refreshed")


def log_out(page: Page) -> None:
    """Log out from the header and wait until it offers 登录 again."""
    page.click(".account .logout-button")
    expect(page.locator(".account .login-button")).to_be_visible()
    if page.evaluate("() => Boolean(window.gisgrid)"):
        page.evaluate("() => window.gisgrid.refreshed")
