"""Backups restore: load the demo, add incidents, back up, destroy the database, restore, compare every table."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gisgrid.auth.demo import ensure_demo_accounts
from gisgrid.config import DatabaseSettings, Settings
from gisgrid.db import backup, migrate
from gisgrid.db.engine import drop_database, ensure_database, make_engine, session_scope
from gisgrid.errors import InvalidInput
from gisgrid.incidents import demo
from gisgrid.io.importer import load_dataset


@pytest.fixture(scope="module")
def source_url(db_settings: DatabaseSettings) -> Iterator[str]:
    """A database of its own (a restore drops and re-creates it), with the demo, accounts and incidents."""
    url = db_settings.admin_url(dbname=f"gisgrid_backup_{os.getpid()}")
    drop_database(url)
    ensure_database(url)
    engine = make_engine(url, pool_size=1)
    try:
        migrate.upgrade(engine)
        load_dataset(engine, folder=Settings().data.demo_dir, if_changed=False)
        with session_scope(engine) as session:
            ensure_demo_accounts(session)
            demo.seed(session, now=datetime.now(UTC))
    finally:
        engine.dispose()
    yield url
    drop_database(url)


def _count(url: str, table: str) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
    finally:
        engine.dispose()


def test_backup_destroy_restore_gives_every_table_back(
    source_url: str, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    before = backup.table_sums(source_url)
    assert before["incident"].rows > 0 and before["audit_log"].rows > 0 and before["grid_unit"].rows > 0
    dump, manifest = backup.backup(source_url, folder=tmp_path)
    assert manifest.tables == before and manifest.revision == migrate.head_revision()
    assert json.loads(dump.with_suffix(".json").read_text(encoding="utf-8"))["sha256"] == manifest.sha256

    drop_database(source_url)  # the disaster
    report = backup.restore(source_url, dump=dump)

    assert report.ok, report.differences
    assert backup.table_sums(source_url) == before
    assert _count(source_url, "incident") == before["incident"].rows
    # The restored tables belong to the owner again, and the app role has its rights and no more.
    app = make_engine(db_settings.url(dbname=make_url(source_url).database), pool_size=1)
    try:
        with app.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM incident")).scalar() == before["incident"].rows
            owner = conn.execute(
                text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'incident'")
            )
            assert owner.scalar() == db_settings.db_owner_role
            with pytest.raises(DBAPIError, match="permission denied"):
                conn.execute(text("DELETE FROM audit_log"))
    finally:
        app.dispose()


def test_a_restore_reports_a_table_that_differs(source_url: str, tmp_path: Path) -> None:
    dump, manifest = backup.backup(source_url, folder=tmp_path)
    path = dump.with_suffix(".json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["tables"]["compound"]["rows"] += 1  # as if a compound had been lost on the way
    path.write_text(json.dumps(doc), encoding="utf-8")
    report = backup.restore(source_url, dump=dump)
    assert not report.ok and list(report.differences) == ["compound"]


def test_a_damaged_backup_is_refused_before_anything_is_dropped(source_url: str, tmp_path: Path) -> None:
    dump, _ = backup.backup(source_url, folder=tmp_path)
    with dump.open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\xff\xff\xff\xff")
    rows = _count(source_url, "grid_unit")
    with pytest.raises(InvalidInput) as exc:
        backup.restore(source_url, dump=dump)
    assert "SHA-256" in exc.value.message
    assert _count(source_url, "grid_unit") == rows


def test_recent_backup_is_the_newest_within_the_hour(tmp_path: Path, source_url: str) -> None:
    assert backup.recent_backup(tmp_path) is None
    old_dump, _ = backup.backup(source_url, folder=tmp_path, now=datetime.now(UTC) - timedelta(hours=2))
    manifest = backup.Manifest.load(old_dump.with_suffix(".json"))
    doc = json.loads(old_dump.with_suffix(".json").read_text(encoding="utf-8"))
    doc["created_at"] = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    old_dump.with_suffix(".json").write_text(json.dumps(doc), encoding="utf-8")
    assert manifest.file == old_dump.name and backup.recent_backup(tmp_path) is None
    backup.backup(source_url, folder=tmp_path)
    recent = backup.recent_backup(tmp_path)
    assert recent is not None and recent.file != old_dump.name
