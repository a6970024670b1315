"""The app's own role cannot alter the audit trail by any means, owns nothing and holds no power beyond rows; the
app connects as it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from gisgrid.config import DatabaseSettings, Settings

INSUFFICIENT_PRIVILEGE = "42501"

REFUSED = {
    "update audit_log": "UPDATE audit_log SET action = 'forged'",
    "delete audit_log": "DELETE FROM audit_log",
    "truncate audit_log": "TRUNCATE audit_log",
    "disable its trigger": "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "disable one trigger": "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
    "drop its trigger": "DROP TRIGGER audit_log_no_update ON audit_log",
    "replace its trigger function": "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
    "skip triggers": "SET session_replication_role = replica",
    "skip triggers locally": "SET LOCAL session_replication_role = replica",
    "create a role": "CREATE ROLE intruder SUPERUSER",
    "make itself superuser": "ALTER ROLE CURRENT_USER SUPERUSER",
    "give itself CREATEROLE": "ALTER ROLE CURRENT_USER CREATEROLE",
    "become the owner": "SET ROLE gisgrid_owner",
    "fake the schema revision": "UPDATE alembic_version SET version_num = '9999'",
    "drop a data table": "DROP TABLE grid_unit CASCADE",
    "alter a data table": "ALTER TABLE grid_unit ADD COLUMN forged int",
    "disable a data table's triggers": "ALTER TABLE incident DISABLE TRIGGER ALL",
    "create a table": "CREATE TABLE public.stray (id int)",
}


@pytest.fixture
def app_conn(engine: Engine) -> Iterator[Connection]:
    """A connection as the app role (a real log-in), in a transaction rolled back afterwards."""
    with engine.connect() as conn:
        trans = conn.begin()
        yield conn
        trans.rollback()


def test_the_test_engine_is_the_app_role(app_conn: Connection, db_settings: DatabaseSettings) -> None:
    assert app_conn.execute(text("SELECT current_user, session_user")).one() == (
        db_settings.db_app_role,
        db_settings.db_app_role,
    )


@pytest.mark.parametrize("what", list(REFUSED))
def test_the_app_role_may_not(app_conn: Connection, what: str) -> None:
    app_conn.execute(text("INSERT INTO audit_log (action, entity) VALUES ('test', 'x')"))
    with pytest.raises(DBAPIError) as refused:
        app_conn.execute(text(REFUSED[what].replace("gisgrid_owner", DatabaseSettings().db_owner_role)))
    assert getattr(refused.value.orig, "pgcode", None) == INSUFFICIENT_PRIVILEGE, refused.value


def test_a_grant_to_itself_changes_nothing(app_conn: Connection) -> None:
    app_conn.execute(text("GRANT UPDATE, DELETE ON audit_log TO CURRENT_USER"))  # only a warning: not its own
    assert not app_conn.execute(
        text("SELECT has_table_privilege(current_user, 'audit_log', 'UPDATE')")
    ).scalar()


def test_the_app_role_adds_and_reads_audit_rows(app_conn: Connection) -> None:
    key = app_conn.execute(
        text("INSERT INTO audit_log (action, entity) VALUES ('test', 'app-role') RETURNING id")
    ).scalar_one()
    assert (
        app_conn.execute(text("SELECT entity FROM audit_log WHERE id = :k"), {"k": key}).scalar()
        == "app-role"
    )


def test_the_app_role_has_no_power_and_is_no_member_of_the_owner(
    app_conn: Connection, db_settings: DatabaseSettings
) -> None:
    role = (
        app_conn.execute(
            text(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolcanlogin, "
                "pg_has_role(oid, :owner, 'MEMBER') AS member FROM pg_roles WHERE rolname = current_user"
            ),
            {"owner": db_settings.db_owner_role},
        )
        .mappings()
        .one()
    )
    assert dict(role) == {
        "rolsuper": False,
        "rolcreaterole": False,
        "rolcreatedb": False,
        "rolbypassrls": False,
        "rolreplication": False,
        "rolcanlogin": True,
        "member": False,
    }
    # On audit_log: INSERT and SELECT, nothing else.
    rights = {
        right: app_conn.execute(
            text("SELECT has_table_privilege(current_user, 'audit_log', :r)"), {"r": right}
        ).scalar()
        for right in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    }
    assert rights == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
        "REFERENCES": False,
        "TRIGGER": False,
    }


def test_the_app_role_owns_nothing(app_conn: Connection) -> None:
    owned = app_conn.execute(
        text(
            "SELECT 'relation ' || relname FROM pg_class WHERE relowner = to_regrole(current_user) "
            "AND relpersistence <> 't' "  # its own temporary tables (bulk imports) end with its session
            "UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspowner = to_regrole(current_user) "
            "UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE proowner = to_regrole(current_user) "
            "UNION ALL SELECT 'type ' || typname FROM pg_type t WHERE typowner = to_regrole(current_user) "
            "AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relpersistence = 't') "
            "UNION ALL SELECT 'database ' || datname FROM pg_database WHERE datdba = to_regrole(current_user)"
        )
    ).scalars()
    assert list(owned) == []


def test_every_table_of_ours_belongs_to_the_owner(
    app_conn: Connection, db_settings: DatabaseSettings
) -> None:
    owners = app_conn.execute(
        text(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND NOT EXISTS (SELECT FROM pg_depend d WHERE "
            "d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')"
        )
    ).scalars()
    assert set(owners) == {db_settings.db_owner_role}


def test_the_running_app_connects_as_the_app_role(settings: Settings, db_settings: DatabaseSettings) -> None:
    application = create_app(settings)  # its own engine, from the settings, as `gisgrid serve` builds it
    with TestClient(application) as tc:
        assert tc.get("/api/health").status_code == 200
        with application.state.engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == db_settings.db_app_role
    assert (
        DatabaseSettings(database_url=None)
        .url()
        .startswith(f"postgresql+psycopg2://{db_settings.db_app_role}@")
    )
