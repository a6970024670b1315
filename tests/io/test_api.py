"""POST /api/io/{layer}/import and GET /api/io/{layer}/export: uploads, downloads, errors in the one shape."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import api.uploads as uploads
from gisgrid.io.spec import SPECS
from tests.conftest import bearer, login, wait_for_job
from tests.io.conftest import BOWTIE, grid_feature, row_count, write_geojson

SITE: dict[str, Any] = {
    "type": "Feature",
    "properties": {"id": "T1", "kind": "outpost", "name": "上传测试点", "services": ["咨询"]},
    "geometry": {"type": "Point", "coordinates": [104.105, 30.64]},
}


def _bearer(session: Session, client: TestClient, username: str) -> str:
    return bearer(session, client, username)


@pytest.fixture(autouse=True)
def as_planner(client: TestClient, session: Session) -> None:
    """Every request of this module comes from the demo planner (whole subdistrict) unless a test says so."""
    client.headers["Authorization"] = _bearer(session, client, "planner")


def upload(client: TestClient, layer: str, name: str, content: bytes, **params: str) -> httpx.Response:
    """POST a file as multipart field `file`."""
    return client.post(f"/api/io/{layer}/import", params=params, files={"file": (name, content)})


def geojson_bytes(*features: Any) -> bytes:
    """A FeatureCollection as UTF-8 bytes."""
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


def import_job(
    client: TestClient, headers: dict[str, str], layer: str, name: str, content: bytes, **params: str
) -> dict[str, Any]:
    """Upload a file (202: a job is queued, Location points at it) and wait for the worker to finish it."""
    resp = client.post(
        f"/api/io/{layer}/import", params=params, files={"file": (name, content)}, headers=headers
    )
    assert resp.status_code == 202, resp.text
    assert resp.headers["Location"] == f"/api/jobs/{resp.json()['id']}"
    assert resp.json()["status"] == "queued" and resp.json()["kind"] == "layer_import"
    return wait_for_job(client, resp.json()["id"])


def committed_count(engine: Engine, table: str, where: str = "TRUE") -> int:
    """Rows of a table in the job tests' database (names are literals of the tests)."""
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one())  # noqa: S608


def test_upload_adds_features_and_returns_counts(jobs_client: TestClient, jobs_engine: Engine) -> None:
    headers = login(jobs_client, "planner")
    before = committed_count(jobs_engine, "service_site")
    site = {**SITE, "properties": {**SITE["properties"], "id": "T-API-1"}}
    job = import_job(jobs_client, headers, "sites", "新站点.geojson", geojson_bytes(site))
    assert job["status"] == "succeeded", job
    assert job["result"] | {"file": None, "derived_jobs": None} == {
        "layer": "sites",
        "format": "geojson",
        "file": None,
        "imported": 1,
        "added": 1,
        "updated": 0,
        "removed": 0,
        "derived_jobs": None,
        "warnings": [],
        "dry_run": False,
    }
    assert job["result"]["file"].endswith(".geojson")
    assert committed_count(jobs_engine, "service_site") == before + 1


def test_download_then_upload_with_replace(jobs_client: TestClient, jobs_engine: Engine) -> None:
    headers = login(jobs_client, "planner")
    count = committed_count(jobs_engine, "grid_unit", "valid_to IS NULL")
    data = jobs_client.get("/api/io/grids/export", params={"format": "gpkg"}).content
    job = import_job(jobs_client, headers, "grids", "grids.gpkg", data, replace="true")
    assert job["status"] == "succeeded", job
    assert (job["result"]["updated"], job["result"]["added"]) == (count, 0)
    assert job["result"]["derived_jobs"] == []  # nothing derived reads the grids
    assert committed_count(jobs_engine, "grid_unit", "valid_to IS NULL") == count


