"""The job queue with a real worker (the app's lifespan) on the job tests' own database: runs, progress,
results, errors in the one shape, retries of transient failures, who may see a job, the CLI."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from gisgrid.jobs import queue
from gisgrid.jobs.queue import JobRun, handler
from tests.conftest import login, wait_for_job

SITE: dict[str, Any] = {
    "type": "Feature",
    "properties": {"id": "JOB-1", "kind": "outpost", "name": "任务测试点", "services": ["咨询"]},
    "geometry": {"type": "Point", "coordinates": [104.1052, 30.6401]},
}
GATE = threading.Event()


@handler("test_lost_connection")
def _lost_connection(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    """Loses its database connection on the first attempt (the server ends the backend), then succeeds."""
    with run.engine.connect() as conn:
        if run.job.attempts == 1:
            conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return {"attempt": run.job.attempts, "answer": conn.execute(text("SELECT 42")).scalar_one()}


@handler("test_gate")
def _gate(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    """Reports progress, then waits until the test opens the gate."""
    run.progress(1, 3, "等待 waiting at the gate")
    assert GATE.wait(timeout=120), "the test never opened the gate"
    run.progress(2, 3, "通过 through")
    return {"through": True}


@handler("test_ok")
def _ok(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "attempt": run.job.attempts}


@handler("test_bad_input")
def _bad_input(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    from gisgrid.errors import InvalidInput

    raise InvalidInput(
        "坏参数 Bad parameter.", field="n", value=params.get("n"), expected="a positive number"
    )


def _switch(client: TestClient, username: str) -> dict[str, str]:
    """Log in as another account on the same client."""
    client.cookies.clear()
    return login(client, username)


def _upload_site(client: TestClient, headers: dict[str, str], feature: dict[str, Any]) -> Any:
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False).encode()
    return client.post("/api/io/sites/import", files={"file": ("站点.geojson", body)}, headers=headers)


def test_an_uploaded_layer_is_imported_by_the_worker_and_its_derived_data_rebuilt(
    jobs_client: TestClient, jobs_engine: Engine
) -> None:
    headers = login(jobs_client, "planner")
    res = _upload_site(jobs_client, headers, SITE)
    assert res.status_code == 202, res.text
    accepted = res.json()
    assert res.headers["Location"] == f"/api/jobs/{accepted['id']}"
    assert accepted["kind"] == "layer_import" and accepted["created_by"] == "planner"
    assert accepted["params"]["file"] == "站点.geojson" and accepted["params"]["layer"] == "sites"
    assert "path" not in accepted["params"], "where the upload waits on the server is not shown"

    job = wait_for_job(jobs_client, accepted["id"])
    assert job["status"] == "succeeded", job
    assert job["result"] | {"derived_jobs": None} == {
        "layer": "sites",
        "format": "geojson",
        "file": "站点.geojson",
        "imported": 1,
        "added": 1,
        "updated": 0,
        "removed": 0,
        "derived_jobs": None,
        "warnings": [],
        "dry_run": False,
    }
    assert job["attempts"] == 1 and job["finished_at"] and job["error"] is None
    assert job["progress"]["message"] == "完成 done"
    with jobs_engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM service_site WHERE ext_id = 'JOB-1'")).scalar_one() == 1
        )
        audit = conn.execute(
            text("SELECT actor FROM audit_log WHERE action = 'import' AND entity_key = '站点.geojson'")
        ).scalar_one()
    assert audit == "planner"
    # The upload waited under the upload folder and is gone once the job finished.
    assert not list((jobs_client.app.state.settings.jobs.jobs_upload_dir).iterdir())  # type: ignore[attr-defined]

    # Walking access to the sites depends on the sites (gisgrid/jobs/derived.py): a job rebuilds it.
    (rebuild_id,) = job["result"]["derived_jobs"]
    rebuild = wait_for_job(jobs_client, rebuild_id)
    assert rebuild["kind"] == "derived_rebuild" and rebuild["status"] == "succeeded", rebuild
    assert rebuild["result"]["rebuilt"]["walk_site_access"] > 0
    with jobs_engine.connect() as conn:
        reached = conn.execute(
            text(
                "SELECT count(*) FROM walk_site_access a JOIN service_site s ON s.id = a.site_id "
                "WHERE s.ext_id = 'JOB-1'"
            )
        ).scalar_one()
    assert reached > 0


def test_a_refused_file_fails_its_job_with_every_problem_named(jobs_client: TestClient) -> None:
    headers = login(jobs_client, "planner")
    bad = {**SITE, "properties": {**SITE["properties"], "id": "JOB-BAD", "kind": "castle"}}
    res = _upload_site(jobs_client, headers, bad)
    assert res.status_code == 202, res.text
    job = wait_for_job(jobs_client, res.json()["id"])
    assert job["status"] == "failed" and job["result"] is None
    assert job["attempts"] == 1, "bad input is not retried"
    error = job["error"]
    assert error["code"] == "invalid_input" and "nothing was imported" in error["message"]
    assert error["details"]["problems"][0]["field"] == "kind"
    assert error["expected"]


def test_a_lost_connection_is_retried_and_the_job_succeeds(
    jobs_client: TestClient, jobs_engine: Engine
) -> None:
    job_id = queue.submit_now(jobs_engine, kind="test_lost_connection", params={}, max_attempts=3)
    login(jobs_client, "admin")  # the job has no creator: admins see it
    job = wait_for_job(jobs_client, job_id)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2 and job["result"] == {"attempt": 2, "answer": 42}
    # The first attempt's error stays visible until the retry replaced it with a result.
    assert job["error"] is None


def test_a_transient_failure_with_no_attempts_left_fails_with_its_error(
    jobs_client: TestClient, jobs_engine: Engine
) -> None:
    job_id = queue.submit_now(jobs_engine, kind="test_lost_connection", params={}, max_attempts=1)
    login(jobs_client, "admin")
    job = wait_for_job(jobs_client, job_id)
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"]["code"] == "database_unavailable"
    assert "attempt 1 of 1" in job["error"]["message"]


def test_progress_is_visible_while_the_job_runs(jobs_client: TestClient, jobs_engine: Engine) -> None:
    GATE.clear()
    job_id = queue.submit_now(jobs_engine, kind="test_gate", params={})
    login(jobs_client, "admin")
    running = wait_for_job(jobs_client, job_id, until=lambda j: j["progress"]["done"] == 1)
    assert running["status"] == "running" and not running["done"]
    assert running["progress"] == {"done": 1, "total": 3, "message": "等待 waiting at the gate"}
    assert running["started_at"] and running["finished_at"] is None
    GATE.set()
    done = wait_for_job(jobs_client, job_id)
    assert done["status"] == "succeeded" and done["result"] == {"through": True}
    assert done["progress"] == {"done": 3, "total": 3, "message": "完成 done"}


def test_bad_input_in_a_job_is_not_retried(jobs_client: TestClient, jobs_engine: Engine) -> None:
    job_id = queue.submit_now(jobs_engine, kind="test_bad_input", params={"n": -1}, max_attempts=3)
    login(jobs_client, "admin")
    job = wait_for_job(jobs_client, job_id)
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"] == {
        "code": "invalid_input",
        "message": "坏参数 Bad parameter.",
        "field": "n",
        "value": -1,
        "expected": "a positive number",
        "details": None,
    }


def test_a_job_is_seen_by_its_creator_and_admins_only(jobs_client: TestClient) -> None:
    headers = login(jobs_client, "planner")
    feature = {**SITE, "properties": {**SITE["properties"], "id": "JOB-2"}}
    job_id = _upload_site(jobs_client, headers, feature).json()["id"]
    wait_for_job(jobs_client, job_id)
    mine = jobs_client.get("/api/jobs").json()["jobs"]
    assert job_id in [j["id"] for j in mine] and {j["created_by"] for j in mine} == {"planner"}
    assert jobs_client.get("/api/jobs?everyone=true").status_code == 403

    _switch(jobs_client, "auditor")
    res = jobs_client.get(f"/api/jobs/{job_id}")
    assert res.status_code == 404 and res.json()["error"]["field"] == "id"
    assert job_id not in [j["id"] for j in jobs_client.get("/api/jobs").json()["jobs"]]

    _switch(jobs_client, "admin")
    assert jobs_client.get(f"/api/jobs/{job_id}").json()["created_by"] == "planner"
    assert job_id in [j["id"] for j in jobs_client.get("/api/jobs?everyone=true").json()["jobs"]]
    assert jobs_client.get("/api/jobs/999999999").json()["error"]["code"] == "not_found"

    jobs_client.cookies.clear()
    assert jobs_client.get(f"/api/jobs/{job_id}").status_code == 401


def test_the_cli_lists_and_shows_jobs(
    jobs_client: TestClient, jobs_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gisgrid.cli import app

    job_id = queue.submit_now(jobs_engine, kind="test_bad_input", params={"n": -2})
    login(jobs_client, "admin")
    wait_for_job(jobs_client, job_id)
    monkeypatch.setenv("GISGRID_DATABASE_URL", jobs_engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    listed = runner.invoke(app, ["jobs", "list", "--json", "--kind", "test_bad_input"])
    assert listed.exit_code == 0, listed.output
    assert job_id in [j["id"] for j in json.loads(listed.output)]
    shown = runner.invoke(app, ["jobs", "show", str(job_id), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["error"]["value"] == -2
    text_view = runner.invoke(app, ["jobs", "show", str(job_id)])
    assert "failed" in text_view.output and "坏参数" in text_view.output


def test_a_job_cancelled_before_it_starts_is_skipped_by_the_worker(
    jobs_engine: Engine, settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.app import create_app
    from gisgrid.cli import app
    from tests.conftest import worker_settings

    # No worker runs yet: the job waits, and the CLI cancels it.
    job_id = queue.submit_now(jobs_engine, kind="test_bad_input", params={"n": -3})
    monkeypatch.setenv("GISGRID_DATABASE_URL", jobs_engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    assert runner.invoke(app, ["jobs", "cancel", str(job_id)]).exit_code == 0
    assert runner.invoke(app, ["jobs", "cancel", str(job_id)]).exit_code == 1
    # A worker then takes its queue entry and leaves the job alone; a later job shows the worker ran.
    later = queue.submit_now(jobs_engine, kind="test_bad_input", params={"n": -4})
    with TestClient(create_app(worker_settings(settings, tmp_path), engine=jobs_engine)) as client:
        login(client, "admin")
        assert wait_for_job(client, later)["status"] == "failed"
        job = wait_for_job(client, job_id)
    assert job["status"] == "cancelled" and job["attempts"] == 0 and job["error"] is None
    assert job["progress"]["message"] == "已取消 cancelled"


def test_derived_data_depends_on_registered_layers_and_is_rebuilt_after_them() -> None:
    from gisgrid.jobs.derived import DERIVED, affected_by
    from gisgrid.layers.registry import REGISTRY

    for derived in DERIVED:
        assert derived.depends_on <= set(REGISTRY.datasets), derived.name
    assert [d.name for d in affected_by(["sites"])] == ["walk_site_access"]
    assert [d.name for d in affected_by(["walk_edges", "grids"])] == ["walk_site_access"]
    assert affected_by(["grids", "workers"]) == []


def test_a_job_left_running_by_a_vanished_worker_runs_again_when_a_worker_starts(
    jobs_engine: Engine, settings: Any, tmp_path: Any
) -> None:
    from api.app import create_app
    from tests.conftest import worker_settings

    job_id = queue.submit_now(jobs_engine, kind="test_ok", params={})
    # As a worker that died in the middle leaves it: its queue entry doing, with no worker (pruned), the
    # job running after one attempt.
    with jobs_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL "
                "WHERE id = (SELECT queue_job_id FROM job WHERE id = :id)"
            ),
            {"id": job_id},
        )
        conn.execute(text("UPDATE job SET status = 'running', attempts = 1 WHERE id = :id"), {"id": job_id})
    with TestClient(create_app(worker_settings(settings, tmp_path), engine=jobs_engine)) as client:
        login(client, "admin")
        job = wait_for_job(client, job_id)
    assert job["status"] == "succeeded" and job["result"] == {"ok": True, "attempt": 2}
