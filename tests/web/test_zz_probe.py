import time
from playwright.sync_api import Page
from tests.web.pages import open_map, click_grid
from tests.web.test_auth_ui import micro_grids, YIXINQIAO
def test_probe(page: Page, live_url: str, browser_log, engine) -> None:
    open_map(page, live_url)
    grid, section = click_grid(page, micro_grids(engine, YIXINQIAO))
    ev = []
    page.on("request", lambda r: ev.append((round(time.monotonic(),1), "req", r.url[-50:])))
    page.on("response", lambda r: ev.append((round(time.monotonic(),1), "resp", r.status, r.url[-50:])))
    page.on("console", lambda m: ev.append((round(time.monotonic(),1), "console", m.type, m.text)))
    page.click(".account .login-button")
    d = page.locator("#login-dialog")
    d.locator("input[name='username']").fill("planner")
    d.locator("input[name='password']").fill("planner-demo")
    d.locator("button[type='submit']").click()
    page.wait_for_timeout(7000)
    for e in ev: print(e)
    print(page.evaluate("() => [document.querySelector('#login-dialog').open, document.querySelector('#login-dialog .form-message').textContent]"))
    print(browser_log.console_errors)
