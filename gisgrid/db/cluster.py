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

from gisgrid.errors import ClusterError

INSTALL_HINT = "apt-get install -y postgresql-15-postgis-3 postgresql-15-pgrouting"
REQUIRED_EXTENSIONS = ("postgis", "pgrouting")


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

    def __init__(self, *, root: Path, port: int) -> None:
        self.as_root = os.geteuid() == 0
        self.root = reachable_root(Path(root).resolve()) if self.as_root else Path(root).resolve()
        self.port = port
        self.data = self.root / "data"
        self.run_dir = self.root / "run"
        self.log = self.root / "server.log"

    # -- running programs as the right user -------------------------------------------------------
    def _cmd(self, args: list[str]) -> list[str]:
        # initdb refuses root: as root the server runs as the `postgres` user.
        return ["runuser", "-u", "postgres", "--", *args] if self.as_root else args

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
            os.chown(path, pw.pw_uid, pw.pw_gid)
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
        """Initialise if needed and start; return True if it was started now, False if already running."""
        bins = find_binaries()
        self._prepare_dirs()
        if not self.initialised:
            self._initdb(bins)
        if self.running_pid() is not None:
            return False
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
