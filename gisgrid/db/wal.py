"""Continuous archiving and point-in-time restore for the project's own cluster.

The cluster archives every completed WAL segment into its archive folder (`LocalCluster.archive_conf`:
archive_mode=on, an archive_command that copies to a temporary name and links it under its real name, never
overwriting a different file, archive_timeout; segments are kept from the first base backup on, as no restore
could use older ones). `base_backup` takes a physical copy with pg_basebackup (tar,
gzip, the WAL it needs included). `restore` rebuilds the data folder from the newest base backup taken before
the target time plus the archived WAL, keeping the old data folder aside until the restored server is up and
promoted.

What a restore gives back: every transaction committed up to the target (or, for the latest, every transaction
whose WAL reached the archive, plus what is still in the old data folder's pg_wal when that folder survived).
What can be lost when the data folder is lost: the WAL segment being filled, i.e. at most the commits of the
last archive_timeout seconds (GISGRID_DB_ARCHIVE_TIMEOUT_S, 60 s by default) — less when a segment fills first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from gisgrid.db.cluster import ARCHIVE_STARTED, LocalCluster, find_binaries
from gisgrid.errors import ClusterError, InvalidInput

INFO = "gisgrid-base-backup.json"
WAL_SEGMENT = 16 * 1024 * 1024  # initdb's default (the cluster is ours: never changed)
RECOVERY_SETTINGS = ("recovery_target_time", "recovery_target_action", "recovery_target_timeline")


@dataclass(frozen=True)
class BaseBackup:
    """One base backup: a folder with base.tar.gz, pg_wal.tar.gz, backup_manifest and this description."""

    folder: str
    started_at: str
    finished_at: str
    timeline: int
    start_lsn: str
    end_lsn: str
    start_wal: str
    bytes: int

    @property
    def finished(self) -> datetime:
        """When pg_basebackup had finished: a restore target must not be earlier."""
        return datetime.fromisoformat(self.finished_at)


def _require_archive(cluster: LocalCluster) -> Path:
    if cluster.wal_archive is None:
        raise ClusterError(
            "WAL archiving is off for this cluster, so there is nothing to restore a point in time from.",
            field="GISGRID_DB_WAL_ARCHIVE",
            value="false",
            expected="GISGRID_DB_WAL_ARCHIVE=true and `gisgrid db up`",
        )
    return cluster.wal_archive


def wal_file_name(timeline: int, lsn: str) -> str:
    """The WAL segment file holding `lsn` (e.g. '0/3000028') on `timeline`."""
    hi, lo = (int(part, 16) for part in lsn.split("/"))
    segment = ((hi << 32) | lo) // WAL_SEGMENT
    per_id = 0x100000000 // WAL_SEGMENT
    return f"{timeline:08X}{segment // per_id:08X}{segment % per_id:08X}"


def list_base_backups(folder: Path) -> list[BaseBackup]:
    """The complete base backups in `folder`, oldest first."""
    out = []
    for info in sorted(folder.glob(f"*/{INFO}")) if folder.is_dir() else []:
        out.append(BaseBackup(**json.loads(info.read_text(encoding="utf-8"))))
    return sorted(out, key=lambda b: b.finished_at)


def base_backup(cluster: LocalCluster, *, folder: Path, keep: int = 3, timeout: float = 600.0) -> BaseBackup:
    """Take a base backup of the running cluster into `folder`; keep the newest `keep` and prune the archive."""
    archive = _require_archive(cluster)
    if cluster.running_pid() is None:
        raise ClusterError(
            "The cluster is not running, so no base backup can be taken.", expected="`gisgrid db up`"
        )
    # From now on every completed segment is kept (the backup streams the ones it needs itself).
    (archive / ARCHIVE_STARTED).touch()
    started = datetime.now(UTC)
    target = folder / started.strftime("base-%Y%m%dT%H%M%S%fZ")
    partial = target.with_name(target.name + ".partial")
    folder.mkdir(parents=True, exist_ok=True)
    args = [
        find_binaries().tool("pg_basebackup"),
        *("-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "--no-password"),
        *("-D", str(partial), "--format=tar", "--gzip", "--wal-method=stream", "--checkpoint=fast"),
    ]
    # A client program: it runs as whoever we are and writes the files as ours (the server only streams).
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise ClusterError(f"pg_basebackup failed: {(done.stderr or done.stdout).strip()}")
    finished = datetime.now(UTC)
    manifest = json.loads((partial / "backup_manifest").read_text(encoding="utf-8"))
    wal_range = manifest["WAL-Ranges"][0]
    timeline = int(wal_range["Timeline"])
    info = BaseBackup(
        folder=target.name,
        started_at=started.isoformat(),
        finished_at=finished.isoformat(),
        timeline=timeline,
        start_lsn=str(wal_range["Start-LSN"]),
        end_lsn=str(wal_range["End-LSN"]),
        start_wal=wal_file_name(timeline, str(wal_range["Start-LSN"])),
        bytes=sum(f.stat().st_size for f in partial.iterdir()),
    )
    (partial / INFO).write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
    partial.rename(target)
    prune(folder, archive=archive, keep=keep)
    return info


def prune(folder: Path, *, archive: Path, keep: int) -> list[str]:
    """Remove base backups beyond the newest `keep` and the archived WAL older than the oldest one kept."""
    backups = list_base_backups(folder)
    removed = []
    for old in backups[: max(0, len(backups) - keep)]:
        shutil.rmtree(folder / old.folder, ignore_errors=True)
        removed.append(old.folder)
    kept = backups[-keep:]
    if kept:
        # pg_archivecleanup keeps the named segment, everything after it and every timeline history file.
        subprocess.run(
            [find_binaries().tool("pg_archivecleanup"), str(archive), kept[0].start_wal],
            capture_output=True,
            check=False,
        )
    return removed


def switch_wal(cluster: LocalCluster, *, timeout: float = 30.0) -> str:
    """Close the current WAL segment and wait until it is archived; return its file name."""
    name = str(cluster.query("SELECT pg_walfile_name(pg_switch_wal())"))
    wait_archived(cluster, name, timeout=timeout)
    return name


def wait_archived(cluster: LocalCluster, name: str, *, timeout: float = 30.0) -> None:
    """Block until WAL segment `name` is in the archive."""
    archive = _require_archive(cluster)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (archive / name).exists():
            return
        time.sleep(0.1)
    failed = cluster.query("SELECT coalesce(last_failed_wal, '') FROM pg_stat_archiver")
    raise ClusterError(
        f"WAL segment {name} did not reach the archive {archive} within {timeout:.0f} s"
        + (f" (last failure: {failed})" if failed else ""),
        details={"log": str(cluster.log)},
    )


@dataclass(frozen=True)
class RestoreResult:
    """What a point-in-time restore did."""

    base_backup: str
    target: str
    old_data: str | None
    timeline: int


def restore(
    cluster: LocalCluster,
    *,
    folder: Path,
    to_time: datetime | None = None,
    timeout: float = 600.0,
) -> RestoreResult:
    """Rebuild the cluster's data folder from a base backup and the archived WAL, up to `to_time` (aware) or
    to the end of the archive (None). The old data folder is moved aside first and put back if the restore
    fails; after a success it stays as data.before-restore-<time> until you delete it."""
    archive = _require_archive(cluster)
    if to_time is not None and to_time.tzinfo is None:
        raise InvalidInput(
            f"还原时间缺少时区 The restore time {to_time.isoformat()} has no time zone.",
            field="to_time",
            value=to_time.isoformat(),
            expected="a time with its offset, e.g. 2026-11-28 10:00:00+08",
        )
    if to_time is not None and to_time > datetime.now(UTC):
        raise InvalidInput(
            f"还原时间在未来 The restore time {to_time.isoformat()} is in the future.",
            field="to_time",
            value=to_time.isoformat(),
            expected="a past time, or --latest",
        )
    backups = list_base_backups(folder)
    usable = [b for b in backups if to_time is None or b.finished <= to_time]
    if not usable:
        raise InvalidInput(
            "没有可用的基础备份 No base backup finished before the restore time."
            if backups
            else "没有基础备份 There is no base backup to restore from.",
            field="to_time",
            value=to_time.isoformat() if to_time else "latest",
            expected=(
                f"a time after {backups[0].finished_at} (the oldest base backup)"
                if backups
                else "take one first: `gisgrid backup --base`"
            ),
        )
    chosen = usable[-1]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    cluster.down()
    old = cluster.root / f"data.before-restore-{stamp}"
    had_old = cluster.data.exists()
    if had_old:
        cluster.data.rename(old)
    try:
        _unpack(folder / chosen.folder, cluster.data)
        if had_old:
            _copy_unarchived_wal(old / "pg_wal", cluster.data / "pg_wal", archive)
        _recovery_settings(cluster, to_time)
        cluster.up(timeout=timeout)
        _wait_promoted(cluster, timeout=timeout)
        # The targets only matter during recovery; leave a clean configuration for the next start.
        for name in RECOVERY_SETTINGS:
            cluster.query(f"ALTER SYSTEM RESET {name}")
        cluster.query("SELECT pg_reload_conf()")
        timeline = int(str(cluster.query("SELECT timeline_id FROM pg_control_checkpoint()")))
    except BaseException as exc:
        _put_back(cluster, old if had_old else None, stamp)
        if isinstance(exc, ClusterError) and "before configured recovery target" in _log_text(cluster):
            raise ClusterError(
                "还原目标之后没有已归档的事务 No archived transaction was committed after "
                f"{to_time.isoformat(sep=' ') if to_time else 'the target'}, so the restore cannot tell it reached "
                "that time; nothing was changed (the previous data folder is back).",
                field="to_time",
                value=to_time.isoformat(sep=" ") if to_time else None,
                expected="--latest, or an earlier time",
                details={"log": str(cluster.log)},
            ) from exc
        raise
    return RestoreResult(
        base_backup=chosen.folder,
        target=to_time.isoformat() if to_time else "latest",
        old_data=str(old) if had_old else None,
        timeline=timeline,
    )


def _unpack(backup: Path, data: Path) -> None:
    data.mkdir(mode=0o700, parents=True)
    with tarfile.open(backup / "base.tar.gz") as tar:
        tar.extractall(data, filter="fully_trusted")  # noqa: S202 - our own backup
    wal = data / "pg_wal"
    wal.mkdir(mode=0o700, exist_ok=True)
    with tarfile.open(backup / "pg_wal.tar.gz") as tar:
        tar.extractall(wal, filter="fully_trusted")  # noqa: S202 - our own backup
    for leftover in ("postmaster.pid", "standby.signal"):
        (data / leftover).unlink(missing_ok=True)


def _copy_unarchived_wal(old_wal: Path, new_wal: Path, archive: Path) -> None:
    """The segments still in the old pg_wal (the one being filled, any not archived yet): the docs' advice."""
    if not old_wal.is_dir():
        return
    for seg in old_wal.iterdir():
        if len(seg.name) == 24 and all(c in "0123456789ABCDEF" for c in seg.name) and seg.is_file():
            if not (archive / seg.name).exists() and not (new_wal / seg.name).exists():
                shutil.copy2(seg, new_wal / seg.name)


