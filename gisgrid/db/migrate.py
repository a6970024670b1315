"""Apply the Alembic migrations: the only way the schema changes."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import IncludeNameFn, NameFilterParentNames, NameFilterType
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at gisgrid's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, *, revision: str = "head", roles: tuple[str, str] | None = None) -> None:
    """Migrate the database forward to `revision`, on an admin engine: the roles, extensions and ownership are
    prepared first, then the migrations run as the owner role (`roles`: owner and app, default the settings')."""
    from gisgrid.config import DatabaseSettings
    from gisgrid.db import roles as db_roles

    if roles is None:
        db = DatabaseSettings()
        roles = (db.db_owner_role, db.db_app_role)
    owner, app = roles
    cfg = alembic_config()
    cfg.attributes["roles"] = roles
    with engine.begin() as conn:
        db_roles.prepare_database(conn, owner=owner, app=app)
        # SET LOCAL: the pooled connection is itself again after the transaction.
        conn.execute(text(f"SET LOCAL ROLE {owner}"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        if (
            revision == "head"
        ):  # tables of later migrations get the grants by default privileges; this repeats
            db_roles.grant_app(conn, owner=owner, app=app)  # them for objects made another way (a restore)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None if never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@cache
def head_revision() -> str | None:
    """The newest revision in the code (read once: parsing the migration scripts is slow)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# Tables in our schema that the models do not describe on purpose: those of PostgreSQL extensions (PostGIS's
# spatial_ref_sys …, found through pg_depend) and those a library creates and owns (the job queue's).
LIBRARY_TABLE_PREFIXES = ("procrastinate_", "pgqueuer")
EXTENSION_TABLES = """
SELECT c.relname
FROM pg_depend d
JOIN pg_class c ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
WHERE d.deptype = 'e' AND c.relnamespace = current_schema()::regnamespace
"""


def not_ours(connection: Connection) -> IncludeNameFn:
    """An Alembic include_name filter: our schema only, without extension- or library-owned tables."""
    foreign = set(connection.execute(text(EXTENSION_TABLES)).scalars())

    def include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
        if type_ == "schema":
            return name is None  # the default schema (topology, tiger … belong to extensions)
        if type_ == "table":
            return name not in foreign and not (name or "").startswith(LIBRARY_TABLE_PREFIXES)
        return True

    return include_name


def model_drift(connection: Connection) -> list[Any]:
    """What autogenerate would change to make the database look like the ORM models (empty: no drift).

    Compares tables, columns (types, nullability, server defaults), indexes, unique and foreign keys. Alembic does
    not compare CHECK or EXCLUDE constraints, triggers or functions."""
    from gisgrid.db.models import Base

    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_name": not_ours(connection),
        },
    )
    return list(compare_metadata(context, Base.metadata))
