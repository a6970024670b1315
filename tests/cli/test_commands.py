"""Every `gisgrid` command, run as a user would run it (a real process)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gisgrid.config import DatabaseSettings
from gisgrid.db.engine import drop_database

GISGRID = str(Path(sys.executable).parent / "gisgrid")
CLI_DB = f"gisgrid_cli_test_{os.getpid()}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([GISGRID, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"gisgrid {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="module")
def cli_env(
    db_settings: DatabaseSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Environment pointing the CLI at its own database on the test server (and its own secret key)."""
    # Of the caller's GISGRID_ settings only where the suite's cluster is stays (a checkout may run its own on
    # another port beside another checkout's).
    kept = ("GISGRID_DB_PORT", "GISGRID_DB_CLUSTER_DIR")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GISGRID_") or k in kept}
    env["GISGRID_SECRET_KEY_FILE"] = str(tmp_path_factory.mktemp("cli") / "secret_key")
    if db_settings.database_admin_url:
        env["GISGRID_DATABASE_ADMIN_URL"] = db_settings.admin_url(dbname=CLI_DB)
    else:  # the test suite's own cluster (its port and folder may not be the defaults)
        env["GISGRID_DB_NAME"] = CLI_DB
        env["GISGRID_DB_PORT"] = str(db_settings.db_port)
        env["GISGRID_DB_CLUSTER_DIR"] = str(db_settings.db_cluster_dir)
        env["GISGRID_DB_WAL_ARCHIVE_DIR"] = str(db_settings.db_wal_archive_dir)
    yield env
    drop_database(db_settings.admin_url(dbname=CLI_DB))


def test_help_lists_commands(cli_env: dict[str, str]) -> None:
    out = run("--help", env=cli_env).stdout
    for word in ("db", "demo", "import", "serve"):
        assert word in out


def test_db_up_reset_status_migrate_and_demo_load(cli_env: dict[str, str]) -> None:
    run("db", "up", env=cli_env)
    run("db", "reset", "--yes", env=cli_env)
    status = json.loads(run("db", "status", "--json", env=cli_env).stdout)
    assert status["reachable"] is True and status["schema_revision"] == status["schema_head"]
    assert "revision" in run("db", "migrate", env=cli_env).stdout
    first = run("demo", "load", env=cli_env).stdout
    assert "Demo data loaded" in first and re.search(r"Demo incidents: \d+ created", first)
    again = run("demo", "load", env=cli_env)
    assert "unchanged" in again.stdout and "Demo incidents: already there" in again.stdout
    forced = run("demo", "load", "--force", env=cli_env).stdout
    assert "Demo data loaded" in forced


def test_db_psql_runs_a_query(cli_env: dict[str, str]) -> None:
    run("db", "up", env=cli_env)
    out = run("db", "psql", "-tAc", "SELECT postgis_lib_version()", env=cli_env).stdout
    assert out.strip().startswith("3.")


