"""The coverage page (/static/coverage.html) in headless Chromium: an auditor logs in, computes at GB 50180's 5-minute
circle, and sees the figures the API computes, micro-grids shaded by share, the service areas (toggled from the
layer panel) and the uncovered buildings; clicks an uncovered building for its distances; asks for two new
outposts; and makes the HTML report as a job, downloaded from its link."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, text

from gisgrid.config import CoverageSettings
from gisgrid.coverage import answers
from gisgrid.db.engine import session_scope
from tests.web.conftest import BrowserLog
from tests.web.pages import assert_clean, log_in

pytestmark = pytest.mark.browser

PAGE = "/static/coverage.html"
PIXEL = """([lat, lon]) => { const m = window.gisgridCoverage.map; m.setView([lat, lon], 19, {animate: false});
  const b = m.getContainer().getBoundingClientRect(); const p = m.latLngToContainerPoint([lat, lon]);
  return [b.left + p.x, b.top + p.y]; }"""


def test_auditor_coverage_journey(page: Page, browser_log: BrowserLog, live_url: str, engine: Engine) -> None:
    with session_scope(engine) as session:
        cov = answers.run(session, threshold="gb5", settings=CoverageSettings(), srid=4544)
        totals = answers.summary_answer(session, cov, level="community", worst=0, scope_codes=())["totals"]
        gap = cov.buildings[~cov.buildings["walk_any_m"].le(300)].sort_values("households").iloc[-1]
        outposts = session.execute(
            text("SELECT count(*) FROM service_site WHERE kind = 'outpost'")
        ).scalar_one()
    uncovered_buildings = int((~cov.buildings["walk_any_m"].le(300)).sum())

    page.goto(live_url + PAGE)
    page.wait_for_function("() => window.gisgridCoverage && window.gisgridCoverage.ready")
    page.evaluate("() => window.gisgridCoverage.ready")
    expect(page.locator("#cov-gate")).to_be_visible()
    log_in(page, "auditor")
    expect(page.locator("#cov-work")).to_be_visible()

    page.select_option("#cov-form select[name=threshold]", "gb5")
    page.click("#cov-run")
    page.wait_for_function("() => window.gisgridCoverage.spec === 'gb5' && window.gisgridCoverage.summary")
    expect(page.locator("#cov-threshold")).to_contain_text("300 m")
    figure = page.locator("#cov-figures dd")
    expect(figure.and_(page.locator("[data-figure=households]"))).to_have_text(f"{totals['households']:,}")
    expect(figure.and_(page.locator("[data-figure=uncovered]"))).to_have_text(
        f"{totals['uncovered_households']:,}"
    )
    expect(page.locator("#cov-units tr")).to_have_count(10)

    # The choropleth: grids under half covered are red, fully covered green; the legend names the classes.
    assert page.locator('path.gg-micro_grids[fill="#d7301f"]').count() > 0
    assert page.locator('path.gg-micro_grids[fill="#78c679"]').count() > 0
    expect(page.locator("#cov-legend .cov-legend-item")).to_have_count(5)
    # Service areas: the outposts' drawn at once, the community sites' after ticking them in the layer panel.
    expect(page.locator("path.cov-area-outpost")).to_have_count(outposts)
    expect(page.locator("path.cov-area-community")).to_have_count(0)
    page.check('.gg-panel input[data-layer="cov_areas_community"]')
    expect(page.locator("path.cov-area-community")).to_have_count(10)
    expect(page.locator("path.cov-gap")).to_have_count(uncovered_buildings)

    # An uncovered building, clicked: its households, beyond the threshold, and the walk to each kind of site.
    page.evaluate(PIXEL, [float(gap["lat"]), float(gap["lon"])])  # centre there (the buildings load)
    page.evaluate("() => window.gisgridCoverage.loader.settled()")
    x, y = page.evaluate(PIXEL, [float(gap["lat"]), float(gap["lon"])])
    page.mouse.click(x, y)
    popup = page.locator(".cov-popup")
    expect(popup.locator("[data-covered]")).to_have_attribute("data-covered", "false")
    expect(popup).to_contain_text(str(gap["label"]))
    walk = f"{round(float(gap['walk_any_m'])):,} m"
    expect(popup.locator('li[data-kind="any"]')).to_contain_text(walk)

    # Siting: two new outposts, listed and drawn.
    page.fill("#cov-siting input[name=k]", "2")
    page.click("#cov-siting button[type=submit]")
    expect(page.locator("#cov-siting-list li")).to_have_count(2, timeout=60_000)
    expect(page.locator("path.cov-pick")).to_have_count(2)

    # The report: a job with its progress, then a link to the file.
    page.select_option("#cov-report select[name=format]", "html")
    page.click("#cov-report button[type=submit]")
    link = page.locator("#cov-report-link")
    expect(link).to_be_visible(timeout=120_000)
    res = page.request.get(live_url + str(link.get_attribute("href")))
    assert res.status == 200 and "服务圈覆盖审计报告" in res.text()
    assert f"{totals['uncovered_households']:,}" in res.text()
    assert_clean(browser_log, live_url)
