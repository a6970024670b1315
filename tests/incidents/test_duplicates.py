"""Duplicate suggestions: same category family, within the category's radius and window, open ones only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid import crs
from tests.incidents.helpers import make_incident, offset_point

Auth = Callable[[str], dict[str, str]]
Home = tuple[str, float, float]


def ids_near(client: TestClient, headers: dict[str, str], lon: float, lat: float, **params: Any) -> list[int]:
    query = {"lon": lon, "lat": lat, "crs": "wgs84", "category": "chengguan.litter", **params}
    res = client.get("/api/incidents/duplicates", params=query, headers=headers)
    assert res.status_code == 200, res.text
    return [d["id"] for d in res.json()["duplicates"]]


def test_a_report_next_to_an_open_one_lists_it(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    first = make_incident(session, lon=home[1], lat=home[2])
    x, y = offset_point(session, home[1], home[2], metres=12, bearing=45)
    res = client.post(
        "/api/incidents",
        json={"category_code": "chengguan.litter", "title": "又见垃圾", "lon": x, "lat": y, "crs": "wgs84"},
        headers=auth("gridworker"),
    )
    assert res.status_code == 201
    (dup,) = res.json()["duplicates"]
    assert dup["id"] == first and 11.5 < dup["distance_m"] < 12.5 and dup["radius_m"] == 50
    events = res.json()["timeline"]
    assert events[0]["detail"]["duplicates"] == [first]


@pytest.mark.parametrize(
    ("metres", "category", "hours_ago", "status", "found"),
    [
        (40, "chengguan.litter", 1, "reported", True),
        (60, "chengguan.litter", 1, "reported", False),  # beyond the 50 m radius of 垃圾堆放
        (10, "chengguan", 1, "dispatched", True),  # the parent category
        (10, "chengguan.stall", 1, "reported", False),  # a sibling is a different problem
        (10, "chengguan.litter", 71, "handling", True),
        (10, "chengguan.litter", 73, "reported", False),  # outside the 72 h window
        (10, "chengguan.litter", 1, "closed", False),
        (10, "chengguan.litter", 1, "rejected", False),
    ],
)
def test_radius_window_family_and_status(
    client: TestClient,
    session: Session,
    auth: Auth,
    home: Home,
    metres: float,
    category: str,
    hours_ago: float,
    status: str,
    found: bool,
) -> None:
    now = datetime.now(UTC)
    x, y = offset_point(session, home[1], home[2], metres=metres, bearing=200)
    other = make_incident(
        session, lon=x, lat=y, category=category, status=status, reported_at=now - timedelta(hours=hours_ago)
    )
    assert (other in ids_near(client, auth("dispatcher"), home[1], home[2])) is found


def test_parent_report_finds_subcategories(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    child = make_incident(session, lon=home[1], lat=home[2], category="chengguan.facility")
    # the parent's own radius (城市管理: 50 m) applies
    assert ids_near(client, auth("dispatcher"), home[1], home[2], category="chengguan") == [child]
    assert ids_near(client, auth("dispatcher"), home[1], home[2], category="xiaofang") == []


def test_window_reaches_back_from_the_given_time(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    then = datetime.now(UTC) - timedelta(days=10)
    old = make_incident(session, lon=home[1], lat=home[2], reported_at=then)
    headers = auth("dispatcher")
    assert old not in ids_near(client, headers, home[1], home[2])
    at = (then + timedelta(hours=5)).isoformat()
    assert ids_near(client, headers, home[1], home[2], at=at) == [old]
    before = (then - timedelta(hours=1)).isoformat()
    assert ids_near(client, headers, home[1], home[2], at=before) == []


def test_duplicates_endpoint_takes_gcj02(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    first = make_incident(session, lon=home[1], lat=home[2])
    gx, gy = crs.wgs84_to_gcj02(np.array([home[1]]), np.array([home[2]]))
    res = client.get(
        "/api/incidents/duplicates",
        params={"lon": float(gx[0]), "lat": float(gy[0]), "crs": "gcj02", "category": "chengguan.litter"},
        headers=auth("dispatcher"),
    )
    body = res.json()
    assert res.status_code == 200 and [d["id"] for d in body["duplicates"]] == [first]
    assert body["duplicates"][0]["distance_m"] < 0.5 and body["window_h"] == 72
    bad = client.get(
        "/api/incidents/duplicates",
        params={"lon": home[1], "lat": home[2], "crs": "wgs84", "category": "nope"},
        headers=auth("patrol"),
    )
    assert (
        bad.status_code == 422 and bad.json()["error"]["field"] == "category"
    )  # the query parameter as sent


def test_duplicates_are_sorted_nearest_first(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    far = make_incident(session, lon=home[1], lat=home[2])
    near_xy = offset_point(session, home[1], home[2], metres=5, bearing=90)
    x, y = offset_point(session, home[1], home[2], metres=3, bearing=90)
    near = make_incident(session, lon=near_xy[0], lat=near_xy[1])
    assert ids_near(client, auth("dispatcher"), x, y) == [near, far]
    count = session.execute(text("SELECT count(*) FROM incident")).scalar()
    assert count == 2


def test_a_patrol_account_reads_no_titles_through_duplicates(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    other = make_incident(session, lon=home[1], lat=home[2])
    assert other in ids_near(client, auth("dispatcher"), home[1], home[2])
    assert ids_near(client, auth("patrol"), home[1], home[2]) == []  # patrol may report, not read
