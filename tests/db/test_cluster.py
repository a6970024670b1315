"""The project's own cluster: start, stop, data kept, stale pid file, port in use, missing binaries."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gisgrid.db import cluster as cluster_mod
from gisgrid.db.cluster import LocalCluster
from gisgrid.db.engine import ensure_database, make_engine
from gisgrid.errors import ClusterError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[LocalCluster]:
    """A second, throw-away cluster on its own port (the test suite's own cluster is left alone)."""
    c = LocalCluster(root=tmp_path / "pg", port=_free_port())
    yield c
    c.down()
    shutil.rmtree(c.root, ignore_errors=True)
    if c.wal_archive is not None:
        shutil.rmtree(c.wal_archive, ignore_errors=True)


def _url(c: LocalCluster) -> str:
    return f"postgresql+psycopg2://postgres@127.0.0.1:{c.port}/scratch"


def test_up_down_up_keeps_data(scratch: LocalCluster) -> None:
    assert scratch.up() is True
    assert scratch.up() is False  # idempotent: already running
    ensure_database(_url(scratch))
    eng = make_engine(_url(scratch), pool_size=1)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE kept (v text)"))
        conn.execute(text("INSERT INTO kept VALUES ('still here')"))
        assert conn.execute(text("SELECT postgis_lib_version()")).scalar()
        assert conn.execute(text("SELECT extversion FROM pg_extension WHERE extname='pgrouting'")).scalar()
    eng.dispose()
    assert scratch.down() is True
    assert scratch.status()["running"] is False
    assert scratch.up() is True
    eng = make_engine(_url(scratch), pool_size=1)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT v FROM kept")).scalar() == "still here"
    eng.dispose()


def test_killed_server_recovers_with_stale_pid_file(scratch: LocalCluster) -> None:
    scratch.up()
    pid = scratch.running_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while cluster_mod._is_postgres(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Children may linger a moment after the postmaster dies; wait for the port to close too.
    while cluster_mod._port_in_use(scratch.port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (scratch.data / "postmaster.pid").exists()
    assert scratch.status()["running"] is False
    assert scratch.up() is True
    assert scratch.status()["running"] is True


def test_port_in_use_gives_clear_message(scratch: LocalCluster) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", scratch.port))
        blocker.listen(1)
        with pytest.raises(ClusterError) as exc:
            scratch.up()
    assert str(scratch.port) in exc.value.message
    assert "GISGRID_DB_PORT" in (exc.value.expected or "")


def test_missing_binaries_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_mod.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(cluster_mod.shutil, "which", lambda name: None)
    with pytest.raises(ClusterError) as exc:
        cluster_mod.find_binaries()
    assert "apt-get install" in (exc.value.expected or "")
    assert "postgis" in (exc.value.expected or "")


def test_missing_postgis_extension_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cluster_mod, "_sharedir", lambda bindir: tmp_path)
    (tmp_path / "extension").mkdir()
    (tmp_path / "extension" / "postgis.control").write_text("")
    with pytest.raises(ClusterError) as exc:
        cluster_mod.find_binaries()
    assert "pgrouting" in exc.value.message


def test_root_uses_a_folder_postgres_can_reach(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.chmod(private, 0o700)
    inside = private / "checkout" / "var" / "pg"
    moved = cluster_mod.reachable_root(inside)
    assert moved != inside and str(moved).startswith("/var/tmp/gisgrid-")
    open_dir = Path("/var/tmp")
    assert cluster_mod.reachable_root(open_dir / "x") == open_dir / "x"
