"""GET /api/health and the error shape when the database is down."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from gisgrid.config import DatabaseSettings, Settings


def test_health_reports_versions_and_schema(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["postgis_version"].startswith("3.")
    assert body["pgrouting_version"] != "missing"
    assert body["schema_revision"] == body["schema_head"] is not None


def test_health_is_503_with_error_shape_when_database_unreachable() -> None:
    dead = DatabaseSettings(database_url="postgresql+psycopg2://postgres@127.0.0.1:1/nothing")
    with TestClient(create_app(Settings(db=dead)), raise_server_exceptions=False) as tc:
        res = tc.get("/api/health")
    assert res.status_code == 503
    assert res.json()["error"]["code"] == "database_unavailable"


def test_openapi_document_describes_every_api_route(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") and op.get("description"), f"{method.upper()} {path} lacks docs"
    assert client.get("/docs").status_code == 200