def _recovery_settings(cluster: LocalCluster, to_time: datetime | None) -> None:
    lines = [
        "",
        "# gisgrid restore (reset after the restore)",
        "recovery_target_timeline = 'latest'",
        "recovery_target_action = 'promote'",
        # A restored copy has no standby yet: a synchronous setting inherited from the backup would block writes.
        "synchronous_standby_names = ''",
    ]
    if to_time is not None:
        lines.append(f"recovery_target_time = '{to_time.isoformat(sep=' ')}'")
    auto = cluster.data / "postgresql.auto.conf"
    with auto.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    (cluster.data / "recovery.signal").touch()  # restore_command is in the archive settings


def _wait_promoted(cluster: LocalCluster, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.running_pid() is None:
            break
        try:
            if cluster.query("SELECT pg_is_in_recovery()") is False:
                return
        except Exception:  # noqa: BLE001, S110 - still starting up; the loop is bounded
            pass
        time.sleep(0.2)
    raise ClusterError(
        "The restored server did not finish recovery; the old data folder was put back.",
        details={"log": str(cluster.log)},
        expected="see the server log; a target time after the last archived commit cannot be reached",
    )


def _log_text(cluster: LocalCluster) -> str:
    try:
        return cluster.log.read_text(errors="replace")[-4000:]
    except OSError:
        return ""


def _put_back(cluster: LocalCluster, old: Path | None, stamp: str) -> None:
    try:
        cluster.down()
    except ClusterError:
        pid = cluster.running_pid()
        if pid is not None:
            subprocess.run(["kill", "-9", str(pid)], check=False)
    if cluster.data.exists():
        failed = cluster.root / f"data.failed-restore-{stamp}"
        cluster.data.rename(failed)
    if old is not None:
        old.rename(cluster.data)
        cluster.up()  # the cluster ran before the restore
