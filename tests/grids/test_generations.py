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
from tests.conftest import bearer, login, wait_for_job
from tests.io.conftest import grid_feature


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


def test_an_import_is_a_generation_with_who_why_and_what_changed(
    jobs_client: TestClient, jobs_engine: Engine
) -> None:
    # Through the API, as planners import: the upload becomes a job that a real worker runs (committed).
    headers = login(jobs_client, "planner")
    with jobs_engine.connect() as conn:
        parent = str(
            conn.execute(
                text(
                    "SELECT code FROM grid_unit WHERE level = 'general' AND valid_to IS NULL ORDER BY code LIMIT 1"
                )
            ).scalar_one()
        )
    content = _geojson(
        grid_feature(f"{parent}901", parent=parent), grid_feature(f"{parent}902", parent=parent)
    )
    res = jobs_client.post(
        "/api/io/grids/import",
        params={"reason": "新建小区 new compound"},
        files={"file": ("新网格.geojson", content)},
        headers=headers,
    )
    assert res.status_code == 202, res.text
    job = wait_for_job(jobs_client, res.json()["id"])
    assert job["status"] == "succeeded", job
    newest = jobs_client.get("/api/grids/generations", params={"limit": 1}).json()
    assert newest["total"] >= 2 and len(newest["items"]) == 1
    generation = newest["items"][0]
    assert generation | {"id": 0, "created_at": None} == {
        "id": 0,
        "created_at": None,
        "created_by": "planner",
        "source": "import",
        "reason": "新建小区 new compound",
        "units_added": 2,
        "units_retired": 0,
        "units_changed": 0,
        "detail": {"file": "新网格.geojson", "format": "geojson", "crs": None, "replace": False},
    }
    changes = jobs_client.get(f"/api/grids/generations/{generation['id']}").json()
    assert changes["total"] == 2
    assert [(u["code"], u["change"], u["version"]) for u in changes["units"]] == [
        (f"{parent}901", "added", 1),
        (f"{parent}902", "added", 1),
    ]
    with jobs_engine.connect() as conn:
        audited = conn.execute(
            text("SELECT actor, after FROM audit_log WHERE entity = 'grid_generation' AND entity_key = :k"),
            {"k": str(generation["id"])},
        ).one()
    assert audited.actor == "planner" and audited.after["units_added"] == 2


def test_a_replace_retires_and_versions_by_the_same_generation(
    planner: TestClient, session: Session, tmp_path: Path
) -> None:
    current = session.execute(text("SELECT count(*) FROM grid_unit WHERE valid_to IS NULL")).scalar_one()
    data = planner.get("/api/io/grids/export", params={"format": "geojson"}).json()
    dropped = [f for f in data["features"] if f["properties"]["level"] == "micro"][-1]["properties"]["code"]
    data["features"] = [f for f in data["features"] if f["properties"]["code"] != dropped]
    path = tmp_path / "all.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    # The import a job runs, here inside the test's rolled-back transaction (a whole-layer replace).
    import_file(
        session,
        layer="grids",
        path=path,
        replace=True,
        actor=accounts.principal_of(accounts.get_user(session, "planner")),
        derived="none",
    )
    session.flush()
    generation = planner.get("/api/grids/generations", params={"limit": 1}).json()["items"][0]
    assert (generation["units_added"], generation["units_changed"], generation["units_retired"]) == (
        0,
        current - 1,
        1,
    )
    page = planner.get(f"/api/grids/generations/{generation['id']}", params={"limit": 5000}).json()
    kinds = {u["code"]: u["change"] for u in page["units"]}
    assert kinds[dropped] == "retired" and set(kinds.values()) == {"changed", "retired"}
    assert page["total"] == current
    tail = planner.get(f"/api/grids/generations/{generation['id']}", params={"offset": current + 5}).json()
    assert tail["units"] == [] and tail["total"] == current


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
