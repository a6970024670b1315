"""The demo incidents: made through the services, in every stage and deadline colour, each in its own
micro-grid, and added once."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.incidents import demo, queries


def test_every_category_in_several_stages_and_every_deadline_colour(session: Session) -> None:
    now = datetime.now(UTC)
    made = demo.seed(session, now=now)
    micro = session.execute(
        text("SELECT count(*) FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL")
    ).scalar_one()
    assert made == len(range(3, micro + 1, 8)) > 50
    page = queries.list_incidents(
        session, principal=None, filters=queries.Filters(), limit=500, offset=0, now=now
    )
    items = [i for i in page["items"] if i["ext_id"].startswith(demo.EXT_PREFIX)]
    assert len(items) == made
    statuses = {i["status"] for i in items}
    assert statuses == {"reported", "filed", "dispatched", "handling", "handled", "closed", "rejected"}
    assert {"green", "yellow", "red"} <= {i["step"]["colour"] for i in items}
    by_category: dict[str, set[str]] = defaultdict(set)
    for item in items:
        by_category[item["category"]["code"]].add(item["status"])
    assert len(by_category) == len(demo.CATEGORIES) and all(len(s) >= 4 for s in by_category.values())
    # Each incident lies in the micro-grid it was assigned to, with its timeline.
    misplaced = session.execute(
        text(
            "SELECT count(*) FROM incident i JOIN grid_unit u ON u.id = i.grid_unit_id "
            "WHERE i.ext_id LIKE 'DEMO-%' AND NOT (u.code = i.micro_code AND ST_Covers(u.geom, i.geom))"
        )
    ).scalar_one()
    events = session.execute(
        text(
            "SELECT count(DISTINCT e.incident_id) FROM incident_event e JOIN incident i ON i.id = e.incident_id "
            "WHERE i.ext_id LIKE 'DEMO-%'"
        )
    ).scalar_one()
    assert misplaced == 0 and events == made


def test_ensure_adds_them_once(session: Session) -> None:
    now = datetime.now(UTC)
    first = demo.ensure(session, now=now)
    assert first and demo.ensure(session, now=now) is None
    count = session.execute(text("SELECT count(*) FROM incident WHERE ext_id LIKE 'DEMO-%'")).scalar_one()
    assert count == first
