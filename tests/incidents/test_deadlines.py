"""Step deadlines: green, yellow at 80 % of the category's time for the step, red when past due; the overdue
list and filters; late steps are flagged on the timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.incidents.helpers import make_incident, set_clock

Auth = Callable[[str], dict[str, str]]
Home = tuple[str, float, float]


def colour(client: TestClient, headers: dict[str, str], incident_id: int) -> str:
    return str(client.get(f"/api/incidents/{incident_id}", headers=headers).json()["step"]["colour"])


@pytest.mark.parametrize(
    ("category", "status", "minutes_ago", "expected"),
    [
        ("chengguan.litter", "reported", 60, "green"),  # file: 2 h, 50 % used
        ("chengguan.litter", "reported", 95, "green"),  # 79 %
        ("chengguan.litter", "reported", 97, "yellow"),  # 81 %
        ("chengguan.litter", "reported", 121, "red"),
        ("xiaofang.passage", "reported", 20, "green"),  # urgent: file 0.5 h, 67 %
        ("xiaofang.passage", "reported", 25, "yellow"),  # 83 %
        ("xiaofang.passage", "reported", 31, "red"),
        ("chengguan.litter", "handling", 60 * 38, "green"),  # handle: 48 h, 79 %
        ("chengguan.litter", "handling", 60 * 39, "yellow"),  # 81 %
        ("chengguan.litter", "handling", 60 * 49, "red"),
        ("chengguan.litter", "closed", 60 * 999, "none"),
        ("chengguan.litter", "rejected", 60 * 999, "none"),
    ],
)
def test_colour_by_share_of_the_step_time_used(
    client: TestClient,
    session: Session,
    auth: Auth,
    home: Home,
    category: str,
    status: str,
    minutes_ago: int,
    expected: str,
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2], category=category, status=status)
    set_clock(session, incident_id, started=datetime.now(UTC) - timedelta(minutes=minutes_ago))
    assert colour(client, auth("dispatcher"), incident_id) == expected


def test_due_time_is_start_plus_the_categorys_hours(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    incident_id = make_incident(
        session, lon=home[1], lat=home[2], category="anquan.site", status="dispatched"
    )
    started = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    set_clock(session, incident_id, started=started)
    body = client.get(f"/api/incidents/{incident_id}", headers=auth("dispatcher")).json()
    assert body["step"]["name"] == "start"
    assert datetime.fromisoformat(body["step"]["due_at"]) == started + timedelta(hours=1)  # URGENT start: 1 h


def test_overdue_list_and_filters(client: TestClient, session: Session, auth: Auth, home: Home) -> None:
    now = datetime.now(UTC)
    red_old = make_incident(session, lon=home[1], lat=home[2], title="红 old")
    red_new = make_incident(session, lon=home[1], lat=home[2], title="红 new")
    yellow = make_incident(session, lon=home[1], lat=home[2], title="黄")
    green = make_incident(session, lon=home[1], lat=home[2], title="绿")
    closed = make_incident(session, lon=home[1], lat=home[2], status="closed", title="结")
    set_clock(session, red_old, started=now - timedelta(hours=5))
    set_clock(session, red_new, started=now - timedelta(hours=3))
    set_clock(session, yellow, started=now - timedelta(minutes=110))
    set_clock(session, closed, started=now - timedelta(days=30))
    headers = auth("dispatcher")
    red = client.get("/api/incidents/overdue", headers=headers).json()
    assert [i["id"] for i in red] == [red_old, red_new]
    assert 179 < red[0]["overdue_minutes"] < 182 and 59 < red[1]["overdue_minutes"] < 62
    both = client.get("/api/incidents/overdue", params={"yellow": "true"}, headers=headers).json()
    assert [i["id"] for i in both] == [red_old, red_new, yellow]

    def listed(overdue: str) -> set[int]:
        page = client.get("/api/incidents", params={"overdue": overdue}, headers=headers).json()
        return {i["id"] for i in page["items"]}

    assert listed("yes") == {red_old, red_new}
    assert listed("yellow") == {yellow}
    assert listed("no") == {green, closed}
    features = client.get("/api/incidents.geojson", headers=headers).json()["features"]
    assert {f["id"]: f["properties"]["colour"] for f in features} == {
        red_old: "red",
        red_new: "red",
        yellow: "yellow",
        green: "green",
        closed: "none",
    }


def test_a_step_finished_late_is_flagged(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2])
    set_clock(session, incident_id, started=datetime.now(UTC) - timedelta(hours=3))
    headers = auth("dispatcher")
    body = client.post(
        f"/api/incidents/{incident_id}/transitions", json={"action": "file", "version": 1}, headers=headers
    ).json()
    assert body["timeline"][-1]["detail"]["late"] is True
    assert body["step"]["colour"] == "green" and body["step"]["name"] == "dispatch"
    body = client.post(
        f"/api/incidents/{incident_id}/transitions",
        json={"action": "dispatch", "version": 2},
        headers=headers,
    ).json()
    assert body["timeline"][-1]["detail"]["late"] is False
    stored = session.execute(
        text("SELECT step_due_at - step_started_at FROM incident WHERE id = :i"), {"i": incident_id}
    ).scalar()
    assert stored == timedelta(hours=4)  # the stored copy: start step of 垃圾堆放
