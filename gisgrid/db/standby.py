"""A hot standby of the project's own cluster: a second local cluster fed by streaming replication.

`Standby.up` copies the running primary with `pg_basebackup -R` (replication slot `gisgrid_standby`, so the
primary keeps the WAL the standby has not received yet, bounded by max_slot_wal_keep_size), starts it read-only
and, in synchronous mode (the default), sets `synchronous_standby_names = 'ANY 1 (gisgrid_standby)'` on the
primary: a commit is acknowledged to the app only once the standby has flushed its WAL, so a write the app saw
succeed survives the loss of the primary (`synchronous_commit = on`).

The trap of synchronous replication is that commits wait while the standby is away. `Standby.down` (and
`gisgrid db standby down`) turns the requirement off before it stops the standby, so a planned stop never
blocks writes. An unplanned standby outage does block commits (they wait, nothing is lost or acknowledged)
until the standby is back or an operator runs `gisgrid db standby down`, which releases the waiting commits:
we chose "no acknowledged write lost" over "writes always possible". `up(sync=False)` gives asynchronous
replication instead (never blocks; the last moments of acknowledged writes may be lost in a failover).

`Standby.promote` makes the standby the primary (a running old primary is stopped first, fast, which sends
it all its WAL) and leaves a FAILED_OVER note in the old primary's folder so that `gisgrid db up` refuses to
start it again. The app follows through its URL: with GISGRID_DB_STANDBY_PORT set it lists both hosts with
target_session_attrs=read-write, and libpq (psycopg2) and asyncpg connect to whichever accepts writes.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from gisgrid.config import DatabaseSettings
from gisgrid.db.cluster import FAILED_OVER, LocalCluster, find_binaries
from gisgrid.errors import ClusterError

NAME = "gisgrid_standby"  # replication slot and the standby's application_name (cluster_name)
SYNC_NAMES = f"ANY 1 ({NAME})"


class Standby:
    """The primary cluster and its standby cluster (its own folder and port, the same WAL archive)."""

    def __init__(self, primary: LocalCluster, standby: LocalCluster) -> None:
        self.primary = primary
        self.standby = standby

    @classmethod
    def from_settings(cls, db: DatabaseSettings) -> Standby:
        """The standby the settings describe (GISGRID_DB_STANDBY_PORT / GISGRID_DB_STANDBY_DIR)."""
        if db.external:
            raise ClusterError(
                "GISGRID_DATABASE_URL is set: replication of an external server is not managed by gisgrid.",
                field="GISGRID_DATABASE_URL",
                expected="unset it to use the project's own cluster",
            )
        if db.db_standby_port is None:
            raise ClusterError(
                "No standby port is configured.",
                field="GISGRID_DB_STANDBY_PORT",
                expected=f"a free port for the standby, e.g. GISGRID_DB_STANDBY_PORT={db.db_port + 1}; the "
                "app's database URL then lists primary and standby",
            )
        primary = LocalCluster.from_settings(db)
        standby = LocalCluster(
            root=db.db_standby_dir,
            port=db.db_standby_port,
            wal_archive=primary.wal_archive,
            archive=db.db_wal_archive,
            archive_timeout_s=db.db_archive_timeout_s,
        )
        return cls(primary, standby)

    # -- up / down ----------------------------------------------------------------------------------
    def up(self, *, sync: bool = True, timeout: float = 120.0) -> bool:
        """Create the standby if needed, start it, wait until it streams; return True if it was created."""
        if self.primary.running_pid() is None:
            raise ClusterError("The primary is not running.", expected="`gisgrid db up` first")
        created = False
        if not self.standby.initialised:
            self._clone(timeout=timeout)
            created = True
        self.standby.up(timeout=timeout)
        self._wait(
            lambda: self.primary.query(
                "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s AND state = 'streaming'",
                (NAME,),
            ),
            what="the standby to stream from the primary",
            timeout=timeout,
        )
        if sync:
            self.primary.query("ALTER SYSTEM SET synchronous_standby_names = %s", (SYNC_NAMES,))
            self.primary.query("SELECT pg_reload_conf()")
            self._wait(
                lambda: self.primary.query(
                    "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s "
                    "AND sync_state IN ('sync', 'quorum')",
                    (NAME,),
                ),
                what="the standby to become synchronous",
                timeout=timeout,
            )
        else:
            self._release()
        return created

    def _clone(self, *, timeout: float) -> None:
        # A slot left by a removed standby would make pg_basebackup -C fail; an active one is a live standby.
        self.primary.query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = %s AND NOT active",
            (NAME,),
        )
        self.standby.root.mkdir(parents=True, exist_ok=True)
        partial = self.standby.root / "data.partial"
        shutil.rmtree(partial, ignore_errors=True)
        args = [
            find_binaries().tool("pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres", "--no-password"),
            *("-D", str(partial), "--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast"),
            *("--create-slot", "--slot", NAME),
        ]
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise ClusterError(f"pg_basebackup failed: {(done.stderr or done.stdout).strip()}")
        with (partial / "postgresql.auto.conf").open("a", encoding="utf-8") as fh:
            # cluster_name is the walreceiver's application_name, the name synchronous_standby_names lists;
            # the copy must never wait for a standby of its own once promoted.
            fh.write(f"cluster_name = '{NAME}'\nsynchronous_standby_names = ''\n")
        partial.rename(self.standby.data)

    def down(self, *, remove: bool = False) -> bool:
        """Stop the standby (the primary stops waiting for it first); `remove` also drops its copy and slot."""
        if self.primary.running_pid() is not None:
            self._release()
            if remove:
                self.standby.down()
                self.primary.query(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE slot_name = %s",
                    (NAME,),
                )
        stopped = self.standby.down()
        if remove:
            shutil.rmtree(self.standby.root, ignore_errors=True)
        return stopped

    def _release(self) -> None:
        self.primary.query("ALTER SYSTEM RESET synchronous_standby_names")
        self.primary.query("SELECT pg_reload_conf()")

    # -- promote ------------------------------------------------------------------------------------
    def promote(self, *, timeout: float = 60.0) -> None:
        """Make the standby the primary; the old primary is stopped (if running) and marked as failed over."""
        if self.standby.running_pid() is None:
            raise ClusterError("The standby is not running.", expected="`gisgrid db standby up`")
        if self.standby.query("SELECT pg_is_in_recovery()") is not True:
            raise ClusterError("The standby is already a primary (promoted before).")
        if self.primary.running_pid() is not None:
            # A planned switchover: a fast shutdown sends every WAL record to the standby before it ends.
            self.primary.down()
        self.standby.run(
            [
                find_binaries().tool("pg_ctl"),
                "-D",
                str(self.standby.data),
                "-w",
                "-t",
                str(int(timeout)),
                "promote",
            ]
        )
        self._wait(
            lambda: self.standby.query("SELECT NOT pg_is_in_recovery()"),
            what="the standby to leave recovery",
            timeout=timeout,
        )
        for name in ("primary_conninfo", "primary_slot_name"):
            self.standby.query(f"ALTER SYSTEM RESET {name}")
        self.standby.query("SELECT pg_reload_conf()")
        self.primary.root.mkdir(parents=True, exist_ok=True)
        (self.primary.root / FAILED_OVER).write_text(
            f"promoted the standby {self.standby.root} on port {self.standby.port} at "
            f"{datetime.now(UTC).isoformat(timespec='seconds')}\n",
            encoding="utf-8",
        )

    # -- status -------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Both clusters' state and the replication as the primary sees it."""
        info: dict[str, Any] = {
            "primary_port": self.primary.port,
            "primary_running": self.primary.running_pid() is not None,
            "standby_dir": str(self.standby.root),
            "standby_port": self.standby.port,
            "standby_initialised": self.standby.initialised,
            "standby_running": self.standby.running_pid() is not None,
            "failed_over": (self.primary.root / FAILED_OVER).exists(),
        }
        if info["standby_running"]:
            info["standby_in_recovery"] = self.standby.query("SELECT pg_is_in_recovery()")
        if info["primary_running"]:
            info["synchronous_standby_names"] = self.primary.query("SHOW synchronous_standby_names")
            info["replication"] = self.primary.query(
                "SELECT coalesce(json_agg(json_build_object('state', state, 'sync_state', sync_state, "
                "'replay_lag_bytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))), '[]') "
                "FROM pg_stat_replication WHERE application_name = %s",
                (NAME,),
            )
            info["slot"] = self.primary.query(
                "SELECT json_build_object('active', active, 'retained_bytes', "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) "
                "FROM pg_replication_slots WHERE slot_name = %s",
                (NAME,),
            )
        return info

    @staticmethod
    def _wait(probe: Any, *, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if probe():
                    return
            except Exception:  # noqa: BLE001, S110 - a server still starting; the loop is bounded
                pass
            time.sleep(0.2)
        raise ClusterError(f"Gave up waiting for {what} after {timeout:.0f} s.")
