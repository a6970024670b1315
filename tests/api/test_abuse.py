"""Injection and abuse: SQL meta-characters and over-long values in every string parameter of every GET route,
forged tokens: never a 5xx, over-long values refused with 4xx, and nothing in the database changes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from gisgrid.config import DatabaseSettings, Settings
from tests.conftest import login

NASTY = [
    "' OR '1'='1",
    "1; DROP TABLE grid_unit; --",
    "\\'; SELECT pg_sleep(5); --",
    "%_%",
    "𠜎 街",
    "<script>",
]
LONG = "x" * 5000
TABLES = ("grid_unit", "compound", "service_site", "walk_edge", "worker", "app_user", "bank_segment")


def _string_params() -> list[tuple[str, str, str, str]]:
    doc = create_app(
        Settings(db=DatabaseSettings(database_url="postgresql+psycopg2://x@127.0.0.1:1/x"))
    ).openapi()
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                schema: dict[str, Any] = param.get("schema", {})
                kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
                if "string" in kinds and param["in"] in ("query", "path"):
                    out.append((method.upper(), path, param["in"], param["name"]))
    return out


PARAMS = _string_params()


def _counts(session: Session) -> dict[str, int]:
    return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}  # noqa: S608


def _url(path: str, where: str, name: str, value: str) -> tuple[str, dict[str, str]]:
    if where == "path":
        return path.replace("{" + name + "}", value.replace("/", "%2F")), {}
    filled = (
        path.replace("{layer}", "communities").replace("{code}", "510104003").replace("{username}", "admin")
    )
    params = {"q": "莲花"} if name != "q" and "/search" in path else {}
    return filled, {**params, name: value}


@pytest.mark.parametrize(
    ("method", "path", "where", "name"), PARAMS, ids=[f"{m} {p} {n}" for m, p, _, n in PARAMS]
)
def test_meta_characters_and_long_values(
    client: TestClient, session: Session, method: str, path: str, where: str, name: str
) -> None:
    from tests.conftest import login

    login(client, "admin")
    before = _counts(session)
    for value in [*NASTY, LONG]:
        url, params = _url(path, where, name, value)
        res = client.request(method, url, params=params)
        assert res.status_code < 500, (value[:30], res.status_code, res.text[:200])
        if value is LONG:
            assert 400 <= res.status_code < 500, (name, res.status_code)
            assert "error" in res.json()
    assert _counts(session) == before


@pytest.mark.parametrize(
    "header",
    ["Bearer ", "Bearer abc", "Bearer " + "A" * 5000, "Basic YWRtaW46YWRtaW4=", "Bearer ' OR 1=1 --"],
)
def test_forged_authorization_headers(client: TestClient, header: str) -> None:
    res = client.get("/api/users", headers={"Authorization": header})
    assert res.status_code == 401 and res.json()["error"]["code"] == "unauthorized"


def test_forged_session_cookie(client: TestClient) -> None:
    client.cookies.set("gisgrid_session", "forged' OR 1=1 --")
    assert client.get("/api/users").status_code == 401
    me = client.get("/api/auth/me")
    assert (
        me.status_code == 200 and me.json()["authenticated"] is False and me.json()["session_expired"] is True
    )
    assert 'gisgrid_session=""' in me.headers["set-cookie"]  # the dead cookie is cleared


def test_login_with_injection_in_username(client: TestClient, session: Session) -> None:
    before = _counts(session)
    for name in ["admin' --", "' OR 1=1 --", "x" * 64]:
        res = client.post("/api/auth/login", json={"username": name, "password": "whatever-pass"})
        assert res.status_code == 401
    long = client.post("/api/auth/login", json={"username": "x" * 65, "password": "p"})
    assert long.status_code == 422
    assert _counts(session) == before


@pytest.mark.parametrize(
    ("url", "field", "zh", "expected"),
    [
        ("/api/locate?lon=104.1&lat=30.6", "crs", "缺少必填参数", "gcj02"),
        ("/api/locate?lon=abc&lat=30.6&crs=wgs84", "lon", "不是有效数字", "a number"),
        ("/api/locate?lon=104.1&lat=30.6&crs=mars", "crs", "取值无效", "'gcj02'"),
        ("/api/locate?lon=104.1&lat=30.6&crs=wgs84&accuracy=5000", "accuracy", "超出范围", "≤ 1000"),
        ("/api/locate?lon=104.1&lat=30.6&crs=wgs84&at=yesterday", "at", "不是有效时间", "ISO 8601"),
        ("/api/layers/grids?limit=0", "limit", "超出范围", "≥ 1"),
    ],
)
def test_request_validation_errors_are_chinese_first_and_say_what_is_accepted(
    client: TestClient, url: str, field: str, zh: str, expected: str
) -> None:
    login(client, "dispatcher")
    res = client.get(url)
    assert res.status_code == 422, res.text
    err = res.json()["error"]
    assert err["field"] == field and err["message"].startswith(zh) and field in err["message"]
    assert expected in err["expected"], err


def test_a_bad_password_is_never_echoed(client: TestClient) -> None:
    secret = "x" * 300  # over the 256-character limit: a validation error on the password field
    res = client.post("/api/auth/login", json={"username": "dispatcher", "password": secret})
    assert res.status_code == 422 and res.json()["error"]["field"] == "password"
    assert secret not in res.text and res.json()["error"]["value"] == "***"
