"""GET /api/search by name, alias and code."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text


def test_search_finds_community_by_name(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "莲花"}).json()
    names = [h["name"] for h in hits]
    assert "莲花社区" in names
    assert any(h["kind"] == "compound" and "莲花新区" in h["name"] for h in hits)


def test_exact_name_ranks_first(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "一心桥社区"}).json()
    assert hits[0]["name"] == "一心桥社区" and hits[0]["kind"] == "grid"


def test_search_by_code_prefix(client: TestClient, connection: Connection) -> None:
    code = connection.execute(
        text("SELECT code FROM grid_unit WHERE level='community' ORDER BY code LIMIT 1")
    ).scalar()
    hits = client.get("/api/search", params={"q": code, "limit": 100}).json()
    assert hits[0]["code"] == code
    assert all(h["code"].startswith(code) for h in hits if h["kind"] == "grid")


def test_search_by_alias(client: TestClient, connection: Connection) -> None:
    name, alias = connection.execute(
        text("SELECT name, aliases[1] FROM compound WHERE cardinality(aliases) > 0 ORDER BY ext_id LIMIT 1")
    ).one()
    hits = client.get("/api/search", params={"q": alias}).json()
    assert name in [h["name"] for h in hits]


@pytest.mark.parametrize("q", ["%", "_", "\\", "' OR 1=1 --", "莲花%'; DROP TABLE compound; --"])
def test_like_metacharacters_match_literally(client: TestClient, connection: Connection, q: str) -> None:
    res = client.get("/api/search", params={"q": q})
    assert res.status_code == 200
    assert res.json() == []
    assert connection.execute(text("SELECT count(*) FROM compound")).scalar_one() > 0


@pytest.mark.parametrize(("q", "status"), [("", 422), ("   ", 422), ("x" * 101, 422)])
def test_bad_search_text(client: TestClient, q: str, status: int) -> None:
    res = client.get("/api/search", params={"q": q})
    assert res.status_code == status
    assert res.json()["error"]["field"] == "q"


def test_missing_q_is_422(client: TestClient) -> None:
    res = client.get("/api/search")
    assert res.status_code == 422 and res.json()["error"]["field"] == "q"