def test_db_reset_without_yes_asks_and_aborts(cli_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [GISGRID, "db", "reset", "--i-know"],
        env=cli_env,
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1 and "Drop database" in proc.stdout


def test_db_reset_keeps_the_audit_log_until_a_backup_is_taken(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "GISGRID_BACKUP_DIR": str(tmp_path / "backups")}
    run("db", "up", env=env)
    run("demo", "load", env=env)  # demo accounts and incidents write the audit log
    refused = run("db", "reset", "--yes", env=env, check=False)
    assert refused.returncode == 2 and "audit log" in refused.stderr and "gisgrid backup" in refused.stderr
    out = run("backup", env=env).stdout
    assert "Backup" in out and list((tmp_path / "backups").glob("gisgrid-*.dump"))
    run("db", "reset", "--yes", env=env)  # a backup from the last hour: allowed
    dump = next((tmp_path / "backups").glob("gisgrid-*.dump"))
    restored = run("restore", str(dump), "--yes", env=env).stdout
    assert "every table matches the manifest" in " ".join(restored.split())


@pytest.fixture
def own_cluster_env(cli_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """A separate cluster folder and port, so up/down do not touch the suite's server."""
    env = {k: v for k, v in cli_env.items() if k != "GISGRID_DATABASE_URL"}
    env.update(GISGRID_DB_CLUSTER_DIR=str(tmp_path / "pg"), GISGRID_DB_PORT=str(_free_port()))
    yield env
    run("db", "down", env=env, check=False)
    status = run("db", "status", "--json", env=env, check=False)
    shutil.rmtree(json.loads(status.stdout)["cluster_dir"], ignore_errors=True)


def test_db_down_then_status_says_not_running(own_cluster_env: dict[str, str]) -> None:
    run("db", "up", env=own_cluster_env)
    assert "stopped" in run("db", "down", env=own_cluster_env).stdout
    status = run("db", "status", env=own_cluster_env, check=False)
    assert status.returncode == 3 and "running: False" in status.stdout.replace("  ", " ")
    assert "not running" in run("db", "down", env=own_cluster_env).stdout


def test_port_in_use_is_a_clear_cli_error(own_cluster_env: dict[str, str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(own_cluster_env["GISGRID_DB_PORT"])))
        blocker.listen(1)
        proc = run("db", "up", env=own_cluster_env, check=False)
    assert proc.returncode == 2
    assert "already used" in proc.stderr and "GISGRID_DB_PORT" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_answers_health(cli_env: dict[str, str]) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [GISGRID, "serve", "--demo", "--port", str(port)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as res:
                    assert json.load(res)["database"] == "ok"
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as res:
            assert "<html" in res.read().decode().lower()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_import_refuses_a_bad_file_and_changes_nothing(cli_env: dict[str, str], tmp_path: Path) -> None:
    run("db", "up", env=cli_env)
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "id": "X1",
                            "name": "坏小区",
                            "buildings": 1,
                            "households": 10,
                            "population": 20,
                        },
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[30.64, 104.1], [30.65, 104.1], [30.65, 104.11], [30.64, 104.1]]
                            ],
                        },
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    proc = run("import", "compounds", str(bad), env=cli_env, check=False)
    assert proc.returncode == 2
    assert "swapped" in proc.stderr and "X1" in proc.stderr and "Traceback" not in proc.stderr
    count = run("db", "psql", "-tAc", "SELECT count(*) FROM compound WHERE ext_id = 'X1'", env=cli_env).stdout
    assert count.strip() == "0"


def test_unknown_layer_lists_the_layers(cli_env: dict[str, str], tmp_path: Path) -> None:
    proc = run("import", "roads", str(tmp_path / "x.geojson"), env=cli_env, check=False)
    assert proc.returncode == 2 and "walk_edges" in proc.stderr


def test_validate_reports_clean_demo(cli_env: dict[str, str]) -> None:
    run("db", "up", env=cli_env)
    run("demo", "load", env=cli_env)
    proc = run("validate", env=cli_env)
    assert "0 error(s)" in proc.stdout
    report = json.loads(run("validate", "--json", env=cli_env).stdout)
    assert report["errors"] == 0


def test_grids_generations_lists_the_demo_load(cli_env: dict[str, str]) -> None:
    run("db", "up", env=cli_env)
    run("demo", "load", env=cli_env)
    listed = json.loads(run("grids", "generations", "--json", "--limit", "50", env=cli_env).stdout)
    assert any(g["source"] == "demo" and g["units_added"] > 700 for g in listed)
    assert "demo" in run("grids", "generations", env=cli_env).stdout


def test_grids_edit_save_revert_and_changes(cli_env: dict[str, str], tmp_path: Path) -> None:
    run("db", "up", env=cli_env)
    run("demo", "load", env=cli_env)
    pair = (
        run(
            "db",
            "psql",
            "-At",
            "-c",
            "SELECT a.code || ',' || b.code FROM grid_unit a JOIN grid_unit b ON a.parent_code = b.parent_code "
            "AND a.code < b.code AND b.valid_to IS NULL AND b.level = 'micro' AND ST_Relate(a.geom, b.geom, "
            "'****1****') WHERE a.level = 'micro' AND a.valid_to IS NULL ORDER BY a.code DESC LIMIT 1",
            env=cli_env,
        )
        .stdout.strip()
        .split(",")
    )
    ops = tmp_path / "merge.json"
    ops.write_text(json.dumps({"operations": [{"op": "merge", "codes": pair}], "reason": "命令行合并"}))
    saved = json.loads(
        run("grids", "edit", str(ops), "--save", "--confirm-warnings", "--json", env=cli_env).stdout
    )
    assert saved["status"] == "saved" and saved["generation_id"] and saved["reason"] == "命令行合并"
    undone = json.loads(
        run(
            "grids",
            "revert",
            str(saved["generation_id"]),
            "--save",
            "--confirm-warnings",
            "--json",
            env=cli_env,
        ).stdout
    )
    assert undone["status"] == "saved" and {u["change"] for u in undone["preview"]["units"]} >= {"restored"}
    listed = run("grids", "changes", env=cli_env).stdout
    assert "merge" in listed and "restore" in listed
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"op": "split", "code": pair[0], "line": [[104.1, 30.6]]}]))
    proc = run("grids", "edit", str(bad), env=cli_env, check=False)
    assert proc.returncode == 2 and "Error" in proc.stderr and "line" in proc.stderr
    proc = run("grids", "edit", str(tmp_path / "missing.json"), env=cli_env, check=False)
    assert proc.returncode == 2 and "missing.json" in proc.stderr


