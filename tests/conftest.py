"""Fixtures: a real PostGIS (the project's own cluster or GISGRID_TEST_DATABASE_URL), a fresh test database
built by the migrations with the demo data loaded, and one rolled-back transaction per test.

The app under test connects as the app role (gisgrid.db.roles), as it does in production, so a privilege it
lacks fails a test: `engine` logs in as that role (the live server, the job worker); the per-test `connection`
is the admin's, switched to the app role with SET LOCAL ROLE, so that a test may step up to the owner for DDL
(`as_owner`) inside the same rolled-back transaction. `admin_engine` is the superuser's."""

from __future__ import annotations

import copy
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from gisgrid.auth.demo import DEMO_ACCOUNTS, ensure_demo_accounts
from gisgrid.config import AuthSettings, DatabaseSettings, JobSettings, Settings
from gisgrid.db import migrate
from gisgrid.db.aio import ConnectionDB
from gisgrid.db.cluster import LocalCluster
from gisgrid.db.engine import clone_database, drop_database, ensure_database, make_engine, session_scope
from gisgrid.io.importer import load_dataset

# One database per pytest process, so that two test runs on one server do not drop each other's database.
RUN_ID = os.getpid()
TEST_DB = f"gisgrid_test_{RUN_ID}"
# A copy of the fresh test database for the job tests: a worker on its own connections sees only committed
# data, so those tests commit, in a database of their own (tests/jobs/, jobs_client).
JOBS_DB = f"gisgrid_jobs_test_{RUN_ID}"
# Another copy for the concurrent-edit test: its editors' saves race and commit (tests/grids/
# test_edit_concurrency.py, edits_engine).
EDITS_DB = f"gisgrid_edits_test_{RUN_ID}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a failure here: CI must run everything."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = reporter.stats.get("skipped", [])
    if skipped and exitstatus == 0:
        reporter.write_line(f"FAILED: {len(skipped)} test(s) were skipped; skips are not allowed", red=True)
        session.exitstatus = 1


def _test_db_settings() -> DatabaseSettings:
    url = os.environ.get("GISGRID_TEST_DATABASE_URL")
    if url:  # a superuser's URL; the app role logs in on the same server without a password (trust, .pgpass)
        return DatabaseSettings(database_url=None, database_admin_url=url)
    base = DatabaseSettings(database_url=None)
    LocalCluster.from_settings(base).up()
    return DatabaseSettings(database_url=None, db_name=TEST_DB)


@pytest.fixture(scope="session")
def db_settings() -> DatabaseSettings:
    """Settings pointing at the test database."""
    return _test_db_settings()


