"""Logical backups that restore: `pg_dump -Fc` with a manifest of row counts and checksums per table.

A backup is two files in the backup folder: `gisgrid-<UTC time>.dump` (pg_dump's custom format: every table, the
audit log included, with the extensions and the schema revision) and `<same>.json`, its manifest (file SHA-256,
schema revision, server version, and per table the row count and an MD5 over its rows in a fixed order).
A restore checks the file against the manifest, re-creates the database from it and then checks every table
against the manifest again: a restore that does not give back exactly what was saved is reported, not trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from gisgrid.config import DatabaseSettings
from gisgrid.db import roles as db_roles
from gisgrid.db.cluster import find_binaries
from gisgrid.db.engine import create_empty_database, drop_database
from gisgrid.errors import ClusterError, InvalidInput

FORMAT_VERSION = 1
# Tables whose rows belong to an extension's install, not to us (pg_dump leaves them out too).
EXTENSION_TABLES = ("spatial_ref_sys",)


@dataclass(frozen=True)
class TableSum:
    """A table's row count and an MD5 over its rows (as text, sorted)."""

    rows: int
    md5: str


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, to check the file before and the database after a restore."""

    format_version: int
    file: str
    sha256: str
    bytes: int
    created_at: str
    database: str
    revision: str | None
    server_version: str
    tables: dict[str, TableSum]

    @staticmethod
    def load(path: Path) -> Manifest:
        """Read a manifest file."""
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["tables"] = {k: TableSum(**v) for k, v in doc["tables"].items()}
        return Manifest(**doc)


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it (no driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    # The server's own programs: pg_dump must not be older than the server it dumps.
    try:
        return find_binaries().tool(name)
    except ClusterError:
        found = shutil.which(name)
        if found is None:
            raise
        return found


def _run(args: list[str], *, what: str) -> None:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ClusterError(
            f"{what} failed: {detail[-1] if detail else done.returncode}",
            expected="a reachable database and a writable backup folder",
        )


def table_sums(url: str) -> dict[str, TableSum]:
    """Row count and checksum of every table of the public schema (extension tables left out)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = conn.execute(
                text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                    "AND table_type = 'BASE TABLE' ORDER BY table_name"
                )
            ).scalars()
            out = {}
            for name in names:
                if name in EXTENSION_TABLES:
                    continue
                # Names come from the catalogue, quoted; rows compared as text in a fixed order.
                row = conn.execute(
                    text(
                        f"SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM \"{name}\" t"  # noqa: S608
                    )
                ).one()
                out[name] = TableSum(rows=int(row[0]), md5=str(row[1]))
            return out
    finally:
        engine.dispose()


