"""Log-in, role-based edit buttons, the edit form, the audit page and session expiry, in headless Chromium.

`live_url` serves one database for the whole session, never rolled back: every test here puts back what it
changes (in `finally`), and edits grids of communities no other test looks at."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, text

from tests.conftest import DEMO_PASSWORDS
from tests.web.conftest import BrowserLog
from tests.web.pages import (
    MICRO_GRIDS_SQL,
    assert_clean,
    clear_expected_errors,
    click_grid,
    log_in,
    log_out,
    open_map,
)

pytestmark = pytest.mark.browser

AUDIT_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-audit.png"
LIANHUA = "莲花社区"
YIXINQIAO = "一心桥社区"
# Edited by the tests below and by nobody else's tests.
EDIT_COMMUNITY = "和祥社区"
CONFLICT_COMMUNITY = "柳荫社区"


def community_code(engine: Engine, name: str) -> str:
    with engine.connect() as conn:
        sql = "SELECT code FROM grid_unit WHERE valid_to IS NULL AND level = 'community' AND name = :n"
        return str(conn.execute(text(sql), {"n": name}).scalar_one())


def micro_grids(engine: Engine, community: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(MICRO_GRIDS_SQL), {"prefix": community_code(engine, community)}))


def grid_row(engine: Engine, code: str) -> Any:
    with engine.connect() as conn:
        sql = "SELECT name, households, version FROM grid_unit WHERE valid_to IS NULL AND code = :c"
        return conn.execute(text(sql), {"c": code}).one()


def api_error(live_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The API's error for a POST that must fail (to compare the page's message with it)."""
    req = urllib.request.Request(  # noqa: S310 - our own test server
        live_url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(req)  # noqa: S310
    return json.loads(raised.value.read())["error"]  # type: ignore[no-any-return]


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until `check()` holds."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def restore_grid(engine: Engine) -> Iterator[Callable[[str], None]]:
    """`restore_grid(code)` before editing: the unit gets its names, figures and version back after the test."""
    saved: dict[str, dict[str, Any]] = {}

    def remember(code: str) -> None:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT name, name_en, households, population, version FROM grid_unit "
                    "WHERE valid_to IS NULL AND code = :c"
                ),
                {"c": code},
            ).one()
        saved.setdefault(code, row._asdict())

    yield remember
    with engine.begin() as conn:
        for code, row in saved.items():
            conn.execute(
                text(
                    "UPDATE grid_unit SET name = :name, name_en = :name_en, households = :households, "
                    "population = :population, version = :version WHERE valid_to IS NULL AND code = :code"
                ),
                {**row, "code": code},
            )