def test_bad_file_fails_its_job_with_every_problem_named(
    jobs_client: TestClient, jobs_engine: Engine, tmp_path: Path, micro_parent: str
) -> None:
    headers = login(jobs_client, "planner")
    features = [
        grid_feature("T01", parent=micro_parent),
        grid_feature("T02", parent=micro_parent, ring=BOWTIE),
    ]
    content = write_geojson(tmp_path / "g.geojson", features).read_bytes()
    before = committed_count(jobs_engine, "grid_unit")
    job = import_job(jobs_client, headers, "grids", "网格.geojson", content)
    assert job["status"] == "failed" and job["result"] is None
    error = job["error"]
    assert error["code"] == "invalid_input" and "nothing was imported" in error["message"]
    assert error["details"]["problems"] == [
        {"index": 1, "key": "T02", "field": "geometry", "message": error["details"]["problems"][0]["message"]}
    ]
    assert "--make-valid" in error["details"]["problems"][0]["message"]
    assert committed_count(jobs_engine, "grid_unit") == before
    # Repaired, the squares meet the topology gate: they overlap the micro-grids already there.
    repaired = import_job(jobs_client, headers, "grids", "网格.geojson", content, make_valid="true")
    assert repaired["status"] == "failed"
    assert "overlap" in repaired["error"]["message"] and "--make-valid" not in repaired["error"]["message"]
    assert committed_count(jobs_engine, "grid_unit") == before


def test_csv_without_crs_fails_its_job_naming_crs(jobs_client: TestClient) -> None:
    headers = login(jobs_client, "planner")
    rows = b"id,kind,name,lon,lat\nT-API-CSV,outpost,x,104.1,30.64\n"
    job = import_job(jobs_client, headers, "sites", "s.csv", rows)
    assert job["status"] == "failed" and job["error"]["field"] == "crs"
    ok = import_job(jobs_client, headers, "sites", "s.csv", rows, crs="wgs84")
    assert ok["status"] == "succeeded" and ok["result"]["added"] == 1


def test_bare_shp_upload_asks_for_a_zip(client: TestClient) -> None:
    resp = upload(client, "sites", "s.shp", b"\x00" * 100)
    assert resp.status_code == 422 and ".zip" in resp.json()["error"]["message"]


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """An upload limit of 1 kB (the real one is 50 MB)."""
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1024)
    monkeypatch.setattr(uploads, "FORM_OVERHEAD", 0)


def test_too_large_upload_is_413_saying_the_limit(
    client: TestClient, session: Session, small_limit: None
) -> None:
    before = row_count(session, "service_site")
    resp = upload(client, "sites", "big.geojson", geojson_bytes(*[SITE] * 40))
    assert resp.status_code == 413
    error = resp.json()["error"]
    assert error["code"] == "too_large" and "MB" in error["message"] and error["field"] == "file"
    assert row_count(session, "service_site") == before


