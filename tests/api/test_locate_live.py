"""GET /api/locate over real HTTP on the live server, i.e. on the asyncpg pool the app opens itself (the other
locate tests run the same SQL inside the test transaction): same answers as the synchronous service, the same
authentication rules, and a clean 503 when the database is gone."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from gisgrid import crs
from gisgrid.auth import accounts
from gisgrid.config import DatabaseSettings, Settings
from gisgrid.db.aio import APPLICATION_NAME, connect_kwargs
from gisgrid.db.engine import session_scope
from gisgrid.grids import locate as locate_service
from tests.conftest import DEMO_PASSWORDS

STATION = (104.105206, 30.640091)
LOCATE = "/api/locate"


@contextmanager
def _client(live_url: str, username: str | None = None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=30) as client:
        if username:
            res = client.post(
                "/api/auth/login", json={"username": username, "password": DEMO_PASSWORDS[username]}
            )
            assert res.status_code == 200, res.text
        yield client


@pytest.fixture
def dispatcher(live_url: str) -> Iterator[httpx.Client]:
    with _client(live_url, "dispatcher") as client:
        yield client


def _without_time(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "at"}


@pytest.mark.parametrize("system", ["wgs84", "gcj02", "bd09"])
def test_pool_answers_equal_the_synchronous_service(
    dispatcher: httpx.Client, session: Session, system: str
) -> None:
    points = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid_unit "
            "WHERE level = 'micro' AND valid_to IS NULL ORDER BY md5(code) LIMIT 12) q"
        )
    ).all()
    lon = np.array([p[0] for p in [*points, STATION]])
    lat = np.array([p[1] for p in [*points, STATION]])
    if system != "wgs84":  # what a phone would send for the same places
        lon, lat = crs.wgs84_to_gcj02(lon, lat)
        if system == "bd09":
            lon, lat = crs.gcj02_to_bd09(lon, lat)
    for x, y in zip(lon.tolist(), lat.tolist(), strict=True):
        live = dispatcher.get(LOCATE, params={"lon": x, "lat": y, "crs": system})
        assert live.status_code == 200, live.text
        expected = locate_service.locate(session, lon=x, lat=y, crs=system)
        assert _without_time(live.json()) == _without_time(expected)


def test_every_logged_in_role_may_locate_and_anonymous_is_refused(live_url: str) -> None:
    params: dict[str, float | str] = {"lon": STATION[0], "lat": STATION[1], "crs": "wgs84"}
    with _client(live_url) as anonymous:
        res = anonymous.get(LOCATE, params=params)
        assert res.status_code == 401 and res.json()["error"]["field"] == "authorization"
    for role in ("patrol", "gridworker", "auditor", "planner_lh"):
        with _client(live_url, role) as client:
            res = client.get(LOCATE, params=params)
        assert res.status_code == 200, (role, res.text)
        assert {w["role"] for w in res.json()["workers"]} == {
            "micro_grid_worker",
            "grid_worker",
            "community_head",
        }


def test_bearer_token_works_and_a_revoked_one_is_refused(
    live_url: str, engine: Engine, settings: Settings
) -> None:
    secret = accounts.load_secret(settings.auth.secret_key_file)
    with session_scope(engine) as sess:
        issued = accounts.issue(
            sess,
            user=accounts.get_user(sess, "dispatcher"),
            kind="token",
            secret=secret,
            ttl=timedelta(hours=1),
        )
    params: dict[str, float | str] = {"lon": STATION[0], "lat": STATION[1], "crs": "wgs84"}
    headers = {"Authorization": f"Bearer {issued.token}"}
    with _client(live_url) as client:
        assert client.get(LOCATE, params=params, headers=headers).status_code == 200
        with engine.connect() as conn:
            seen = conn.execute(
                text("SELECT last_seen_at FROM auth_session WHERE token_hash = :h"),
                {"h": accounts.keyed_hash(secret, issued.token)},
            ).scalar()
        assert seen is not None, "the pool path records when a token was last used"
        with session_scope(engine) as sess:
            accounts.revoke(sess, token_hash=accounts.keyed_hash(secret, issued.token))
        res = client.get(LOCATE, params=params, headers=headers)
        assert res.status_code == 401 and "not valid" in res.json()["error"]["message"]
        forged = client.get(LOCATE, params=params, headers={"Authorization": "Bearer forged"})
        assert forged.status_code == 401


def test_a_dead_session_cookie_is_401_with_the_reason_and_the_expired_header(live_url: str) -> None:
    with _client(live_url) as client:
        client.cookies.set("gisgrid_session", "not-a-session")
        res = client.get(LOCATE, params={"lon": STATION[0], "lat": STATION[1], "crs": "wgs84"})
        assert res.status_code == 401
        assert res.headers.get("X-Session-Expired") and "log in again" in res.json()["error"]["expected"]
        me = client.get("/api/auth/me")
        assert me.status_code == 200 and me.json()["authenticated"] is False
        cleared = me.headers.get_list("set-cookie")
        assert any(c.startswith("gisgrid_session=") and "Max-Age=0" in c for c in cleared), cleared
        assert any(c.startswith("gisgrid_csrf=") and "Max-Age=0" in c for c in cleared), cleared


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lon": 104.2, "lat": 30.64, "crs": "wgs84"}, "lon,lat"),
        ({"lon": 104.1, "lat": 30.64, "crs": "mars"}, "crs"),
        ({"lon": 30.64, "lat": 104.1, "crs": "gcj02"}, "lat"),
        ({"lon": 104.1, "lat": 30.64, "crs": "wgs84", "at": "2001-01-01T00:00:00Z"}, "at"),
    ],
)
def test_bad_input_on_the_pool_is_422_naming_the_field(
    dispatcher: httpx.Client, params: dict, field: str
) -> None:
    res = dispatcher.get(LOCATE, params=params)
    assert res.status_code == 422, res.text
    assert res.json()["error"]["field"] == field


def test_database_down_is_503_in_the_error_shape(session: Session) -> None:
    dead = DatabaseSettings(database_url="postgresql+psycopg2://postgres@127.0.0.1:1/nothing")
    with TestClient(create_app(Settings(db=dead)), raise_server_exceptions=False) as tc:
        res = tc.get(
            LOCATE,
            params={"lon": STATION[0], "lat": STATION[1], "crs": "wgs84"},
            headers={"Authorization": "Bearer anything"},
        )
    assert res.status_code == 503, res.text
    assert res.json()["error"]["code"] == "database_unavailable"


def test_connect_arguments_come_from_the_database_url() -> None:
    kwargs = connect_kwargs("postgresql+psycopg2://u:p%40ss@db.example:6543/grid?sslmode=require")
    assert kwargs == {
        "user": "u",
        "password": "p@ss",
        "database": "grid",
        "host": "db.example",
        "port": 6543,
        "ssl": "require",
    }
    socket = connect_kwargs("postgresql+psycopg2://postgres@/grid?host=/var/run/postgresql")
    assert socket == {"user": "postgres", "database": "grid", "host": "/var/run/postgresql"}


def test_pool_survives_its_connections_being_killed(
    dispatcher: httpx.Client, engine: Engine, live_url: str
) -> None:
    params: dict[str, float | str] = {"lon": STATION[0], "lat": STATION[1], "crs": "wgs84"}

    def one(_: int) -> int:
        with httpx.Client(base_url=live_url, cookies=dispatcher.cookies, timeout=30) as client:
            return client.get(LOCATE, params=params).status_code

    # Concurrent requests, so that the pool holds several connections, then every one of them is killed.
    with ThreadPoolExecutor(max_workers=8) as threads:
        assert set(threads.map(one, range(24))) == {200}
    with engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :a AND datname = current_database()"
            ),
            {"a": APPLICATION_NAME},
        ).scalar()
    assert killed and killed >= 2
    for _ in range(killed + 2):  # every pooled connection is dead: each request must still answer
        res = dispatcher.get(LOCATE, params=params)
        assert res.status_code == 200, res.text
    with ThreadPoolExecutor(max_workers=8) as threads:
        assert set(threads.map(one, range(24))) == {200}
