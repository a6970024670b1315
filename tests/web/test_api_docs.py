"""The API documentation pages /docs (Swagger UI) and /redoc (ReDoc) in headless Chromium: they render every
operation from local files alone, and Swagger UI can log in and write with the session cookie."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine

from gisgrid.auth import accounts
from gisgrid.config import Settings
from gisgrid.db.engine import session_scope
from tests.conftest import DEMO_PASSWORDS
from tests.web.conftest import BrowserLog
from tests.web.pages import assert_clean

pytestmark = pytest.mark.browser


def _operation(page: Page, tag: str, operation_id: str) -> Locator:
    return page.locator(f"#operations-{tag}-{operation_id}")


def _try(page: Page, operation: Locator, body: dict[str, str] | None = None) -> str:
    """Open an operation, press Try it out (with a JSON body) and Execute; return the response body shown."""
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    if body is not None:
        operation.locator("textarea.body-param__text").fill(json.dumps(body))
    operation.locator("button.execute").click()
    shown = operation.locator(".responses-wrapper .live-responses-table .response-col_description pre").first
    expect(shown).to_be_visible()
    return shown.inner_text()


def test_swagger_ui_renders_offline_and_logs_in_with_the_session_cookie(
    page: Page, browser_log: BrowserLog, live_url: str
) -> None:
    page.goto(live_url.rstrip("/") + "/docs")
    expect(page.locator(".opblock-tag-section")).not_to_have_count(0)
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    count = len(page.evaluate("async () => (await (await fetch('/openapi.json')).json()).paths"))
    assert operations.count() >= count
    expect(page.get_by_text("定位 Locate a point in the grid")).to_be_visible()
    # The security schemes are offered by Authorize.
    page.locator("button.authorize").first.click()
    dialog = page.locator(".auth-container")
    expect(dialog).not_to_have_count(0)
    expect(page.locator(".modal-ux")).to_contain_text("gisgrid_session")
    expect(page.locator(".modal-ux")).to_contain_text("X-CSRF-Token")
    page.locator(".modal-ux button.close-modal").click()

    answer = _try(
        page,
        _operation(page, "auth", "login_api_auth_login_post"),
        {"username": "auditor", "password": DEMO_PASSWORDS["auditor"]},
    )
    assert json.loads(answer)["user"]["username"] == "auditor"
    me = json.loads(_try(page, _operation(page, "auth", "me_api_auth_me_get")))
    assert me["authenticated"] is True and me["role"] == "auditor"
    # A write with the cookie: the page adds the CSRF header from the gisgrid_csrf cookie.
    assert json.loads(_try(page, _operation(page, "auth", "logout_api_auth_logout_post"))) == {
        "status": "logged out"
    }
    assert_clean(browser_log, live_url)


@pytest.fixture
def auditor_token(engine: Engine, settings: Settings) -> Iterator[str]:
    """A one-hour API token of the demo auditor on the live database, revoked afterwards."""
    secret = accounts.load_secret(settings.auth.secret_key_file)
    with session_scope(engine) as session:
        issued = accounts.issue(
            session,
            user=accounts.get_user(session, "auditor"),
            kind="token",
            secret=secret,
            ttl=timedelta(hours=1),
            name="docs test",
        )
    yield issued.token
    with session_scope(engine) as session:
        accounts.revoke(session, token_hash=accounts.keyed_hash(secret, issued.token))


def test_swagger_ui_authorizes_with_a_bearer_token(
    page: Page, browser_log: BrowserLog, live_url: str, auditor_token: str
) -> None:
    page.goto(live_url.rstrip("/") + "/docs")
    page.locator("button.authorize").first.click()
    bearer = page.locator(".modal-ux .auth-container").filter(has=page.locator("code", has_text="bearer"))
    bearer.locator("#auth-bearer-value").fill(auditor_token)
    bearer.get_by_role("button", name="Apply credentials").click()
    expect(bearer.locator("h6", has_text="Authorized")).to_be_visible()
    page.locator(".modal-ux button.close-modal").click()
    me = json.loads(_try(page, _operation(page, "auth", "me_api_auth_me_get")))
    assert me["authenticated"] is True and me["username"] == "auditor"
    assert_clean(browser_log, live_url)


def test_redoc_renders_offline(page: Page, browser_log: BrowserLog, live_url: str) -> None:
    page.goto(live_url.rstrip("/") + "/redoc")
    expect(page.locator("h2", has_text="定位 Locate a point in the grid")).to_be_visible()
    expect(page.locator("h1", has_text="gisgrid")).to_be_visible()
    assert page.locator("[data-section-id^='operation/']").count() >= 30
    # The answer of /api/locate is documented field by field, not as a bare object.
    locate = page.locator("[data-section-id='operation/get_locate_api_locate_get']")
    expect(locate).to_contain_text("nearest_sites")
    expect(locate).to_contain_text("micro_grid")
    assert_clean(browser_log, live_url)
