"""The project's own PostgreSQL + PostGIS cluster under var/pg (used when GISGRID_DATABASE_URL is unset)."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gisgrid.config import DatabaseSettings
from gisgrid.errors import ClusterError

INSTALL_HINT = "apt-get install -y postgresql-15-postgis-3 postgresql-15-pgrouting"
REQUIRED_EXTENSIONS = ("postgis", "pgrouting")
# Continuous archiving: the settings live in a file of their own that postgresql.conf includes.
ARCHIVE_CONF = "gisgrid-archive.conf"
# Written into the old primary's folder by `gisgrid db standby promote`: starting it again would split the brain.
FAILED_OVER = "FAILED_OVER"
# In the WAL archive: written by the first base backup; before it, completed segments are not kept.
ARCHIVE_STARTED = "ARCHIVE_STARTED"
# Bounds the WAL a replication slot may hold back when its standby is gone (the primary's disk comes first).
MAX_SLOT_WAL_KEEP = "4GB"
ARCHIVE_SCRIPT = """#!/bin/sh
# gisgrid: archive one completed WAL segment (archive_command). Copy to a temporary name, flush, then link
# it under its real name: `ln` refuses an existing name, so a file already archived is never overwritten;
# the same content again (a retry after a crash) counts as archived, different content is an error.
# Until the first base backup (which writes $dir/ARCHIVE_STARTED) no restore could use a segment: not kept.
set -u
src="$1"; name="$2"; dir="$3"
[ -e "$dir/ARCHIVE_STARTED" ] || exit 0
dest="$dir/$name"
tmp="$dir/.$name.$$.tmp"
cp "$src" "$tmp" && sync "$tmp" || { rm -f "$tmp"; exit 1; }
if ln "$tmp" "$dest" 2>/dev/null; then
  rm -f "$tmp"; sync "$dir"; exit 0
fi
rm -f "$tmp"
if cmp -s "$src" "$dest"; then exit 0; fi
echo "archive-wal: $dest exists with different content; not overwritten" >&2
exit 1
"""


@dataclass(frozen=True)
class PgBinaries:
    """Where the PostgreSQL server programs and extension files are."""

    bindir: Path
    sharedir: Path

    def tool(self, name: str) -> str:
        """Full path of one server program (initdb, pg_ctl, psql …)."""
        return str(self.bindir / name)


def find_binaries() -> PgBinaries:
    """Find the newest PostgreSQL server with PostGIS and pgRouting, or say how to install them."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parent.parent.name),
        reverse=True,
    )
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(on_path)
    if not candidates:
        raise ClusterError(
            "PostgreSQL server programs (initdb, pg_ctl) were not found.",
            expected=f"install them: sudo {INSTALL_HINT}  (or set GISGRID_DATABASE_URL to an existing PostGIS)",
        )
    bindir = Path(candidates[0]).parent
    sharedir = _sharedir(bindir)
    missing = [e for e in REQUIRED_EXTENSIONS if not (sharedir / "extension" / f"{e}.control").exists()]
    if missing:
        raise ClusterError(
            f"PostgreSQL at {bindir} lacks the extension(s) {', '.join(missing)}.",
            value=str(sharedir / "extension"),
            expected=f"install them: sudo {INSTALL_HINT}",
        )
    return PgBinaries(bindir=bindir, sharedir=sharedir)


def _sharedir(bindir: Path) -> Path:
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return Path("/usr/share/postgresql") / bindir.parent.name