def test_users_commands_and_audit(cli_env: dict[str, str]) -> None:
    run("db", "up", env=cli_env)
    run("demo", "load", env=cli_env)
    run("users", "add", "cli_user", "--role", "auditor", "--password", "cli-password", env=cli_env)
    dup = run(
        "users",
        "add",
        "cli_user",
        "--role",
        "auditor",
        "--password",
        "cli-password",
        env=cli_env,
        check=False,
    )
    assert dup.returncode == 2 and "already exists" in dup.stderr
    bad = run(
        "users", "add", "x2", "--role", "wizard", "--password", "cli-password", env=cli_env, check=False
    )
    assert bad.returncode == 2 and "planner" in bad.stderr
    listed = json.loads(run("users", "list", "--json", env=cli_env).stdout)
    assert {"username": "cli_user", "role": "auditor"}.items() <= next(
        u for u in listed if u["username"] == "cli_user"
    ).items()
    assert "cli_user" in run("users", "list", env={**cli_env, "COLUMNS": "200"}).stdout
    run("users", "set-password", "cli_user", "--password", "another-password", env=cli_env)
    token = run("users", "token", "cli_user", "--name", "test", env=cli_env).stdout.strip()
    assert len(token) > 30
    (listed_token,) = json.loads(run("users", "tokens", "cli_user", "--json", env=cli_env).stdout)
    assert listed_token["active"] and token not in json.dumps(listed_token)
    run("users", "revoke-token", listed_token["id"], env=cli_env)
    (revoked,) = json.loads(run("users", "tokens", "cli_user", "--json", env=cli_env).stdout)
    assert not revoked["active"]
    run("users", "disable", "cli_user", env=cli_env)
    rows = json.loads(run("audit", "--json", "--entity", "user", "--key", "cli_user", env=cli_env).stdout)
    assert [r["action"] for r in rows][:5] == [
        "disable",
        "token_revoke",
        "token_create",
        "set_password",
        "create",
    ]
    run("users", "disable", "cli_user", "--enable", env=cli_env)
    # Rich markup in a user-supplied name is printed as it is, never parsed (it used to crash the command).
    run(
        "users",
        "add",
        "markup_user",
        "--role",
        "auditor",
        "--password",
        "cli-password",
        "--name",
        "[/bold]x[red]",
        env=cli_env,
    )
    out = run("users", "list", env={**cli_env, "COLUMNS": "250"}).stdout
    assert "[/bold]x[red]" in out


def test_serve_refuses_demo_passwords_without_demo_flag(cli_env: dict[str, str]) -> None:
    run("db", "up", env=cli_env)
    run("demo", "load", env=cli_env)
    proc = run("serve", "--port", str(_free_port()), env=cli_env, check=False)
    assert proc.returncode == 2 and "demo passwords" in proc.stderr and "--demo" in proc.stderr


def test_locate_gcj02_and_bad_coordinates(cli_env: dict[str, str]) -> None:
    run("db", "up", env=cli_env)
    run("demo", "load", env=cli_env)
    answer = json.loads(
        run("locate", "104.107747", "30.637684", "--crs", "gcj02", "--json", env=cli_env).stdout
    )
    assert answer["wgs84"]["shift_m"] > 300 and len(answer["path"]) == 4
    text_out = run("locate", "104.107747", "30.637684", "--crs", "gcj02", env=cli_env).stdout
    assert "牛市口街道" in text_out and "walk" in text_out
    swapped = run("locate", "30.64", "104.1", "--crs", "wgs84", env=cli_env, check=False)
    assert swapped.returncode == 2 and "swapped" in swapped.stderr
    no_crs = run("locate", "104.1", "30.64", env=cli_env, check=False)
    assert no_crs.returncode == 2 and "--crs" in no_crs.stderr
