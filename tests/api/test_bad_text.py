"""NUL characters, lone surrogates, invalid UTF-8 and NaN in every parameter and body of every operation: a 4xx
in the error shape, never a 500 (PostgreSQL refuses NUL, psycopg2 cannot encode a surrogate)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from gisgrid.config import DatabaseSettings, Settings
from tests.conftest import bearer

# As they travel: percent-encoded in URLs, JSON escapes in bodies.
IN_URL = {"nul": "a%00b", "surrogate": "%ED%A0%80", "not-utf8": "%FF%FE", "nan": "NaN"}
IN_JSON = {"nul": '"a\\u0000b"', "surrogate": '"\\ud800"', "nan": "NaN", "infinity": "-Infinity"}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    app = create_app(Settings(db=DatabaseSettings(database_url="postgresql+psycopg2://x@127.0.0.1:1/x")))
    doc = app.openapi()
    return [(m.upper(), p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


OPERATIONS = _operations()


def _body_fields(operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return []
    return ["title", "username", "password", "name", "comment", "q", "category_code", "crs", "lon", "lat"]


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_bad_text_never_gives_a_500(
    client: TestClient, session: Session, method: str, path: str, operation: dict[str, Any]
) -> None:
    headers = {"Authorization": bearer(session, client, "admin")}
    params = [p for p in operation.get("parameters", []) if p["in"] in ("query", "path")]
    for kind, bad in IN_URL.items():
        url = re.sub(r"\{[^}]+\}", bad, path)
        query = "&".join(f"{p['name']}={bad}" for p in params if p["in"] == "query")
        res = client.request(method, url + ("?" + query if query else ""), headers=headers)
        assert res.status_code < 500, f"{kind} in {method} {url}?{query}: {res.status_code} {res.text[:200]}"
        if res.status_code == 422:
            assert set(res.json()["error"]) >= {"code", "message"}
    for kind, bad in IN_JSON.items():
        for name in _body_fields(operation):
            url = re.sub(r"\{[^}]+\}", "1", path)
            body = "{" + json.dumps(name) + ": " + bad + "}"
            res = client.request(
                method, url, content=body.encode(), headers={**headers, "Content-Type": "application/json"}
            )
            assert res.status_code < 500, (
                f"{kind} in {name} of {method} {url}: {res.status_code} {res.text[:200]}"
            )


def test_the_log_in_with_a_nul_needs_no_account_and_gives_a_422(client: TestClient) -> None:
    res = client.post("/api/auth/login", json={"username": "ad\u0000min", "password": "x\u0000yyyyyyy"})
    assert res.status_code == 422 and res.json()["error"]["field"] == "username"
    assert res.json()["error"]["value"] == "ad\\x00min"
    res = client.post("/api/auth/login", json={"username": "admin", "password": "x\u0000yyyyyyy"})
    assert res.status_code == 422 and res.json()["error"]["value"] is None  # a password is never echoed
    res = client.get("/api/search?q=%00")
    assert res.status_code == 422 and res.json()["error"]["field"] == "q"
    res = client.get("/api/search?q=%ED%A0%80")
    assert res.status_code == 422 and "UTF-8" in res.json()["error"]["message"]
