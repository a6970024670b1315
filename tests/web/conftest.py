"""Browser fixtures: one headless Chromium per session (the system's, never a downloaded one) and a fresh page
per test that records console errors, uncaught page errors and every request URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, ViewportSize, sync_playwright

CHROMIUM = os.environ.get("GISGRID_CHROMIUM", "/usr/bin/chromium")
# No first-run, sync or update traffic: the request log must show only what the page itself asks for.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


@dataclass
class BrowserLog:
    """What one page did: console errors (including uncaught exceptions) and every URL it requested."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} @ {message.location.get('url', '')}")

    def on_page_error(self, error: Exception) -> None:
        self.console_errors.append(f"uncaught: {error}")

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium at /usr/bin/chromium (or $GISGRID_CHROMIUM); a missing browser fails, never skips."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    """The console errors and request URLs of this test's page."""
    return BrowserLog()


@pytest.fixture
def page(browser: Browser, browser_log: BrowserLog) -> Iterator[Page]:
    """A page in a fresh context (empty localStorage), logging into `browser_log`."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    pg.on("console", browser_log.on_console)
    pg.on("pageerror", browser_log.on_page_error)
    pg.on("request", browser_log.on_request)
    yield pg
    context.close()
