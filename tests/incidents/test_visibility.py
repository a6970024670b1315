"""Who sees which incidents: the grid worker only the grids their worker record serves, a scoped planner their
community, everyone else the whole subdistrict; list, detail, map, overdue, stats and actions alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.incidents.helpers import community_point, make_incident, set_clock

Auth = Callable[[str], dict[str, str]]
Home = tuple[str, float, float]


@pytest.fixture
def three(session: Session, home: Home) -> dict[str, int]:
    """An incident in the grid worker's own grid, one elsewhere in their community, one in 莲花社区."""
    general = (
        session.execute(
            text(
                "SELECT wg.grid_code FROM worker_grid wg JOIN app_user u ON u.worker_id = wg.worker_id "
                "WHERE u.username = 'gridworker'"
            )
        )
        .scalars()
        .all()
    )
    assert len(general) == 1 and home[0].startswith(general[0])  # the demo account is linked to one grid
    _, ox, oy = community_point(session, community="一心桥社区", exclude=general[0])
    _, lx, ly = community_point(session, community="莲花社区")
    out = {
        "own": make_incident(session, lon=home[1], lat=home[2], title="本网格"),
        "community": make_incident(session, lon=ox, lat=oy, title="本社区他网格"),
        "lianhua": make_incident(session, lon=lx, lat=ly, title="莲花社区"),
    }
    for incident_id in out.values():
        set_clock(session, incident_id, started=datetime.now(UTC) - timedelta(hours=5))
    return out


def listed(client: TestClient, headers: dict[str, str], url: str = "/api/incidents") -> set[int]:
    res = client.get(url, headers=headers)
    assert res.status_code == 200, res.text
    body = res.json()
    items = body if isinstance(body, list) else body.get("items", body.get("features"))
    return {i["id"] for i in items}


def test_grid_worker_sees_only_their_grids(client: TestClient, auth: Auth, three: dict[str, int]) -> None:
    worker = auth("gridworker")
    assert listed(client, worker) == {three["own"]}
    assert listed(client, worker, "/api/incidents.geojson") == {three["own"]}
    assert listed(client, worker, "/api/incidents/overdue") == {three["own"]}
    assert client.get(f"/api/incidents/{three['own']}", headers=worker).status_code == 200
    for other in ("community", "lianhua"):
        assert client.get(f"/api/incidents/{three[other]}", headers=worker).status_code == 404
        res = client.post(
            f"/api/incidents/{three[other]}/transitions",
            json={"action": "escalate", "version": 1},
            headers=worker,
        )
        assert res.status_code == 404
    stats = client.get("/api/incidents/stats", params={"by": "community"}, headers=worker).json()
    assert stats["all"]["total"] == 1


def test_scoped_planner_sees_their_community(client: TestClient, auth: Auth, three: dict[str, int]) -> None:
    assert listed(client, auth("planner_lh")) == {three["lianhua"]}


@pytest.mark.parametrize("username", ["admin", "dispatcher", "auditor", "planner"])
def test_unscoped_roles_see_everything(
    client: TestClient, auth: Auth, three: dict[str, int], username: str
) -> None:
    assert listed(client, auth(username)) == set(three.values())


def test_grid_worker_without_worker_record_falls_back_to_scope(
    client: TestClient, session: Session, auth: Auth, three: dict[str, int]
) -> None:
    session.execute(text("UPDATE app_user SET worker_id = NULL WHERE username = 'gridworker'"))
    assert listed(client, auth("gridworker")) == {three["own"], three["community"]}
    session.execute(text("UPDATE app_user SET scope_codes = '{}' WHERE username = 'gridworker'"))
    assert listed(client, auth("gridworker")) == set()


def _point_of(session: Session, incident_id: int) -> tuple[float, float]:
    x, y = session.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM incident WHERE id = :i"), {"i": incident_id}
    ).one()
    return float(x), float(y)


def test_duplicate_suggestions_show_only_what_the_caller_may_see(
    client: TestClient, session: Session, auth: Auth, three: dict[str, int]
) -> None:
    for which in ("own", "community"):
        x, y = _point_of(session, three[which])
        params = {"lon": x, "lat": y, "crs": "wgs84", "category": "chengguan.litter"}
        seen = {}
        for username in ("gridworker", "dispatcher"):
            res = client.get("/api/incidents/duplicates", params=params, headers=auth(username))
            assert res.status_code == 200, res.text
            seen[username] = {d["id"] for d in res.json()["duplicates"]}
        assert three[which] in seen["dispatcher"]
        assert (three[which] in seen["gridworker"]) == (which == "own"), which
        # The same rule when reporting: the answer's duplicates leave out what the reporter may not see.
        body = {"category_code": "chengguan.litter", "title": "又一起", "lon": x, "lat": y, "crs": "wgs84"}
        res = client.post("/api/incidents", json=body, headers=auth("gridworker"))
        assert res.status_code == 201, res.text
        assert (three[which] in {d["id"] for d in res.json()["duplicates"]}) == (which == "own")


def test_reporting_outside_ones_grids_offers_no_actions(
    client: TestClient, session: Session, auth: Auth, three: dict[str, int]
) -> None:
    for which, expect_actions in (("own", True), ("lianhua", False)):
        x, y = _point_of(session, three[which])
        body = {"category_code": "minsheng.errand", "title": "代办", "lon": x, "lat": y, "crs": "wgs84"}
        res = client.post("/api/incidents", json=body, headers=auth("gridworker"))
        assert res.status_code == 201, res.text
        created = res.json()
        assert bool(created["allowed_actions"]) == expect_actions, (which, created["allowed_actions"])
        detail = client.get(f"/api/incidents/{created['id']}", headers=auth("gridworker"))
        assert detail.status_code == (200 if expect_actions else 404)
