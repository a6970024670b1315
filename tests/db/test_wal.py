"""Continuous archiving and point-in-time restore on a cluster of its own (the test suite's cluster is left alone)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gisgrid.cli import ops as ops_cli
from gisgrid.db import wal
from gisgrid.db.cluster import ARCHIVE_CONF, LocalCluster
from gisgrid.errors import ClusterError, InvalidInput

PORT = 55507


@pytest.fixture
def archived(tmp_path: Path) -> Iterator[LocalCluster]:
    """A cluster on its own port that archives into tmp_path/wal-archive; stopped whatever happens."""
    cluster = LocalCluster(root=tmp_path / "pg", port=PORT, wal_archive=tmp_path / "wal-archive")
    try:
        yield cluster
    finally:
        cluster.down()
        shutil.rmtree(cluster.root, ignore_errors=True)
        if cluster.wal_archive is not None:
            shutil.rmtree(cluster.wal_archive, ignore_errors=True)


def _rows(cluster: LocalCluster) -> list[str]:
    got = cluster.query("SELECT coalesce(string_agg(v, ',' ORDER BY v), '') FROM kept")
    return str(got).split(",") if got else []


def _commit_time(cluster: LocalCluster) -> datetime:
    """The server's clock: the restore target is compared with commit times the server wrote."""
    value = cluster.query("SELECT clock_timestamp()")
    assert isinstance(value, datetime)
    return value


def test_point_in_time_restore(
    archived: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backups = tmp_path / "base"
    # The commands read the settings: point them at this cluster.
    monkeypatch.delenv("GISGRID_DATABASE_URL", raising=False)
    monkeypatch.setenv("GISGRID_DB_PORT", str(PORT))
    monkeypatch.setenv("GISGRID_DB_CLUSTER_DIR", str(tmp_path / "pg"))
    monkeypatch.setenv("GISGRID_DB_WAL_ARCHIVE_DIR", str(tmp_path / "wal-archive"))
    monkeypatch.setenv("GISGRID_DB_BASE_BACKUP_DIR", str(backups))
    runner = CliRunner()
    # A cluster made before archiving existed: `db up` turns it on (one fast restart) and keeps the data.
    plain = LocalCluster(root=tmp_path / "pg", port=PORT, archive=False)
    plain.up()
    plain.query("CREATE TABLE kept (v text)")
    assert plain.query("SHOW archive_mode") == "off"
    assert archived.up() is True  # restarted: archive_mode is only read at start
    assert archived.query("SHOW archive_mode") == "on"
    assert (archived.data / ARCHIVE_CONF).exists()
    assert archived.query("SELECT count(*) FROM kept") == 0
    pid = archived.running_pid()
    assert archived.up() is False  # nothing changed: no restart
    assert archived.running_pid() == pid
    done = runner.invoke(ops_cli.app, ["backup", "--base"])
    assert done.exit_code == 0, done.output
    [base] = wal.list_base_backups(backups)
    assert (backups / base.folder / "base.tar.gz").is_file()
    archived.query("INSERT INTO kept VALUES ('a1'), ('a2')")
    noted = _commit_time(archived)
    # Commit times have microseconds; make sure B's commit is after the noted time on the server's clock.
    while _commit_time(archived) <= noted:
        time.sleep(0.01)
    archived.query("INSERT INTO kept VALUES ('b1')")
    name = wal.switch_wal(archived)
    assert archived.wal_archive is not None and (archived.wal_archive / name).is_file()

    with pytest.raises(InvalidInput):
        wal.restore(archived, folder=backups, to_time=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(InvalidInput):
        wal.restore(archived, folder=backups, to_time=base.finished - timedelta(hours=1))
    assert _rows(archived) == ["a1", "a2", "b1"]  # a refused restore changes nothing

    latest = wal.restore(archived, folder=backups)
    assert _rows(archived) == ["a1", "a2", "b1"]
    assert latest.old_data is not None and Path(latest.old_data).is_dir()

    done = runner.invoke(ops_cli.app, ["restore", "--to-time", noted.isoformat(sep=" "), "--yes"])
    assert done.exit_code == 0, done.output
    assert "timeline" in done.output
    assert _rows(archived) == ["a1", "a2"]
    timeline = int(str(archived.query("SELECT timeline_id FROM pg_control_checkpoint()")))
    assert timeline > latest.timeline
    # The same target again: the newest history (the restored one) has no commit after it, so PostgreSQL
    # cannot confirm the target; the restore says so and leaves the cluster as it was, running.
    with pytest.raises(ClusterError, match="No archived transaction"):
        wal.restore(archived, folder=backups, to_time=noted)
    assert _rows(archived) == ["a1", "a2"]
    # The restored server takes writes and archives again; the recovery target is gone from its settings.
    archived.query("INSERT INTO kept VALUES ('c1')")
    assert "recovery_target" not in (archived.data / "postgresql.auto.conf").read_text()
    wal.switch_wal(archived)
    again = wal.restore(archived, folder=backups)
    assert _rows(archived) == ["a1", "a2", "c1"]
    assert again.timeline > timeline


def test_restore_command_needs_one_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GISGRID_DB_STANDBY_PORT", raising=False)
    done = CliRunner().invoke(ops_cli.app, ["restore", "--latest", "--to-time", "2026-11-28 10:00:00+08"])
    assert isinstance(done.exception, InvalidInput)
    assert "--to-time" in str(done.exception.expected)
    done = CliRunner().invoke(ops_cli.app, ["restore", "--to-time", "yesterday", "--yes"])
    assert isinstance(done.exception, InvalidInput) and done.exception.value == "yesterday"
    done = CliRunner().invoke(ops_cli.app, ["standby", "status"])
    assert isinstance(done.exception, ClusterError) and done.exception.field == "GISGRID_DB_STANDBY_PORT"