def _facts(url: str) -> tuple[str | None, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            has_alembic = conn.execute(
                text("SELECT to_regclass('public.alembic_version') IS NOT NULL")
            ).scalar()
            revision = (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if has_alembic
                else None
            )
            return revision, str(conn.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(url: str, *, folder: Path, now: datetime | None = None) -> tuple[Path, Manifest]:
    """Dump the database of `url` into `folder` with its manifest; return the dump's path and the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    dump = folder / f"gisgrid-{stamp}.dump"
    partial = dump.with_suffix(".dump.partial")
    # Counted before the dump: pg_dump takes one snapshot, so the sums are checked after a restore, where a
    # write that came in between would show as a difference rather than pass unnoticed.
    tables = table_sums(url)
    _run(
        [_tool("pg_dump"), "--format=custom", "--file", str(partial), "--dbname", _libpq_url(url)],
        what="pg_dump",
    )
    partial.rename(dump)
    revision, server = _facts(url)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        file=dump.name,
        sha256=_sha256(dump),
        bytes=dump.stat().st_size,
        created_at=datetime.now(UTC).isoformat(),
        database=str(make_url(url).database),
        revision=revision,
        server_version=server,
        tables=tables,
    )
    manifest_path = dump.with_suffix(".json")
    manifest_path.write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2), encoding="utf-8")
    return dump, manifest


@dataclass(frozen=True)
class RestoreReport:
    """What a restore gave back, checked against the manifest."""

    manifest: Manifest
    tables: dict[str, TableSum]
    differences: dict[str, tuple[TableSum | None, TableSum | None]]

    @property
    def ok(self) -> bool:
        """True when every table matches the manifest."""
        return not self.differences


def restore(url: str, *, dump: Path, roles: tuple[str, str] | None = None) -> RestoreReport:
    """Re-create the database of `url` (an admin's) from `dump` (its manifest beside it), then check every
    table. The restored objects go to the owner role and the app role gets its rights (`roles`: owner and app,
    default the settings')."""
    manifest_path = dump.with_suffix(".json")
    if not dump.is_file() or not manifest_path.is_file():
        raise InvalidInput(
            f"备份文件不完整 Backup {dump.name} or its manifest {manifest_path.name} is missing.",
            field="file",
            value=str(dump),
            expected="a .dump written by `gisgrid backup` with its .json manifest beside it",
        )
    manifest = Manifest.load(manifest_path)
    if _sha256(dump) != manifest.sha256:
        raise InvalidInput(
            f"备份文件已损坏 {dump.name} does not match its manifest (SHA-256 differs); nothing was changed.",
            field="file",
            value=dump.name,
            expected=f"the file with SHA-256 {manifest.sha256}",
        )
    if roles is None:
        db = DatabaseSettings()
        roles = (db.db_owner_role, db.db_app_role)
    owner, app = roles
    drop_database(url)
    create_empty_database(url)
    _in_database(
        url, lambda conn: db_roles.ensure_roles(conn, owner=owner, app=app)
    )  # the dump grants to them
    _run(
        [_tool("pg_restore"), "--exit-on-error", "--no-owner", "--dbname", _libpq_url(url), str(dump)],
        what="pg_restore",
    )

    def own_and_grant(conn: Connection) -> None:
        db_roles.prepare_database(conn, owner=owner, app=app)
        db_roles.grant_app(conn, owner=owner, app=app)

    _in_database(url, own_and_grant)
    tables = table_sums(url)
    names = set(tables) | set(manifest.tables)
    differences = {
        n: (manifest.tables.get(n), tables.get(n))
        for n in sorted(names)
        if manifest.tables.get(n) != tables.get(n)
    }
    return RestoreReport(manifest=manifest, tables=tables, differences=differences)


def _in_database(url: str, work: Callable[[Connection], None]) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            work(conn)
    finally:
        engine.dispose()


def latest(folder: Path) -> Manifest | None:
    """The newest backup's manifest in `folder`, if any."""
    manifests = sorted(folder.glob("gisgrid-*.json")) if folder.is_dir() else []
    return Manifest.load(manifests[-1]) if manifests else None


def recent_backup(folder: Path, *, within: timedelta = timedelta(hours=1)) -> Manifest | None:
    """The newest backup if it was taken within `within` (the `db reset` guard)."""
    last = latest(folder)
    if last is None:
        return None
    return last if datetime.now(UTC) - datetime.fromisoformat(last.created_at) <= within else None


def check_reset(url: str, *, folder: Path, i_know: bool = False) -> None:
    """Refuse to wipe a database whose audit trail is not empty unless a backup was taken in the last hour.

    The audit log is the record of who changed what; `db reset` would destroy it with everything else.
    """
    if i_know:
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT to_regclass('public.audit_log') IS NOT NULL")).scalar()
            rows = int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()) if exists else 0
    except Exception:  # noqa: BLE001 - no database (or none reachable): nothing to protect here
        return
    finally:
        engine.dispose()
    if rows and recent_backup(folder) is None:
        raise InvalidInput(
            f"审计日志有 {rows} 条记录 The audit log holds {rows} rows and no backup was taken in the last hour; "
            "a reset would destroy them.",
            field="db reset",
            value=rows,
            expected="`gisgrid backup` first (then reset within the hour), or `--i-know` to wipe it anyway",
        )