def test_anonymous_sees_no_edit_button_and_a_planner_does(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    open_map(page, live_url)
    expect(page.locator(".account .login-button")).to_have_text("登录")
    grid, section = click_grid(page, micro_grids(engine, YIXINQIAO))
    households = grid_row(engine, grid.code).households
    expect(section).not_to_contain_text("户数")
    expect(page.locator(".leaflet-popup-content .popup-edit")).to_have_count(0)

    log_in(page, "planner")
    expect(page.locator(".account .user-name")).to_have_text("演示规划员")
    expect(page.locator(".account .user-role")).to_have_text("规划员")
    expect(page.locator(".account .login-button")).to_have_count(0)
    # Only admin and auditor get the audit page link.
    expect(page.locator(".account .audit-link")).to_have_count(0)
    # The open popup follows the log-in: the figures the API now sends, and the edit button.
    expect(section).to_contain_text("户数")
    expect(section).to_contain_text(f"{households:,}")
    expect(section.locator(".popup-edit")).to_have_text("修改")

    page.click("button[data-lang='en']")
    expect(page.locator(".account .user-role")).to_have_text("Planner")
    expect(page.locator(".account .logout-button")).to_have_text("Log out")
    expect(section.locator(".popup-edit")).to_have_text("Edit")
    expect(section).to_contain_text("Households")
    page.click("button[data-lang='zh']")

    log_out(page)
    expect(section).not_to_contain_text("户数")
    expect(page.locator(".leaflet-popup-content .popup-edit")).to_have_count(0)
    assert_clean(browser_log, live_url)


def test_planner_edits_a_name_and_the_auditor_sees_it(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, restore_grid: Callable[[str], None]
) -> None:
    open_map(page, live_url)
    log_in(page, "planner")
    grid, section = click_grid(page, micro_grids(engine, EDIT_COMMUNITY))
    restore_grid(grid.code)
    old_name = grid_row(engine, grid.code).name
    new_name = f"{old_name}（改名测试）"

    section.locator(".popup-edit").click()
    dialog = page.locator("#grid-edit-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".edit-code")).to_have_text(grid.code)
    name = dialog.locator("input[name='name']")
    expect(name).to_have_value(old_name)
    expect(dialog.locator("input[name='households']")).to_have_value(
        str(grid_row(engine, grid.code).households)
    )
    name.fill(new_name)
    dialog.locator("button[type='submit']").click()
    expect(dialog.locator(".form-message")).to_contain_text("已保存")
    dialog.locator("button.cancel").click()
    expect(dialog).to_be_hidden()

    # The map shows the new name without a reload: the popup, and the label (which drops the parent's name).
    expect(section.locator(".popup-name")).to_have_text(new_name)
    expect(page.locator(".label-micro_grids", has_text="（改名测试）")).to_have_count(1)

    # The API commits after answering (see the report on the race): give the commit a moment.
    eventually(lambda: grid_row(engine, grid.code).name == new_name)
    with engine.connect() as conn:
        entry = conn.execute(
            text(
                "SELECT actor, role, before, after FROM audit_log "
                "WHERE action = 'update' AND entity = 'grid_unit' AND entity_key = :c ORDER BY id DESC LIMIT 1"
            ),
            {"c": grid.code},
        ).one()
    assert (entry.actor, entry.role) == ("planner", "planner")
    assert entry.before == {"name": old_name}
    assert entry.after["name"] == new_name

    log_out(page)
    log_in(page, "auditor")
    expect(page.locator(".account .user-name")).to_have_text("演示审计员")
    page.click(".account .audit-link")
    page.wait_for_url("**/static/audit.html")
    row = page.locator(".audit-table tbody tr", has=page.locator("td.key", has_text=grid.code)).first
    expect(row).to_be_visible()
    expect(row.locator("td.actor")).to_have_text("planner")
    expect(row.locator("td.action")).to_have_text("update")
    expect(row.locator("td.entity")).to_have_text("grid_unit")
    expect(row.locator("td.change")).to_contain_text(old_name)
    expect(row.locator("td.change")).to_contain_text(new_name)
    expect(page.locator(".account .user-name")).to_have_text("演示审计员")

    AUDIT_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(AUDIT_SCREENSHOT))

    # Filtering by key keeps only that unit's entries, and the filter lands in the URL.
    loads = page.evaluate("() => window.gisgridAudit.loads")
    page.fill("#audit-filters input[name='key']", grid.code)
    page.click("#audit-filters button[type='submit']")
    expect(page).to_have_url(re.compile(r"key=" + grid.code))
    page.wait_for_function("n => window.gisgridAudit.loads > n", arg=loads)
    keys = page.locator(".audit-table td.key").all_inner_texts()
    assert keys and set(keys) == {grid.code}

    page.click("button[data-lang='en']")
    expect(page.locator(".audit-table th").first).to_have_text("Time")
    page.click("button[data-lang='zh']")
    assert_clean(browser_log, live_url)


def test_audit_page_asks_for_the_right_log_in(page: Page, browser_log: BrowserLog, live_url: str) -> None:
    page.goto(live_url.rstrip("/") + "/static/audit.html")
    status = page.locator("#audit-status")
    expect(status).to_have_text("请以管理员或审计员身份登录")
    expect(page.locator(".audit-table tbody tr")).to_have_count(0)

    # A logged-in role without the audit permission is refused too (403), and told the same.
    log_in(page, "dispatcher")
    expect(status).to_have_text("请以管理员或审计员身份登录")
    log_out(page)
    log_in(page, "admin")
    expect(status).to_be_hidden()
    expect(page.locator(".audit-table tbody tr").first).to_be_visible()
    page.click("button[data-lang='en']")
    log_out(page)
    expect(status).to_have_text("Log in as admin or auditor")
    page.click("button[data-lang='zh']")
    clear_expected_errors(browser_log, 401, 403)
    assert_clean(browser_log, live_url)


def test_wrong_password_and_lock_show_the_api_message_and_a_dispatcher_cannot_edit(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    wrong = api_error(live_url, "/api/auth/login", {"username": "nobody", "password": "not-this-one"})
    open_map(page, live_url)
    page.click(".account .login-button")
    dialog = page.locator("#login-dialog")
    dialog.locator("input[name='username']").fill("dispatcher")
    dialog.locator("input[name='password']").fill("not-the-password")
    dialog.locator("button[type='submit']").click()
    expect(dialog.locator(".form-message")).to_have_text(wrong["message"])
    expect(dialog).to_be_visible()
    dialog.locator("button.cancel").click()

    with engine.begin() as conn:
        conn.execute(
            text("UPDATE app_user SET locked_until = now() + interval '5 minutes' WHERE username = 'patrol'")
        )
    try:
        page.click(".account .login-button")
        expect(dialog.locator(".form-message")).to_be_hidden()  # an old message does not linger
        dialog.locator("input[name='username']").fill("patrol")
        dialog.locator("input[name='password']").fill("patrol-demo")
        dialog.locator("button[type='submit']").click()
        expect(dialog.locator(".form-message")).to_contain_text("cannot log in now")
        dialog.locator("button.cancel").click()
    finally:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE app_user SET locked_until = NULL, failed_logins = 0, last_failed_at = NULL "
                    "WHERE username = 'patrol'"
                )
            )
    clear_expected_errors(browser_log, 401)

    log_in(page, "dispatcher")
    expect(page.locator(".account .user-role")).to_have_text("调度员")
    _, section = click_grid(page, micro_grids(engine, LIANHUA))
    expect(section).to_contain_text("户数")
    expect(page.locator(".leaflet-popup-content .popup-edit")).to_have_count(0)
    assert_clean(browser_log, live_url)


