"""The OpenAPI document is the API's real description: every success answer has a typed schema, every $ref
resolves, the security schemes say how to log in, the answers that are documented but not validated at run
time (locate, layer pages, the incident map) match their models, and the docs pages load only local files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import CSRF_HEADER, SESSION_COOKIE
from api.schemas.incidents import IncidentFeatureCollection
from api.schemas.layers import LayerPage
from api.schemas.locate import LocateAnswer
from gisgrid import layers as layer_service
from gisgrid.config import DatabaseSettings, Settings
from tests.conftest import bearer
from tests.incidents.helpers import make_incident, served_point

JSON_TYPES = re.compile(r"^application/([a-z.+-]+\+)?json$")
WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    app = create_app(Settings(db=DatabaseSettings(database_url="postgresql+psycopg2://x@127.0.0.1:1/x")))
    return app.openapi()


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def _untyped(doc: dict[str, Any], schema: dict[str, Any] | None) -> str | None:
    """Why `schema` does not describe a JSON answer, or None when it does."""
    if not schema:
        return "no schema"
    schema = _resolve(doc, schema)
    if schema.get("type") == "array":
        return _untyped(doc, schema.get("items"))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return next((w for s in schema[key] if (w := _untyped(doc, s))), None)
    if not schema.get("properties"):
        return f"an untyped object: {schema}"
    return None


def test_every_success_answer_has_a_typed_schema(doc: dict[str, Any]) -> None:
    problems = []
    for method, path, op in _operations(doc):
        success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        if not success:
            problems.append(f"{method.upper()} {path}: no success response")
        for code, response in success.items():
            content = response.get("content") or {}
            if not content:
                problems.append(f"{method.upper()} {path} {code}: no content type")
            for media, body in content.items():
                if JSON_TYPES.match(media) and (why := _untyped(doc, body.get("schema"))):
                    problems.append(f"{method.upper()} {path} {code} {media}: {why}")
    assert problems == []


def test_every_error_answer_has_the_one_error_shape(doc: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert doc["components"]["schemas"]["Error"]["properties"]["error"]["required"] == ["code", "message"]
    for method, path, op in _operations(doc):
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert "422" in errors and "500" in errors, f"{method.upper()} {path}"
        if op["x-permission"] != "public":
            assert "401" in errors and "403" in errors, f"{method.upper()} {path}"
        for code, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, f"{method.upper()} {path} {code}"


def test_the_schema_walk_refuses_a_bare_object() -> None:
    assert _untyped({}, {"type": "object"}) is not None
    assert _untyped({}, {"type": "array", "items": {}}) is not None
    assert _untyped({}, None) is not None


def test_every_ref_resolves(doc: dict[str, Any]) -> None:
    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    schemas = doc["components"]["schemas"]
    missing = {r for r in refs(doc) if r.removeprefix("#/components/schemas/") not in schemas}
    assert missing == set()


def test_security_schemes_and_requirements(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["session"] == {
        **schemes["session"],
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
    }
    assert schemes["csrf"] == {**schemes["csrf"], "type": "apiKey", "in": "header", "name": CSRF_HEADER}
    for method, path, op in _operations(doc):
        security = op.get("security")
        assert security, f"{method.upper()} {path} declares no security"
        assert ({} in security) == (op["x-permission"] == "public"), f"{method.upper()} {path}"
        assert {"bearer": []} in security
        cookie = next(alt for alt in security if "session" in alt)
        assert ("csrf" in cookie) == (method in WRITES), f"{method.upper()} {path}: {cookie}"


def test_docs_pages_load_only_local_files_without_inline_scripts(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        res = client.get(page)
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
        html = res.text
        assert "http://" not in html and "https://" not in html, page
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        assert scripts and all(body.strip() == "" for _, body in scripts), f"inline script on {page}"
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        for url in urls:
            if url.startswith("data:"):
                continue
            assert url.startswith("/"), url
            assert client.get(url).status_code == 200, url
    assert b"cdn.redoc.ly" not in client.get("/vendor/redoc/redoc.standalone.js").content


def test_answers_documented_but_not_validated_match_their_models(
    client: TestClient, session: Session
) -> None:
    headers = {"Authorization": bearer(session, client, "admin")}
    _, lon, lat = served_point(session)
    make_incident(session, lon=lon, lat=lat)
    LocateAnswer.model_validate(
        client.get(f"/api/locate?lon={lon}&lat={lat}&crs=wgs84", headers=headers).json()
    )
    for who in ({}, headers):
        for layer in layer_service.REGISTRY.map_layers:
            LayerPage.model_validate(client.get(f"/api/layers/{layer}?limit=50", headers=who).json())
    found = IncidentFeatureCollection.model_validate(
        client.get("/api/incidents.geojson", headers=headers).json()
    )
    assert found.features


def test_answers_keep_keys_the_caller_may_not_see_out(client: TestClient, session: Session) -> None:
    """response_model_exclude_unset: an anonymous caller's grid unit has no households key, not a null one."""
    code, _, _ = served_point(session)
    anonymous = client.get(f"/api/grids/{code}").json()
    assert "households" not in anonymous and "population" not in anonymous
    admin = client.get(
        f"/api/grids/{code}", headers={"Authorization": bearer(session, client, "admin")}
    ).json()
    assert isinstance(admin["households"], int)


def test_layer_lists_are_the_registrys_word_for_word(client: TestClient, session: Session) -> None:
    """The response models pass the registry's layer descriptions through unchanged (no key dropped or added)."""
    expected = json.loads(json.dumps(layer_service.layer_summaries(session)))
    assert client.get("/api/layers").json() == expected
    assert client.get("/api/map-config").json()["layers"] == expected
