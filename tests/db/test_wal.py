"""Continuous archiving and point-in-time restore on a cluster of its own (the test suite's cluster is left alone)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gisgrid.db import wal
from gisgrid.db.cluster import ARCHIVE_CONF, LocalCluster
from gisgrid.errors import InvalidInput

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


def test_existing_cluster_gets_archiving_without_losing_data(tmp_path: Path) -> None:
    plain = LocalCluster(root=tmp_path / "pg", port=PORT, archive=False)
    try:
        plain.up()
        plain.query("CREATE TABLE kept (v text)")
        plain.query("INSERT INTO kept VALUES ('before')")
        assert plain.query("SHOW archive_mode") == "off"
        # The same folder with archiving on, while it runs: `db up` restarts it once and keeps the data.
        archiving = LocalCluster(root=tmp_path / "pg", port=PORT, wal_archive=tmp_path / "wal-archive")
        assert archiving.up() is True  # restarted: archive_mode is only read at start
        assert archiving.query("SHOW archive_mode") == "on"
        assert (archiving.data / ARCHIVE_CONF).exists()
        assert _rows(archiving) == ["before"]
        name = wal.switch_wal(archiving)
        assert archiving.wal_archive is not None and (archiving.wal_archive / name).is_file()
        # Up again: nothing changed, no restart.
        pid = archiving.running_pid()
        assert archiving.up() is False
        assert archiving.running_pid() == pid
    finally:
        plain.down()
        shutil.rmtree(plain.root, ignore_errors=True)


def test_point_in_time_restore(archived: LocalCluster, tmp_path: Path) -> None:
    backups = tmp_path / "base"
    archived.up()
    archived.query("CREATE TABLE kept (v text)")
    base = wal.base_backup(archived, folder=backups, keep=2)
    assert (backups / base.folder / "base.tar.gz").is_file()
    archived.query("INSERT INTO kept VALUES ('a1'), ('a2')")
    noted = _commit_time(archived)
    # Commit times have microseconds; make sure B's commit is after the noted time on the server's clock.
    while _commit_time(archived) <= noted:
        time.sleep(0.01)
    archived.query("INSERT INTO kept VALUES ('b1')")
    wal.switch_wal(archived)

    with pytest.raises(InvalidInput):
        wal.restore(archived, folder=backups, to_time=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(InvalidInput):
        wal.restore(archived, folder=backups, to_time=base.finished - timedelta(hours=1))
    assert _rows(archived) == ["a1", "a2", "b1"]  # a refused restore changes nothing

    latest = wal.restore(archived, folder=backups)
    assert _rows(archived) == ["a1", "a2", "b1"]
    assert latest.old_data is not None and Path(latest.old_data).is_dir()

    back = wal.restore(archived, folder=backups, to_time=noted)
    assert _rows(archived) == ["a1", "a2"]
    assert back.timeline > latest.timeline
    # The restored server takes writes and archives again; the recovery target is gone from its settings.
    archived.query("INSERT INTO kept VALUES ('c1')")
    assert "recovery_target" not in (archived.data / "postgresql.auto.conf").read_text()
    wal.switch_wal(archived)
    again = wal.restore(archived, folder=backups)
    assert _rows(archived) == ["a1", "a2", "c1"]
    assert again.timeline > back.timeline
