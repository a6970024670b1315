"""Refused requests leave an audit row (issue 10): a 403 of the role or scope, a CSRF refusal, an import refused
at once; never the request's body; at most GISGRID_AUDIT_REFUSED_PER_MINUTE rows per caller and address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from api.app import create_app
from gisgrid.config import AuthSettings, DatabaseSettings, Settings
from tests.conftest import JOBS_DB, login

GISGRID = str(Path(sys.executable).parent / "gisgrid")


def refusals(conn: Connection, actor: str) -> list[dict[str, Any]]:
    """The refused rows of `actor`, oldest first."""
    rows = conn.execute(
        text(
            "SELECT actor, role, ip, action, entity, entity_key, before, after, detail FROM audit_log "
            "WHERE action = 'refused' AND actor = :a ORDER BY id"
        ),
        {"a": actor},
    ).mappings()
    return [dict(r) for r in rows]


def test_a_scoped_planner_refused_an_import_is_audited(client: TestClient, connection: Connection) -> None:
    headers = login(client, "planner_lh")
    res = client.post("/api/io/grids/import", files={"file": ("g.geojson", b"{}")}, headers=headers)
    assert res.status_code == 403, res.text
    assert refusals(connection, "planner_lh") == [
        {
            "actor": "planner_lh",
            "role": "planner",
            "ip": "testclient",
            "action": "refused",
            "entity": "POST /api/io/grids/import",
            "entity_key": None,
            "before": None,
            "after": None,
            "detail": {"status": 403, "code": "forbidden", "field": "scope"},
        }
    ]


def test_a_role_refusal_is_audited(client: TestClient, connection: Connection) -> None:
    headers = login(client, "auditor")  # read-only everywhere
    res = client.post("/api/auth/tokens", json={"name": "x"}, headers=headers)
    assert res.status_code in (201, 200), res.text  # an auditor may have tokens: no refusal, no row
    res = client.post("/api/users", json={"username": "intruder", "role": "admin"}, headers=headers)
    assert res.status_code == 403, res.text
    rows = refusals(connection, "auditor")
    assert [(r["entity"], r["detail"]["status"]) for r in rows] == [("POST /api/users", 403)]


def test_a_csrf_refusal_is_audited_without_the_body(client: TestClient, connection: Connection) -> None:
    login(client, "admin")
    secret = "Geheim-Passwort-42!"
    res = client.post("/api/users", json={"username": "newbie", "role": "auditor", "password": secret})
    assert res.status_code == 403 and res.json()["error"]["field"] == "X-CSRF-Token", res.text
    (row,) = refusals(connection, "admin")
    assert row["entity"] == "POST /api/users"
    assert row["detail"] == {"status": 403, "code": "forbidden", "field": "X-CSRF-Token"}
    assert secret not in json.dumps(row, default=str) and "newbie" not in json.dumps(row, default=str)


def test_an_import_refused_at_once_is_audited(client: TestClient, connection: Connection) -> None:
    headers = login(client, "dispatcher")
    csv = "工单编号,类别,经度,纬度\nH1,消防,104.1,30.6\n".encode()
    res = client.post("/api/incidents/import", files={"file": ("12345.csv", csv)}, headers=headers)
    assert res.status_code == 422 and res.json()["error"]["field"] == "crs", res.text
    (row,) = refusals(connection, "dispatcher")
    assert row["entity"] == "POST /api/incidents/import"
    assert row["detail"] == {"status": 422, "code": "invalid_input", "field": "crs"}
    assert "H1" not in json.dumps(row, default=str)


def test_refusals_that_are_not_audited(client: TestClient, connection: Connection) -> None:
    """A 401 names nobody (failed log-ins are audited on their own); bad input outside imports is no refusal."""
    assert client.post("/api/users", json={}).status_code == 401
    headers = login(client, "dispatcher")
    assert client.get("/api/locate?lon=x&lat=1&crs=wgs84", headers=headers).status_code == 422
    count = "SELECT count(*) FROM audit_log WHERE action = 'refused'"
    assert connection.execute(text(count)).scalar() == 0


def test_the_audit_trail_lists_refusals(client: TestClient) -> None:
    headers = login(client, "planner_lh")
    client.post("/api/io/grids/import", files={"file": ("g.geojson", b"{}")}, headers=headers)
    client.cookies.clear()
    login(client, "auditor")
    res = client.get("/api/audit", params={"action": "refused"})
    assert res.headers["X-Total-Count"] == "1", res.text
    (item,) = res.json()
    assert (item["actor"], item["entity"], item["detail"]["status"]) == (
        "planner_lh",
        "POST /api/io/grids/import",
        403,
    )


def test_parallel_refusals_stop_at_the_limit_and_the_cli_lists_them(
    settings: Settings, jobs_engine: Engine, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    """Committed, on the job tests' database: each refusal in a transaction of its own, 12 at once, 3 recorded."""
    limited = Settings(
        db=settings.db,
        auth=AuthSettings(secret_key_file=settings.auth.secret_key_file, audit_refused_per_minute=3),
        jobs=settings.jobs,
    )
    with TestClient(create_app(limited, engine=jobs_engine)) as tc:
        login(tc, "patrol")  # a cookie, and no CSRF header on the writes below

        def refused(_: int) -> int:
            return tc.post("/api/auth/tokens", json={"name": "flood"}).status_code

        with ThreadPoolExecutor(max_workers=6) as threads:
            assert set(threads.map(refused, range(12))) == {403}
    with jobs_engine.connect() as conn:
        rows = refusals(conn, "patrol")
    assert len(rows) == 3 and {r["entity"] for r in rows} == {"POST /api/auth/tokens"}

    env = {k: v for k, v in os.environ.items() if not k.startswith("GISGRID_")}
    env["GISGRID_DATABASE_URL"] = db_settings.url(dbname=JOBS_DB)
    env["GISGRID_SECRET_KEY_FILE"] = str(tmp_path / "secret_key")
    out = subprocess.run(
        [GISGRID, "audit", "--action", "refused", "--actor", "patrol", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    listed = json.loads(out)
    assert len(listed) == 3 and all(i["entity"] == "POST /api/auth/tokens" for i in listed), listed
