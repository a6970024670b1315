"""Grid generations: every import, the demo load and every edit save one generation (who, when, why, counts),
audited; GET /api/grids/generations lists them newest first and /{id} says what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gisgrid.auth import accounts
from gisgrid.io.importer import import_file
from gisgrid.io.records import ImportRejected
from tests.conftest import bearer, login, wait_for_job


@pytest.fixture
def planner(client: TestClient, session: Session) -> TestClient:
    client.headers["Authorization"] = bearer(session, client, "planner")
    return client


def _geojson(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


def _general(session: Session) -> str:
    return str(
        session.execute(
            text(
                "SELECT code FROM grid_unit WHERE level = 'general' AND valid_to IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    )


def test_the_demo_load_is_one_generation_of_every_unit(planner: TestClient, session: Session) -> None:
    page = planner.get("/api/grids/generations", params={"limit": 500}).json()
    demo = [g for g in page["items"] if g["source"] == "demo"][0]
    current = session.execute(text("SELECT count(*) FROM grid_unit WHERE valid_to IS NULL")).scalar_one()
    assert demo["units_added"] == current and demo["created_by"] is None
    assert demo["reason"] and (demo["units_retired"], demo["units_changed"]) == (0, 0)
    missing = session.execute(text("SELECT count(*) FROM grid_unit WHERE generation_id IS NULL")).scalar_one()
    assert missing == 0


def _renamed(data: dict, codes: list[str]) -> dict:
    for f in data["features"]:
        if f["properties"]["code"] in codes:
            f["properties"]["name"] += " 新"
    return data


def test_an_import_is_a_generation_of_the_units_it_changed_with_who_and_why(
    jobs_client: TestClient, jobs_engine: Engine
) -> None:
    # Through the API, as planners import: the upload becomes a job that a real worker runs (committed).
    headers = login(jobs_client, "planner")
    data = jobs_client.get("/api/io/grids/export", params={"format": "geojson"}, headers=headers).json()
    micro = sorted(f["properties"]["code"] for f in data["features"] if f["properties"]["level"] == "micro")
    codes = micro[:2]
    content = json.dumps(_renamed(data, codes), ensure_ascii=False).encode()
    # A dry run first: what would change, nothing kept.
    res = jobs_client.post(
        "/api/io/grids/import",
        params={"replace": "true", "dry_run": "true"},
        files={"file": ("新网格.geojson", content)},
        headers=headers,
    )
    dry = wait_for_job(jobs_client, res.json()["id"])
    assert dry["status"] == "succeeded" and dry["result"]["dry_run"] is True, dry
    before = jobs_client.get("/api/grids/generations", params={"limit": 1}, headers=headers).json()["total"]
    res = jobs_client.post(
        "/api/io/grids/import",
        params={"reason": "更名 renamed", "replace": "true"},
        files={"file": ("新网格.geojson", content)},
        headers=headers,
    )
    assert res.status_code == 202, res.text
    job = wait_for_job(jobs_client, res.json()["id"])
    assert job["status"] == "succeeded", job
    newest = jobs_client.get("/api/grids/generations", params={"limit": 1}, headers=headers).json()
    assert newest["total"] == before + 1 and len(newest["items"]) == 1
    generation = newest["items"][0]
    assert generation | {"id": 0, "created_at": None} == {
        "id": 0,
        "created_at": None,
        "created_by": "planner",
        "source": "import",
        "reason": "更名 renamed",
        "units_added": 0,
        "units_retired": 0,
        "units_changed": 2,
        "detail": {"file": "新网格.geojson", "format": "geojson", "crs": None, "replace": True},
    }
    changes = jobs_client.get(f"/api/grids/generations/{generation['id']}", headers=headers).json()
    assert changes["total"] == 2
    assert sorted((u["code"], u["change"], u["version"]) for u in changes["units"]) == [
        (codes[0], "changed", 2),
        (codes[1], "changed", 2),
    ]
    with jobs_engine.connect() as conn:
        audited = conn.execute(
            text("SELECT actor, after FROM audit_log WHERE entity = 'grid_generation' AND entity_key = :k"),
            {"k": str(generation["id"])},
        ).one()
    assert audited.actor == "planner" and audited.after["units_changed"] == 2


def test_a_replace_that_breaks_the_tiling_is_refused_and_a_merge_by_file_retires(
    planner: TestClient, session: Session, tmp_path: Path
) -> None:
    data = planner.get("/api/io/grids/export", params={"format": "geojson"}).json()
    # Dropping a micro-grid leaves a gap in its general grid: refused, naming the rule and where.
    micro = [f for f in data["features"] if f["properties"]["level"] == "micro"]
    dropped = micro[-1]["properties"]["code"]
    gap = {**data, "features": [f for f in data["features"] if f["properties"]["code"] != dropped]}
    path = tmp_path / "gap.geojson"
    path.write_text(json.dumps(gap), encoding="utf-8")
    actor = accounts.principal_of(accounts.get_user(session, "planner"))
    with pytest.raises(ImportRejected) as refused:
        import_file(session, layer="grids", path=path, replace=True, actor=actor, derived="none")
    assert any(
        "gap inside the parent" in p.message and " at 104." in p.message for p in refused.value.problems
    )
    # Merged in the file instead (one grid takes the other's shape and figures): one changed, one retired.
    a, b = session.execute(
        text(
            "SELECT a.code, b.code FROM grid_unit a JOIN grid_unit b ON a.parent_code = b.parent_code "
            "AND a.code < b.code AND b.valid_to IS NULL AND ST_Relate(a.geom, b.geom, '****1****') "
            "WHERE a.level = 'micro' AND b.level = 'micro' AND a.valid_to IS NULL ORDER BY a.code LIMIT 1"
        )
    ).one()
    merged = session.execute(
        text(
            "SELECT ST_AsGeoJSON(ST_Union(geom), 7), sum(households), sum(population) FROM grid_unit "
            "WHERE code IN (:a, :b) AND valid_to IS NULL"
        ),
        {"a": a, "b": b},
    ).one()
    features = []
    for f in data["features"]:
        if f["properties"]["code"] == b:
            continue
        if f["properties"]["code"] == a:
            f = {
                **f,
                "geometry": json.loads(merged[0]),
                "properties": {**f["properties"], "households": merged[1], "population": merged[2]},
            }
        features.append(f)
    path.write_text(json.dumps({**data, "features": features}), encoding="utf-8")
    result = import_file(
        session, layer="grids", path=path, replace=True, actor=actor, derived="none", confirm_warnings=True
    )
    session.flush()
    generation = planner.get("/api/grids/generations", params={"limit": 1}).json()["items"][0]
    assert (generation["units_added"], generation["units_changed"], generation["units_retired"]) == (0, 1, 1)
    page = planner.get(f"/api/grids/generations/{generation['id']}", params={"limit": 5000}).json()
    assert {u["code"]: u["change"] for u in page["units"]} == {a: "changed", b: "retired"}
    assert isinstance(result.warnings, list)


def test_an_edit_is_a_generation_with_before_and_after(planner: TestClient, session: Session) -> None:
    code = _general(session)
    etag = planner.get(f"/api/grids/{code}").headers["ETag"]
    res = planner.patch(
        f"/api/grids/{code}",
        json={"households": 77, "reason": "入户核查 door-to-door count"},
        headers={"If-Match": etag},
    )
    assert res.status_code == 200, res.text
    generation = planner.get("/api/grids/generations", params={"limit": 1}).json()["items"][0]
    assert (generation["source"], generation["reason"], generation["units_changed"]) == (
        "edit",
        "入户核查 door-to-door count",
        1,
    )
    units = planner.get(f"/api/grids/generations/{generation['id']}").json()["units"]
    assert len(units) == 1 and units[0]["change"] == "edited" and units[0]["code"] == code
    assert units[0]["after"]["households"] == 77 and units[0]["before"]["version"] + 1 == units[0]["version"]
    edit_audit = session.execute(
        text(
            "SELECT detail FROM audit_log WHERE entity = 'grid_unit' AND entity_key = :c ORDER BY id DESC LIMIT 1"
        ),
        {"c": code},
    ).scalar_one()
    assert edit_audit == {"generation_id": generation["id"]}


def test_unknown_generation_is_404_and_paging_is_checked(planner: TestClient) -> None:
    missing = planner.get("/api/grids/generations/999999999")
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "generation_id"
    assert planner.get("/api/grids/generations", params={"limit": 0}).status_code == 422


def test_dispatchers_and_anonymous_do_not_read_the_history(client: TestClient, session: Session) -> None:
    assert client.get("/api/grids/generations").status_code == 401
    client.headers["Authorization"] = bearer(session, client, "dispatcher")
    assert client.get("/api/grids/generations").status_code == 403