class LocalCluster:
    """Manage one PostgreSQL cluster: data in DIR/data, socket in DIR/run, log in DIR/server.log."""

    def __init__(
        self,
        *,
        root: Path,
        port: int,
        wal_archive: Path | None = None,
        archive: bool = True,
        archive_timeout_s: int = 60,
    ) -> None:
        self.as_root = os.geteuid() == 0
        self.root = reachable_root(Path(root).resolve()) if self.as_root else Path(root).resolve()
        self.port = port
        self.data = self.root / "data"
        self.run_dir = self.root / "run"
        self.log = self.root / "server.log"
        # The WAL archive: by default beside the cluster folder (var/pg → var/wal-archive); None = no archiving.
        archive_dir = Path(wal_archive or Path(root).resolve().parent / "wal-archive").resolve()
        self.wal_archive: Path | None = (
            (reachable_root(archive_dir) if self.as_root else archive_dir) if archive else None
        )
        self.archive_timeout_s = archive_timeout_s

    @classmethod
    def from_settings(cls, db: DatabaseSettings) -> LocalCluster:
        """The project's own cluster as the settings describe it (folder, port, WAL archive)."""
        return cls(
            root=db.db_cluster_dir,
            port=db.db_port,
            wal_archive=db.db_wal_archive_dir,
            archive=db.db_wal_archive,
            archive_timeout_s=db.db_archive_timeout_s,
        )

    # -- running programs as the right user -------------------------------------------------------
    def _cmd(self, args: list[str]) -> list[str]:
        # initdb refuses root: as root the server runs as the `postgres` user.
        return ["runuser", "-u", "postgres", "--", *args] if self.as_root else args

    def run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server program as the server's user; raise ClusterError when it fails (if `check`)."""
        return self._run(args, check=check)

    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self._cmd(args), capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{Path(args[0]).name} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()}",
                details={"log": str(self.log)},
            )
        return proc

    def _prepare_dirs(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.wal_archive is not None:
            self.wal_archive.mkdir(parents=True, exist_ok=True)
        if not self.as_root:
            return
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ClusterError(
                "Running as root, but there is no `postgres` user to run the server as.",
                expected=f"install the server package, which creates it: {INSTALL_HINT}",
            ) from exc
        for path in [self.root, *self.root.rglob("*")]:
            if path.is_symlink():
                continue
            try:
                os.chown(path, pw.pw_uid, pw.pw_gid)
            except FileNotFoundError:  # a running server renames and removes its WAL status files
                continue
        if self.wal_archive is not None:
            os.chown(self.wal_archive, pw.pw_uid, pw.pw_gid)  # the server writes it (archive_command)
        probe = subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-w", str(self.root)],
            capture_output=True,
            check=False,
        )
        if probe.returncode != 0:
            raise ClusterError(
                f"The `postgres` user cannot reach {self.root} (a parent folder is not traversable).",
                value=str(self.root),
                expected="a folder every user can traverse: set GISGRID_DB_CLUSTER_DIR, e.g. /var/tmp/gisgrid-pg",
            )

    # -- state --------------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        """True once initdb has run."""
        return (self.data / "PG_VERSION").exists()

    def running_pid(self) -> int | None:
        """The postmaster's pid if our server is running, else None."""
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return None
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            return None
        if not _is_postgres(pid):
            return None
        return pid

    def status(self) -> dict[str, object]:
        """What state the cluster is in."""
        pid = self.running_pid()
        return {
            "cluster_dir": str(self.root),
            "initialised": self.initialised,
            "running": pid is not None,
            "pid": pid,
            "port": self.port,
            "log": str(self.log),
        }

    # -- actions ------------------------------------------------------------------------------------
    def up(self, *, timeout: float = 30.0) -> bool:
        """Initialise if needed and start; return True if it was started now, False if already running.

        Turns continuous WAL archiving on (or changes its settings) on the way: a running cluster is reloaded,
        or restarted (fast shutdown: committed data are kept) when archive_mode or wal_level must change."""
        bins = find_binaries()
        marker = self.root / FAILED_OVER
        if marker.exists():
            raise ClusterError(
                f"This cluster was failed over to its standby ({marker.read_text().strip()}); starting it again "
                "would give two primaries.",
                value=str(self.root),
                expected="run the promoted standby as the primary (GISGRID_DB_PORT / GISGRID_DB_CLUSTER_DIR), "
                f"or delete {marker} if you really mean to go back to this copy",
            )
        self._prepare_dirs()
        if not self.initialised:
            self._initdb(bins)
        changed = self._write_archive_conf()
        if self.running_pid() is not None:
            if not changed:
                return False
            if not self._needs_restart():
                self.query("SELECT pg_reload_conf()")
                return False
            self.down()  # archive_mode / wal_level: only read at start; a fast shutdown keeps every commit
        self._clear_stale_pidfile()
        if _port_in_use(self.port):
            raise ClusterError(
                f"Port {self.port} on 127.0.0.1 is already used by another program, so the cluster cannot start.",
                field="GISGRID_DB_PORT",
                value=self.port,
                expected="a free port: stop the other program or set GISGRID_DB_PORT to another port",
            )
        opts = f"-p {self.port} -k {self.run_dir} -c listen_addresses=127.0.0.1"
        args = [bins.tool("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout))]
        proc = self._run([*args, "-o", opts, "start"], check=False)
        if proc.returncode != 0:
            tail = _tail(self.log)
            raise ClusterError(
                f"The PostgreSQL server did not start: {tail or proc.stderr.strip()}",
                details={"log": str(self.log)},
            )
        return True

    def _initdb(self, bins: PgBinaries) -> None:
        args = [bins.tool("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        self._run([*args, "--locale=C.UTF-8"])
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# gisgrid\nmax_connections = 200\nshared_buffers = 256MB\nwork_mem = 32MB\n")

    def archive_conf(self) -> str:
        """The archiving settings this cluster should run with."""
        assert self.wal_archive is not None
        script = self.root / "archive-wal.sh"
        archive = str(self.wal_archive)
        return (
            "# gisgrid: continuous WAL archiving and replication (rewritten by `gisgrid db up`; change the\n"
            "# GISGRID_DB_* settings instead of this file)\n"
            "wal_level = replica\n"
            "archive_mode = on\n"
            f"archive_command = {_conf_str(f'{_sh(str(script))} %p %f {_sh(archive)}')}\n"
            f"archive_timeout = {int(self.archive_timeout_s)}\n"
            f"restore_command = {_conf_str(f'cp {_sh(archive)}/%f %p')}\n"
            "max_wal_senders = 10\n"
            "max_replication_slots = 10\n"
            f"max_slot_wal_keep_size = {_conf_str(MAX_SLOT_WAL_KEEP)}\n"
            "wal_keep_size = '256MB'\n"
        )

    def _write_archive_conf(self) -> bool:
        """Write the archiving settings and the archive script; return True when the settings changed."""
        if self.wal_archive is None:
            return False
        script = self.root / "archive-wal.sh"
        if not script.exists() or script.read_text() != ARCHIVE_SCRIPT:
            script.write_text(ARCHIVE_SCRIPT)
            script.chmod(0o755)
        main_conf = self.data / "postgresql.conf"
        include = f"include_if_exists = '{ARCHIVE_CONF}'"
        text_ = main_conf.read_text()
        changed = False
        if include not in text_:
            main_conf.write_text(text_.rstrip("\n") + f"\n{include}\n")
            changed = True
        conf = self.data / ARCHIVE_CONF
        wanted = self.archive_conf()
        if not conf.exists() or conf.read_text() != wanted:
            conf.write_text(wanted)
            changed = True
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            for path in (script, main_conf, conf):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        return changed

    def _needs_restart(self) -> bool:
        return bool(
            self.query(
                "SELECT current_setting('archive_mode') = 'off' OR current_setting('wal_level') = 'minimal'"
            )
        )

    def query(
        self,
        sql: str,
        params: tuple[object, ...] | None = None,
        *,
        dbname: str = "postgres",
        timeout: float = 10.0,
    ) -> object:
        """Run one statement (%s parameters) as the superuser, autocommit; the first column of its first row."""
        import psycopg2  # noqa: PLC0415 - only the maintenance paths need a raw connection

        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, connect_timeout=int(timeout)
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params)
                row = cur.fetchone() if cur.description else None
                return row[0] if row else None
        finally:
            conn.close()

    def _clear_stale_pidfile(self) -> None:
        if self.running_pid() is not None:
            return
        # Left behind by a killed server. Postgres refuses to start while their pid looks alive, which a
        # reused pid or an unreaped zombie (containers without an init) does; the folder is ours alone.
        stale = [self.data / "postmaster.pid", *self.run_dir.glob(".s.PGSQL.*.lock")]
        for path in stale:
            path.unlink(missing_ok=True)

    def down(self) -> bool:
        """Stop the server (fast shutdown); return False if it was not running."""
        if self.running_pid() is None:
            if self.initialised:
                self._clear_stale_pidfile()
            return False
        bins = find_binaries()
        self._run([bins.tool("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        return True

    def wait_ready(self, *, timeout: float = 30.0) -> None:
        """Block until the server accepts connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _port_in_use(self.port):
                return
            time.sleep(0.1)
        raise ClusterError(
            f"The server did not accept connections on port {self.port} within {timeout:.0f} s."
        )


def reachable_root(root: Path) -> Path:
    """As root, a cluster folder the `postgres` user can reach: `root` itself, or one under /var/tmp."""
    # A checkout under e.g. /root (mode 700) is not traversable by `postgres`; the server must live elsewhere.
    for parent in root.parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            digest = hashlib.sha256(str(root).encode()).hexdigest()[:10]
            return Path("/var/tmp") / f"gisgrid-{digest}" / root.name
    return root


def _sh(value: str) -> str:
    """Quote for /bin/sh."""
    return "'" + value.replace("'", "'\\''") + "'"


def _conf_str(value: str) -> str:
    """Quote for postgresql.conf."""
    return "'" + value.replace("'", "''") + "'"


def _is_postgres(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"postgres" in cmdline


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""