def test_a_scoped_planner_sees_edit_only_inside_the_scope(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    open_map(page, live_url)
    log_in(page, "planner_lh")
    expect(page.locator(".account .user-name")).to_have_text("莲花社区规划员")

    _, section = click_grid(page, micro_grids(engine, LIANHUA))
    expect(section.locator(".popup-edit")).to_have_count(1)
    # The community section of the same popup is in scope too (the scope is the community itself).
    popup = page.locator(".leaflet-popup-content")
    expect(popup.locator(".popup-section[data-layer='communities'] .popup-edit")).to_have_count(1)

    _, section = click_grid(page, micro_grids(engine, YIXINQIAO))
    expect(section).to_contain_text("户数")
    expect(popup.locator(".popup-edit")).to_have_count(0)
    assert_clean(browser_log, live_url)


def test_a_stale_edit_gets_the_conflict_message_and_can_reload(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine, restore_grid: Callable[[str], None]
) -> None:
    open_map(page, live_url)
    log_in(page, "admin")
    grid, section = click_grid(page, micro_grids(engine, CONFLICT_COMMUNITY))
    restore_grid(grid.code)
    section.locator(".popup-edit").click()
    dialog = page.locator("#grid-edit-dialog")
    population = dialog.locator("input[name='population']")
    expect(population).not_to_have_value("")
    version = grid_row(engine, grid.code).version

    # Someone else saves meanwhile.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE grid_unit SET version = version + 1 WHERE valid_to IS NULL AND code = :c"),
            {"c": grid.code},
        )
    population.fill(str(int(population.input_value()) + 1))
    dialog.locator("button[type='submit']").click()
    message = dialog.locator(".form-message")
    expect(message).to_contain_text("已被他人修改")
    expect(message).to_contain_text(f"version {version + 1}")
    reload = dialog.locator("button.reload")
    expect(reload).to_be_visible()
    reload.click()
    expect(dialog.locator(".form-version")).to_have_text(f"版本 {version + 1}")
    expect(reload).to_be_hidden()
    dialog.locator("button.cancel").click()
    clear_expected_errors(browser_log, 409)
    assert_clean(browser_log, live_url)


