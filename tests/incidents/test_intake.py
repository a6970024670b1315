"""Reporting incidents: coordinates in any CRS land in the right micro-grid, compounds and buildings, the grid
assignment is kept when boundaries change, moving re-assigns, and bad input is refused without a trace."""

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
from tests.incidents.helpers import community_point, make_incident

Auth = Callable[[str], dict[str, str]]
Home = tuple[str, float, float]


def report(client: TestClient, headers: dict[str, str], **fields: Any) -> Any:
    body = {"category_code": "chengguan.litter", "title": "垃圾堆放 rubbish", **fields}
    return client.post("/api/incidents", json=body, headers=headers)


def counts(session: Session) -> tuple[int, int, int]:
    return tuple(
        session.execute(
            text(
                "SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM incident_event), "
                "(SELECT count(*) FROM audit_log WHERE entity = 'incident')"
            )
        ).one()
    )


def test_report_from_wgs84_is_assigned_like_locate(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    headers = auth("dispatcher")
    res = report(client, headers, lon=home[1], lat=home[2], crs="wgs84", address="一心桥街1号")
    assert res.status_code == 201, res.text
    body = res.json()
    located = client.get(
        "/api/locate", params={"lon": home[1], "lat": home[2], "crs": "wgs84"}, headers=headers
    )
    path = {p["level"]: p["code"] for p in located.json()["path"]}
    grid = body["grid"]
    assert grid["micro_code"] == home[0] == path["micro"]
    assert (grid["general_code"], grid["community_code"], grid["subdistrict_code"]) == (
        path["general"],
        path["community"],
        path["subdistrict"],
    )
    assert grid["unit_id"] == located.json()["micro_grid"]["unit_id"]
    assert body["status"] == "reported" and body["level"] == "micro" and body["address"] == "一心桥街1号"
    assert body["channel"] == "dispatcher" and body["created_by"] == "dispatcher"
    reported = datetime.fromisoformat(body["reported_at"])
    assert datetime.fromisoformat(body["step"]["due_at"]) - reported == timedelta(hours=2)
    assert body["step"]["colour"] == "green" and body["duplicates"] == []
    assert [e["action"] for e in body["timeline"]] == ["create"]


def test_gcj02_report_lands_in_the_micro_grid_of_its_true_position(
    client: TestClient, session: Session, auth: Auth
) -> None:
    # Points 3 m inside an edge of 12 micro-grids: the ~300 m GCJ-02 offset must be undone, not ignored.
    rows = session.execute(
        text(
            "WITH m AS (SELECT code, geom FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL ORDER BY code "
            "LIMIT 12), e AS (SELECT code, geom, ST_LineInterpolatePoint(ST_ExteriorRing(ST_GeometryN(geom, 1)), "
            "0.61) AS b FROM m) SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, "
            "ST_ClosestPoint(ST_Buffer(geom::geography, -3)::geometry, b) AS p FROM e) q"
        )
    ).all()
    lon, lat = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    headers = auth("dispatcher")
    for (code, x, y), gx, gy in zip(rows, glon, glat, strict=True):
        res = report(client, headers, lon=float(gx), lat=float(gy), crs="gcj02")
        assert res.status_code == 201, res.text
        body = res.json()
        assert body["grid"]["micro_code"] == code
        assert body["input"] == {"crs": "gcj02", "lon": float(gx), "lat": float(gy)}
        assert abs(body["location"]["lon"] - x) < 2e-6 and abs(body["location"]["lat"] - y) < 2e-6


def test_report_by_compound_and_building(client: TestClient, session: Session, auth: Auth) -> None:
    ext_id, name, label = session.execute(
        text(
            "SELECT c.ext_id, c.name, b.label FROM compound c JOIN building b ON b.compound_id = c.id "
            "ORDER BY c.ext_id, b.ext_id LIMIT 1"
        )
    ).one()
    headers = auth("dispatcher")
    res = report(client, headers, compound=ext_id, building=label)
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["compound"] == {"id": ext_id, "name": name}
    inside = session.execute(
        text(
            "SELECT ST_Covers(b.geom, i.geom) FROM incident i, building b JOIN compound c ON c.id = b.compound_id "
            "WHERE i.id = :i AND c.ext_id = :c AND b.label = :l"
        ),
        {"i": body["id"], "c": ext_id, "l": label},
    ).scalar()
    assert inside
    whole = report(client, headers, compound=ext_id)
    assert whole.status_code == 201 and whole.json()["compound"]["id"] == ext_id
    missing = report(client, headers, compound=ext_id, building="999栋")
    assert missing.status_code == 422 and label in missing.json()["error"]["expected"]
    unknown = report(client, headers, compound="C-nope")
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "compound"


def _bad_cases(home: Home) -> list[tuple[dict[str, Any], int, str]]:
    point = {"lon": home[1], "lat": home[2], "crs": "wgs84"}
    future = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    return [
        ({**point, "category_code": "chengguan.nope"}, 422, "category_code"),
        ({**point, "reported_at": future}, 422, "reported_at"),
        ({**point, "reported_at": "2024-05-01T09:30:00"}, 422, "reported_at"),
        ({**point, "crs": "mars"}, 422, "crs"),
        ({"lon": home[1], "lat": home[2]}, 422, "crs"),
        ({"lon": 104.2, "lat": 30.64, "crs": "wgs84"}, 422, "lon,lat"),
        ({"lon": 30.64, "lat": 104.1, "crs": "wgs84"}, 422, "lat"),
        ({}, 422, "lon,lat,compound"),
        ({**point, "compound": "C0001"}, 422, "lon,lat,compound"),
        ({**point, "title": "   "}, 422, "title"),
        ({**point, "channel": "pigeon"}, 422, "channel"),
    ]


def test_bad_input_changes_nothing(client: TestClient, session: Session, auth: Auth, home: Home) -> None:
    headers = auth("dispatcher")
    before = counts(session)
    for fields, status, field in _bad_cases(home):
        res = report(client, headers, **fields)
        assert res.status_code == status, (fields, res.text)
        assert res.json()["error"]["field"] == field, (fields, res.json())
    assert counts(session) == before


def test_unknown_category_lists_the_valid_codes(client: TestClient, auth: Auth, home: Home) -> None:
    res = report(client, auth("dispatcher"), lon=home[1], lat=home[2], crs="wgs84", category_code="nope")
    valid = res.json()["error"]["details"]["valid"]
    assert "chengguan.litter" in valid and "hehu.fishing" in valid and len(valid) == 20


def test_outside_every_grid_names_the_nearest(client: TestClient, auth: Auth) -> None:
    res = report(client, auth("dispatcher"), lon=104.2, lat=30.64, crs="wgs84")
    err = res.json()["error"]
    assert res.status_code == 422 and err["details"]["nearest"]["code"] in err["message"]


def test_inactive_category_is_refused(client: TestClient, session: Session, auth: Auth, home: Home) -> None:
    session.execute(text("UPDATE incident_category SET active = false WHERE code = 'jindu'"))
    res = report(client, auth("dispatcher"), lon=home[1], lat=home[2], crs="wgs84", category_code="jindu")
    assert res.status_code == 422 and "jindu" not in res.json()["error"]["details"]["valid"]


def test_ext_id_is_unique(client: TestClient, auth: Auth, home: Home) -> None:
    headers = auth("dispatcher")
    first = report(client, headers, lon=home[1], lat=home[2], crs="wgs84", ext_id="12345-2024-001")
    assert first.status_code == 201 and first.json()["ext_id"] == "12345-2024-001"
    again = report(client, headers, lon=home[1], lat=home[2], crs="wgs84", ext_id="12345-2024-001")
    assert again.status_code == 409 and again.json()["error"]["field"] == "ext_id"


def test_channel_defaults_by_role(client: TestClient, auth: Auth, home: Home) -> None:
    assert (
        report(client, auth("gridworker"), lon=home[1], lat=home[2], crs="wgs84").json()["channel"]
        == "patrol"
    )
    patrol = report(client, auth("patrol"), lon=home[1], lat=home[2], crs="wgs84")
    assert patrol.status_code == 201 and patrol.json()["channel"] == "river_patrol"
    assert patrol.json()["allowed_actions"] == []


def _shared_edge(session: Session) -> tuple[int, int, str, str, float, float]:
    """Two current micro-grids sharing a long edge, and a point 10 m inside the first near the edge's middle."""
    return tuple(
        session.execute(
            text(
                "WITH pair AS (SELECT a.id AS a_id, b.id AS b_id, a.code AS a_code, b.code AS b_code, a.geom AS ag, "
                "ST_LineMerge(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) AS edge "
                "FROM grid_unit a JOIN grid_unit b ON a.code < b.code AND ST_Touches(a.geom, b.geom) "
                "WHERE a.level = 'micro' AND b.level = 'micro' AND a.valid_to IS NULL AND b.valid_to IS NULL "
                "AND starts_with(a.code, '510104003001') ORDER BY a.code, b.code LIMIT 40), "
                "long AS (SELECT * FROM pair WHERE GeometryType(edge) = 'LINESTRING' AND ST_Length(edge::geography) > 60 "
                "ORDER BY a_code, b_code LIMIT 1) "
                "SELECT a_id, b_id, a_code, b_code, ST_X(p), ST_Y(p) FROM (SELECT *, ST_ClosestPoint("
                "ST_Buffer(ag::geography, -10)::geometry, ST_LineInterpolatePoint(edge, 0.5)) AS p FROM long) q"
            )
        ).one()
    )


def _redraw(session: Session, *, a_id: int, b_id: int, at: datetime) -> None:
    """New generations from `at`: the 30 m strip of A along its edge with B goes to B."""
    session.execute(
        text("UPDATE grid_unit SET valid_to = :t WHERE id IN (:a, :b)"), {"t": at, "a": a_id, "b": b_id}
    )
    session.execute(
        text(
            "WITH strip AS (SELECT ST_Intersection(a.geom, ST_Buffer(b.geom::geography, 30)::geometry) AS s, "
            "a.geom AS ag, b.geom AS bg FROM grid_unit a, grid_unit b WHERE a.id = :a AND b.id = :b) "
            "INSERT INTO grid_unit (code, level, parent_code, name, households, population, geom, valid_from, version) "
            "SELECT u.code, u.level, u.parent_code, u.name, u.households, u.population, "
            "ST_Multi(ST_CollectionExtract(CASE WHEN u.id = :a THEN ST_Difference(ag, s) ELSE ST_Union(bg, s) END, 3)), "
            ":t, u.version + 1 FROM grid_unit u, strip WHERE u.id IN (:a, :b)"
        ),
        {"a": a_id, "b": b_id, "t": at},
    )
    session.flush()


def test_assignment_is_kept_when_boundaries_change_and_a_move_reassigns(
    client: TestClient, session: Session, auth: Auth
) -> None:
    a_id, b_id, a_code, b_code, x, y = _shared_edge(session)
    headers = auth("dispatcher")
    now = datetime.now(UTC)
    early = (now - timedelta(hours=3)).isoformat()
    first = report(client, headers, lon=x, lat=y, crs="wgs84", reported_at=early).json()
    assert (first["grid"]["micro_code"], first["grid"]["unit_id"]) == (a_code, a_id)
    _redraw(session, a_id=a_id, b_id=b_id, at=now - timedelta(hours=1))
    kept = client.get(f"/api/incidents/{first['id']}", headers=headers).json()
    assert (kept["grid"]["micro_code"], kept["grid"]["unit_id"]) == (a_code, a_id)
    # a late report of something seen before the change goes to the grid then in force; a new one to B
    backdated = report(client, headers, lon=x, lat=y, crs="wgs84", reported_at=early).json()
    assert backdated["grid"]["unit_id"] == a_id
    fresh = report(client, headers, lon=x, lat=y, crs="wgs84").json()
    assert fresh["grid"]["micro_code"] == b_code and fresh["grid"]["unit_id"] != b_id
    moved = client.patch(
        f"/api/incidents/{first['id']}/location",
        json={"lon": x, "lat": y, "crs": "wgs84", "comment": "重新定位"},
        headers={**headers, "If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["grid"]["micro_code"] == b_code and body["version"] == 2 and moved.headers["ETag"] == '"2"'
    event = body["timeline"][-1]
    assert event["action"] == "move" and event["comment"] == "重新定位"
    assert (
        event["detail"]["before"]["micro_code"] == a_code and event["detail"]["after"]["micro_code"] == b_code
    )
    assert event["detail"]["before"]["grid_unit_id"] == a_id


def test_move_in_gcj02_and_its_refusals(client: TestClient, session: Session, auth: Auth, home: Home) -> None:
    target, tx, ty = community_point(session, community="莲花社区")
    incident_id = make_incident(session, lon=home[1], lat=home[2])
    gx, gy = crs.wgs84_to_gcj02(np.array([tx]), np.array([ty]))
    url = f"/api/incidents/{incident_id}/location"
    move = {"lon": float(gx[0]), "lat": float(gy[0]), "crs": "gcj02"}
    # the grid worker may not move an incident out of the grids they serve
    assert client.patch(url, json={**move, "version": 1}, headers=auth("gridworker")).status_code == 403
    assert client.patch(url, json=move, headers=auth("dispatcher")).status_code == 422  # no version
    assert client.patch(url, json={**move, "version": 7}, headers=auth("dispatcher")).status_code == 409
    assert client.patch(url, json={**move, "version": 1}, headers=auth("planner")).status_code == 403
    outside = client.patch(
        url, json={"lon": 104.2, "lat": 30.64, "crs": "wgs84", "version": 1}, headers=auth("dispatcher")
    )
    assert outside.status_code == 422 and "nearest" in outside.json()["error"]["details"]
    res = client.patch(url, json={**move, "version": 1}, headers=auth("dispatcher"))
    assert res.status_code == 200 and res.json()["grid"]["micro_code"] == target
    session.execute(text("UPDATE incident SET status = 'closed' WHERE id = :i"), {"i": incident_id})
    closed = client.patch(
        url, json={"lon": home[1], "lat": home[2], "crs": "wgs84", "version": 2}, headers=auth("dispatcher")
    )
    assert closed.status_code == 409


@pytest.mark.parametrize("username", ["planner", "auditor", "patrol"])
def test_reading_and_creating_by_role(client: TestClient, auth: Auth, home: Home, username: str) -> None:
    created = report(client, auth(username), lon=home[1], lat=home[2], crs="wgs84")
    listed = client.get("/api/incidents", headers=auth(username))
    if username == "patrol":
        assert created.status_code == 201 and listed.status_code == 403
    else:
        assert created.status_code == 403 and listed.status_code == 200