@pytest.fixture(scope="session")
def settings(db_settings: DatabaseSettings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """App settings for tests (their own secret key)."""
    secret = tmp_path_factory.mktemp("auth") / "secret_key"
    # No job worker beside the rolled-back test transaction: it could not see the jobs there (jobs_client).
    return Settings(
        db=db_settings, auth=AuthSettings(secret_key_file=secret), jobs=JobSettings(jobs_worker=False)
    )


def worker_settings(settings: Settings, upload_dir: Path) -> Settings:
    """`settings` with a job worker in the app (retrying at once, uploads in `upload_dir`)."""
    served = copy.copy(settings)
    served.jobs = JobSettings(
        jobs_worker=True,
        jobs_retry_wait_s=0,
        jobs_poll_s=0.5,
        jobs_upload_dir=upload_dir,
        jobs_output_dir=upload_dir.with_name(upload_dir.name + "-output"),
    )
    return served


@pytest.fixture(scope="session")
def admin_engine(db_settings: DatabaseSettings) -> Iterator[Engine]:
    """A fresh test database, as the admin: dropped, created, migrated (as the owner role); the demo data and
    accounts are loaded as the app role, as `gisgrid demo load` does."""
    url = db_settings.admin_url()
    drop_database(url)
    ensure_database(url)
    eng = make_engine(url, pool_size=5)
    migrate.upgrade(eng, roles=(db_settings.db_owner_role, db_settings.db_app_role))
    app_eng = make_engine(db_settings.url(), pool_size=1)
    load_dataset(app_eng, folder=Settings().data.demo_dir, if_changed=False)
    with session_scope(app_eng) as sess:
        ensure_demo_accounts(sess)
    app_eng.dispose()
    eng.dispose()  # a template database must have no connections
    clone_database(url, JOBS_DB)
    clone_database(url, EDITS_DB)
    yield eng
    eng.dispose()
    drop_database(url)
    drop_database(db_settings.admin_url(dbname=JOBS_DB))
    drop_database(db_settings.admin_url(dbname=EDITS_DB))


@pytest.fixture(scope="session")
def engine(admin_engine: Engine, db_settings: DatabaseSettings) -> Iterator[Engine]:
    """The fresh test database as the app role: what the app under test connects with."""
    eng = make_engine(db_settings.url(), pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def jobs_engine(engine: Engine, db_settings: DatabaseSettings) -> Iterator[Engine]:
    """The job tests' own copy of the fresh test database (what they write is committed)."""
    eng = make_engine(db_settings.url(dbname=JOBS_DB), pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def edits_engine(engine: Engine, db_settings: DatabaseSettings) -> Iterator[Engine]:
    """The concurrent-edit test's own copy of the fresh test database (what it writes is committed), with a
    connection for each of its editors."""
    eng = make_engine(db_settings.url(dbname=EDITS_DB), pool_size=12)
    yield eng
    eng.dispose()


@pytest.fixture
def jobs_client(settings: Settings, jobs_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """A client of the app as `gisgrid serve` runs it: real transactions (committed) on the job tests'
    database and the job worker in its lifespan, so that jobs really run."""
    application = create_app(worker_settings(settings, tmp_path / "uploads"), engine=jobs_engine)
    with TestClient(application, raise_server_exceptions=False) as tc:
        yield tc


def wait_for_job(
    client: TestClient, job_id: int, *, until: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """Poll GET /api/jobs/{id} until the job is done (or `until` holds); a hang guard, not a timing claim."""
    deadline = time.monotonic() + 120
    while True:
        res = client.get(f"/api/jobs/{job_id}")
        assert res.status_code == 200, res.text
        job: dict[str, Any] = res.json()
        if (until or (lambda j: bool(j["done"])))(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} did not finish: {job}"
        time.sleep(0.05)


@pytest.fixture
def connection(admin_engine: Engine, db_settings: DatabaseSettings) -> Iterator[Connection]:
    """One connection in a transaction that is rolled back after the test, acting as the app role."""
    with admin_engine.connect() as conn:
        trans = conn.begin()
        conn.execute(text(f"SET LOCAL ROLE {db_settings.db_app_role}"))
        yield conn
        if trans.is_active:
            trans.rollback()


@contextmanager
def as_owner(conn: Connection) -> Iterator[Connection]:
    """Inside the test's transaction, act as the owner role for a while (DDL a test sets up), then as the app."""
    db = DatabaseSettings()
    conn.execute(text(f"SET LOCAL ROLE {db.db_owner_role}"))
    try:
        yield conn
    finally:
        conn.execute(text(f"SET LOCAL ROLE {db.db_app_role}"))


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """An ORM session inside the test's transaction (commits become savepoints)."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as sess:
        yield sess


@pytest.fixture
def app(settings: Settings, engine: Engine, connection: Connection) -> Iterator[FastAPI]:
    """The app, its requests running inside the test's rolled-back transaction."""
    application = create_app(settings, engine=engine)
    yield application


@pytest.fixture
def client(app: FastAPI, connection: Connection) -> Iterator[TestClient]:
    """A test client of the app."""
    with TestClient(app, raise_server_exceptions=False) as tc:
        app.state.sessionmaker = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        # The async routes (GET /api/locate) run the same SQL on the test transaction too; the asyncpg pool
        # itself is exercised through `live_url` (tests/api/test_locate_live.py, the browser tests).
        app.state.aiodb = ConnectionDB(connection)
        yield tc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_url(settings: Settings, engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by uvicorn in a thread (for browser tests), on the test database."""
    import uvicorn

    port = _free_port()
    served = worker_settings(settings, tmp_path_factory.mktemp("uploads"))  # as `gisgrid serve`: a worker
    config = uvicorn.Config(
        create_app(served, engine=engine), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


DEMO_PASSWORDS = {username: password for username, _, _, _, password in DEMO_ACCOUNTS}


def login(client: TestClient, username: str) -> dict[str, str]:
    """Log a demo account in on `client` (cookie kept); return the CSRF header for writes."""
    res = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORDS[username]})
    assert res.status_code == 200, res.text
    return {"X-CSRF-Token": res.json()["csrf_token"]}


def bearer(session: Session, client: TestClient, username: str) -> str:
    """An Authorization header value for a fresh one-hour API token of `username` (inside the test's transaction)."""
    from gisgrid.auth import accounts

    issued = accounts.issue(
        session,
        user=accounts.get_user(session, username),
        kind="token",
        secret=client.app.state.secret,  # type: ignore[attr-defined]
        ttl=timedelta(hours=1),
    )
    session.flush()
    return f"Bearer {issued.token}"