def test_too_large_chunked_upload_is_cut_off(client: TestClient, small_limit: None) -> None:
    boundary = "gisgridboundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.geojson"\r\n\r\n'.encode()

    def body() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        yield head
        for _ in range(100):
            yield b" " * 100
        yield f"\r\n--{boundary}--\r\n".encode()

    resp = client.post(
        "/api/io/sites/import",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "too_large"


def test_unknown_layer_is_404(client: TestClient) -> None:
    for resp in (upload(client, "nope", "a.geojson", geojson_bytes(SITE)), client.get("/api/io/nope/export")):
        assert resp.status_code == 404
        assert resp.json()["error"]["field"] == "layer" and "grids" in resp.json()["error"]["expected"]


def test_unknown_format_is_422(client: TestClient) -> None:
    resp = client.get("/api/io/grids/export", params={"format": "kml"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "format"
    resp = upload(client, "grids", "a.kml", b"<kml/>")
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "format"
    assert client.get("/api/io/workers/export", params={"format": "gpkg"}).status_code == 422


def test_not_multipart_is_422(client: TestClient) -> None:
    resp = client.post("/api/io/sites/import", content=geojson_bytes(SITE))
    assert resp.status_code == 422 and "multipart" in resp.json()["error"]["message"]


def test_download_geojson(client: TestClient, session: Session) -> None:
    resp = client.get("/api/io/compounds/export")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/geo+json"
    assert (
        "compounds-" in resp.headers["content-disposition"]
        and ".geojson" in resp.headers["content-disposition"]
    )
    doc = resp.json()
    assert len(doc["features"]) == row_count(session, "compound")
    assert list(doc["features"][0]["properties"]) == [f.name for f in SPECS["compounds"].fields]
    assert isinstance(doc["features"][0]["properties"]["aliases"], list)


def test_download_gpkg(client: TestClient, session: Session, tmp_path: Path) -> None:
    resp = client.get("/api/io/buildings/export", params={"format": "gpkg"})
    assert resp.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "b.gpkg"
    path.write_bytes(resp.content)
    info = pyogrio.read_info(path)
    assert info["features"] == row_count(session, "building") and info["crs"] == "EPSG:4326"
    assert list(info["fields"]) == [f.name for f in SPECS["buildings"].fields]


def test_download_shapefile_is_a_zip(client: TestClient, session: Session) -> None:
    resp = client.get("/api/io/grids/export", params={"format": "shp"})
    assert resp.headers["content-type"] == "application/zip"
    assert resp.headers["content-disposition"].endswith('.zip"')
    names = zipfile.ZipFile(io.BytesIO(resp.content)).namelist()
    assert {Path(n).suffix for n in names} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}


def test_download_csv(client: TestClient, session: Session) -> None:
    resp = client.get("/api/io/workers/export")  # workers: CSV by default
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0] == [f.name for f in SPECS["workers"].fields]
    assert len(rows) - 1 == row_count(session, "worker")
    sites = client.get("/api/io/sites/export", params={"format": "csv"}).content.decode("utf-8-sig")
    assert sites.splitlines()[0].endswith(",wkt") and "POINT (" in sites


def test_openapi_documents_both_routes_in_chinese_and_english(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    post = paths["/api/io/{layer}/import"]["post"]
    get = paths["/api/io/{layer}/export"]["get"]
    for op in (post, get):
        assert any("\u4e00" <= c <= "\u9fff" for c in op["summary"]) and "layer" in op["summary"]
        assert len(op["description"]) > 200
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"202", "413", "422", "404"} <= set(post["responses"])
    assert post["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/JobView")


def test_import_needs_a_planner_and_is_audited(
    client: TestClient, session: Session, jobs_client: TestClient, jobs_engine: Engine
) -> None:
    del client.headers["Authorization"]
    assert upload(client, "sites", "s.geojson", geojson_bytes(SITE)).status_code == 401
    for user, status in (("auditor", 403), ("planner_lh", 403), ("dispatcher", 403)):
        client.headers["Authorization"] = _bearer(session, client, user)
        resp = upload(client, "sites", "s.geojson", geojson_bytes(SITE))
        assert resp.status_code == status, (user, resp.text)
    client.headers["Authorization"] = _bearer(session, client, "auditor")
    assert client.get("/api/io/sites/export").status_code == 200
    client.headers["Authorization"] = _bearer(session, client, "planner")
    accepted = upload(client, "sites", "s.geojson", geojson_bytes(SITE))
    assert accepted.status_code == 202 and accepted.json()["created_by"] == "planner"

    site = {**SITE, "properties": {**SITE["properties"], "id": "T-API-AUDIT"}}
    job = import_job(jobs_client, login(jobs_client, "planner"), "sites", "s.geojson", geojson_bytes(site))
    assert job["status"] == "succeeded", job
    with jobs_engine.connect() as conn:
        row = conn.execute(
            text("SELECT actor, action, entity, entity_key, detail FROM audit_log ORDER BY id DESC LIMIT 1")
        ).one()
    assert (row.actor, row.action, row.entity, row.entity_key) == ("planner", "import", "sites", "s.geojson")
    assert row.detail["added"] == 1 and len(row.detail["sha256"]) == 64