def expire_sessions(engine: Engine, username: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE auth_session SET expires_at = now() - interval '1 minute' "
                "WHERE revoked_at IS NULL AND expires_at > now() "
                "AND user_id = (SELECT id FROM app_user WHERE username = :u)"
            ),
            {"u": username},
        )


def test_an_expired_session_shows_the_banner_and_the_log_in_button(
    page: Page, browser_log: BrowserLog, live_url: str, engine: Engine
) -> None:
    open_map(page, live_url)
    log_in(page, "planner")
    grid, section = click_grid(page, micro_grids(engine, YIXINQIAO))
    expect(section).to_contain_text("户数")

    expire_sessions(engine, "planner")
    section.locator(".popup-edit").click()  # the form asks the API for the unit: refused, the session is gone
    banner = page.locator("#banner [data-banner='auth.expired']")
    expect(banner).to_have_text(re.compile("登录已过期，请重新登录"))
    expect(page.locator(".account .login-button")).to_be_visible()
    expect(page.locator(".account .user-name")).to_have_count(0)
    dialog = page.locator("#grid-edit-dialog")
    expect(dialog.locator("button[type='submit']")).to_be_disabled()
    expect(dialog.locator(".form-message")).to_contain_text("请以有权修改此网格的账户登录")
    dialog.locator("button.cancel").click()

    # The map keeps working for the now anonymous visitor: without figures and without the edit button.
    page.evaluate("() => window.gisgrid.refreshed")
    expect(section).not_to_contain_text("户数")
    expect(page.locator(".leaflet-popup-content .popup-edit")).to_have_count(0)
    page.click("button[data-lang='en']")
    expect(banner).to_have_text(re.compile("Your session has expired — please log in again"))
    page.click("button[data-lang='zh']")

    # A reload with the dead cookie still in the browser: the banner again, and the map still loads.
    page.reload()
    page.wait_for_function("() => window.gisgrid && window.gisgrid.ready")
    summary = page.evaluate("() => window.gisgrid.ready")
    assert summary["failed"] == []
    expect(banner).to_be_visible()
    expect(page.locator(".account .login-button")).to_be_visible()
    clear_expected_errors(browser_log, 401)
    assert_clean(browser_log, live_url)


def test_logging_in_again_after_expiry(page: Page, live_url: str, engine: Engine) -> None:
    open_map(page, live_url)
    log_in(page, "planner")
    expire_sessions(engine, "planner")
    page.reload()
    page.wait_for_function("() => window.gisgrid && window.gisgrid.ready")
    expect(page.locator("#banner [data-banner='auth.expired']")).to_be_visible()
    page.click(".account .login-button")
    dialog = page.locator("#login-dialog")
    dialog.locator("input[name='username']").fill("planner")
    dialog.locator("input[name='password']").fill(DEMO_PASSWORDS["planner"])
    dialog.locator("button[type='submit']").click()
    expect(page.locator(".account .user-name")).to_have_text("演示规划员", timeout=2_000)
    expect(page.locator("#banner [data-banner='auth.expired']")).to_have_count(0)
