"""Hot standby and failover: primary and standby on ports of their own (the test suite's cluster is left alone).

Writes acknowledged before the primary is killed are on the promoted standby, and the app's engine and async
pool, built from the URL that lists both hosts, reconnect to it."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import text

from gisgrid.config import DatabaseSettings
from gisgrid.db.aio import PoolDB, connect_kwargs
from gisgrid.db.cluster import LocalCluster, find_binaries
from gisgrid.db.engine import make_engine
from gisgrid.db.sql import Statement
from gisgrid.db.standby import SYNC_NAMES, Standby
from gisgrid.errors import ClusterError

PRIMARY_PORT = 55508
STANDBY_PORT = 55509


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Standby]:
    """A primary and its (not yet created) standby; both stopped and removed whatever happens."""
    primary = LocalCluster(root=tmp_path / "pg", port=PRIMARY_PORT, wal_archive=tmp_path / "wal-archive")
    standby = LocalCluster(root=tmp_path / "pg-standby", port=STANDBY_PORT, wal_archive=primary.wal_archive)
    try:
        yield Standby(primary, standby)
    finally:
        for cluster in (standby, primary):
            try:
                cluster.down()
            except ClusterError:
                _stop_immediate(cluster)
            shutil.rmtree(cluster.root, ignore_errors=True)
        if primary.wal_archive is not None:
            shutil.rmtree(primary.wal_archive, ignore_errors=True)


def _stop_immediate(cluster: LocalCluster) -> None:
    """What a crash of the primary's machine looks like to the standby: no shutdown checkpoint, nothing sent."""
    cluster.run([find_binaries().tool("pg_ctl"), "-D", str(cluster.data), "-m", "immediate", "-w", "stop"])


def test_settings_url_lists_primary_and_standby() -> None:
    url = DatabaseSettings(database_url=None, db_port=55432, db_standby_port=55433, db_name="gisgrid").url()
    kwargs = connect_kwargs(url)
    assert kwargs["host"] == ["127.0.0.1", "127.0.0.1"]
    assert kwargs["port"] == [55432, 55433]
    assert kwargs["target_session_attrs"] == "read-write"
    assert kwargs["database"] == "gisgrid"
    other = DatabaseSettings(database_url=url).url(dbname="other")
    assert "target_session_attrs=read-write" in other and "/other?" in other
    # libpq's comma form too
    same = connect_kwargs("postgresql+psycopg2://u@/db?host=a,b&port=1,2")
    assert (same["host"], same["port"]) == (["a", "b"], [1, 2])


def test_failover_keeps_acknowledged_writes_and_the_app_follows(pair: Standby) -> None:
    pair.primary.up()
    with pytest.raises(ClusterError):  # nothing to promote yet
        pair.promote()
    assert pair.up(sync=True) is True
    assert pair.primary.query("SHOW synchronous_standby_names") == SYNC_NAMES
    info = pair.status()
    assert info["standby_in_recovery"] is True
    assert info["replication"][0]["sync_state"] == "quorum"

    url = DatabaseSettings(
        database_url=None, db_port=PRIMARY_PORT, db_standby_port=STANDBY_PORT, db_name="postgres"
    ).admin_url()
    engine = make_engine(url, pool_size=2)
    pool = PoolDB(url, size=2)
    loop = asyncio.new_event_loop()
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE acked (n int PRIMARY KEY)"))
        acknowledged = []
        for n in range(50):  # one commit each: every one acknowledged to the app before the next
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO acked VALUES (:n)"), {"n": n})
            acknowledged.append(n)
        before = loop.run_until_complete(pool.fetchrow(Statement("SELECT inet_server_port() AS port"), {}))
        assert before is not None and before["port"] == PRIMARY_PORT

        _stop_immediate(pair.primary)
        pair.promote()
        assert pair.status()["failed_over"] is True

        # The same engine and pool: their connections to the dead primary are replaced by the promoted standby.
        with engine.begin() as conn:
            assert conn.execute(text("SELECT inet_server_port()")).scalar() == STANDBY_PORT
            got = conn.execute(text("SELECT array_agg(n ORDER BY n) FROM acked")).scalar()
            assert got == acknowledged
            conn.execute(text("INSERT INTO acked VALUES (1000)"))  # it takes writes, and waits for no one
        after = loop.run_until_complete(
            pool.fetchrow(Statement("SELECT inet_server_port() AS port, count(*) AS n FROM acked"), {})
        )
        assert after is not None and (after["port"], after["n"]) == (STANDBY_PORT, 51)
    finally:
        loop.run_until_complete(pool.close())
        loop.close()
        engine.dispose()
    # The old primary stays down: starting it would give two primaries.
    with pytest.raises(ClusterError, match="failed over"):
        pair.primary.up()


def test_standby_down_releases_the_synchronous_wait(pair: Standby) -> None:
    pair.primary.up()
    pair.up(sync=True)
    # The trap: the standby disappears without `standby down`, and a commit waits for it.
    pair.standby.down()
    conn = psycopg2.connect(host="127.0.0.1", port=PRIMARY_PORT, user="postgres", dbname="postgres")
    conn.autocommit = True
    pid = conn.get_backend_pid()
    errors: list[BaseException] = []

    def commit() -> None:
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE during_outage (v int)")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    waiter = threading.Thread(target=commit, daemon=True)
    waiter.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not pair.primary.query(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event = 'SyncRep'", (pid,)
        ):
            time.sleep(0.1)
        assert waiter.is_alive()  # waiting for the standby
        # `standby down` releases the primary: the waiting commit completes, later ones do not wait.
        pair.down()
        waiter.join(timeout=30)
        assert not waiter.is_alive() and not errors
        assert not [n for n in conn.notices if "synchronous" in n]  # released, not cancelled
        assert pair.primary.query("SHOW synchronous_standby_names") == ""
    finally:
        if waiter.is_alive():
            pair.primary.query(f"SELECT pg_cancel_backend({pid})")
            waiter.join(timeout=10)
        conn.close()
    assert pair.status()["standby_running"] is False
    pair.up(sync=False)  # the existing copy starts again and catches up
    pair.primary.query("CREATE TABLE after_restart (v int)")
    Standby._wait(
        lambda: pair.standby.query("SELECT count(*) FROM pg_class WHERE relname = 'after_restart'"),
        what="replay on the standby",
        timeout=30,
    )
    pair.down(remove=True)
    assert not pair.standby.root.exists()
    assert pair.primary.query("SELECT count(*) FROM pg_replication_slots") == 0
