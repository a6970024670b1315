"""Statistics against hand-computed numbers: counts, median minutes to dispatch and to close, overdue share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.incidents.helpers import community_point, make_incident

Auth = Callable[[str], dict[str, str]]
Home = tuple[str, float, float]
CST = timezone(timedelta(hours=8))


@pytest.fixture
def five(session: Session, home: Home) -> datetime:
    """Five incidents reported at `base` (one a day later); returns base.

    垃圾堆放 in 一心桥社区: dispatched after 10, 20, 60 min; closed after 100 and 300 min; the second finished
    a step late; the third is being handled. 占道经营 in 莲花社区: one rejected, one untouched for a day (red)."""
    base = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0)
    _, lx, ly = community_point(session, community="莲花社区")
    rows = [
        (home[1], home[2], "chengguan.litter", base, "closed", 10, 100),
        (home[1], home[2], "chengguan.litter", base, "closed", 20, 300),
        (home[1], home[2], "chengguan.litter", base, "handling", 60, None),
        (lx, ly, "chengguan.stall", base, "rejected", None, None),
        (lx, ly, "chengguan.stall", base + timedelta(days=1), "reported", None, None),
    ]
    ids = []
    for lon, lat, category, at, status, dispatch_min, close_min in rows:
        incident_id = make_incident(session, lon=lon, lat=lat, category=category, reported_at=at)
        session.execute(
            text(
                "UPDATE incident SET status = :s, "
                "dispatched_at = reported_at + make_interval(mins => CAST(:d AS int)), "
                "closed_at = reported_at + make_interval(mins => CAST(:c AS int)), "
                "step_started_at = CASE WHEN :s = 'handling' THEN now() ELSE step_started_at END WHERE id = :i"
            ),
            {"s": status, "d": dispatch_min, "c": close_min, "i": incident_id},
        )
        ids.append(incident_id)
    session.execute(
        text(
            "INSERT INTO incident_event (incident_id, action, detail) VALUES (:i, 'file', '{\"late\": true}')"
        ),
        {"i": ids[1]},
    )
    session.flush()
    return base


def get(client: TestClient, headers: dict[str, str], **params: str) -> dict:
    res = client.get("/api/incidents/stats", params=params, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def numbers(row: dict) -> tuple:
    keys = ("total", "open", "closed", "rejected", "median_dispatch_min", "median_close_min", "overdue")
    return (*(row[k] for k in keys), row["overdue_share"], row["red_now"])


def test_by_category_matches_hand_computed_values(client: TestClient, auth: Auth, five: datetime) -> None:
    body = get(client, auth("dispatcher"), by="category")
    groups = {g["key"]: g for g in body["groups"]}
    assert set(groups) == {"chengguan.litter", "chengguan.stall"}
    assert groups["chengguan.litter"]["name"] == "垃圾堆放"
    assert numbers(groups["chengguan.litter"]) == (3, 1, 2, 0, 20.0, 200.0, 1, 0.333, 0)
    assert numbers(groups["chengguan.stall"]) == (2, 1, 0, 1, None, None, 1, 0.5, 1)
    assert numbers(body["all"]) == (5, 2, 2, 1, 20.0, 200.0, 2, 0.4, 1)


def test_by_community_and_time_range(client: TestClient, auth: Auth, five: datetime) -> None:
    headers = auth("auditor")
    body = get(client, headers, by="community")
    groups = {g["name"]: g for g in body["groups"]}
    assert set(groups) == {"一心桥社区", "莲花社区"}
    assert numbers(groups["一心桥社区"]) == (3, 1, 2, 0, 20.0, 200.0, 1, 0.333, 0)
    # up to an hour after base: the red one, reported a day later, drops out
    until = (five + timedelta(hours=1)).astimezone(CST).isoformat()
    since = five.astimezone(CST).isoformat()
    body = get(client, headers, by="community", **{"from": since, "to": until})
    assert numbers({g["name"]: g for g in body["groups"]}["莲花社区"]) == (1, 0, 0, 1, None, None, 0, 0.0, 0)
    assert numbers(body["all"]) == (4, 1, 2, 1, 20.0, 200.0, 1, 0.25, 0)
    later = get(client, headers, by="category", **{"from": until})
    assert later["all"]["total"] == 1 and later["groups"][0]["key"] == "chengguan.stall"


@pytest.mark.parametrize("by", ["general", "micro"])
def test_grid_levels_add_up(client: TestClient, auth: Auth, home: Home, five: datetime, by: str) -> None:
    body = get(client, auth("admin"), by=by)
    assert sum(g["total"] for g in body["groups"]) == 5
    own = {g["key"]: g for g in body["groups"]}
    key = home[0] if by == "micro" else next(k for k in own if home[0].startswith(k))
    assert own[key]["total"] == 3 and own[key]["median_close_min"] == 200.0


@pytest.mark.parametrize(
    "params",
    [{"by": "street"}, {"from": "2024-01-01T00:00:00"}, {"from": "1066-10-14T09:00:00+00:00"}],
)
def test_bad_parameters_are_422(client: TestClient, auth: Auth, params: dict[str, str]) -> None:
    res = client.get("/api/incidents/stats", params=params, headers=auth("admin"))
    assert res.status_code == 422, res.text


def test_empty_range_has_no_medians(client: TestClient, auth: Auth) -> None:
    body = get(client, auth("admin"), by="category")
    assert body["groups"] == [] and numbers(body["all"]) == (0, 0, 0, 0, None, None, 0, None, 0)


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("day", {"2026-02-28": 1, "2026-03-01": 1, "2026-03-02": 1}),
        ("week", {"2026-W09": 2, "2026-W10": 1}),  # 1 March 2026 is a Sunday, the 2nd a Monday
        ("month", {"2026-02": 1, "2026-03": 2}),
    ],
)
def test_by_period_uses_the_local_calendar(
    client: TestClient, session: Session, auth: Auth, home: Home, by: str, expected: dict[str, int]
) -> None:
    # 23:30 and 00:30 Beijing time are 15:30 and 16:30 UTC: one UTC day, two local days.
    for at in ("2026-02-28T23:30:00+08:00", "2026-03-01T23:30:00+08:00", "2026-03-02T00:30:00+08:00"):
        make_incident(session, lon=home[1], lat=home[2], reported_at=datetime.fromisoformat(at))
    body = get(client, auth("dispatcher"), by=by, **{"from": "2026-02-01T00:00:00+08:00"})
    assert {g["key"]: g["total"] for g in body["groups"]} == expected
    assert all(g["name"] == g["key"] for g in body["groups"]) and body["all"]["total"] == 3
