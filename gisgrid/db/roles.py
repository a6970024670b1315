"""The database roles, in one place: an owner that owns the schema (migrations run as it) and the app's own
least-privilege role, which reads and writes rows and nothing more.

The app role is no superuser, owns nothing and is no member of the owner, so it cannot drop or alter a table,
disable a trigger or set `session_replication_role` (superuser only): the append-only trigger of `audit_log`
holds, and on that table it has INSERT and SELECT only. Used by `gisgrid.db.migrate` (every upgrade), restores
and the test fixtures; migration 0011 grants the app role its rights on the existing tables."""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

# Extensions are created by the admin (a non-superuser owner could not create PostGIS or pgRouting).
DATABASE_EXTENSIONS = ("postgis", "pgrouting", "btree_gist", "pg_trgm")
# Tables the app may add rows to and read, never change (a database trigger refuses it for everyone else too).
APPEND_ONLY_TABLES = ("audit_log",)
# Tables only the migrations write: the app reads the schema revision, it cannot fake it.
READ_ONLY_TABLES = ("alembic_version",)
TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
SAFE_ATTRIBUTES = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Roles are cluster-wide while advisory locks are per database, so parallel test databases may race to create
# the same role: the loser's duplicate is ignored (a concurrent CREATE ROLE fails with unique_violation).
CREATE_ROLE = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
        CREATE ROLE {name} {login} {attributes};
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$
"""
# Our objects in the public schema, not those of an extension (PostGIS's spatial_ref_sys, its functions), and
# whether the owner role has them. Sequences of a column (serial, identity) follow their table's owner.
RELATIONS = """
SELECT c.oid::regclass::text AS name, c.relkind AS kind, pg_get_userbyid(c.relowner) = :owner AS mine,
       EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) AS of_column
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.oid
"""
FUNCTIONS = """
SELECT p.oid::regprocedure::text AS name, p.prokind AS kind, pg_get_userbyid(p.proowner) = :owner AS mine
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY p.oid
"""
TYPES = """
SELECT t.oid::regtype::text AS name, pg_get_userbyid(t.typowner) = :owner AS mine
FROM pg_type t
WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd')
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
ORDER BY t.oid
"""
RELATION_KIND = {"S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE"}


def _name(role: str) -> str:
    # Role names come from settings (validated there too), never from request input; refuse anything odd.
    if not ROLE_NAME.match(role):
        raise ValueError(f"unsupported role name {role!r}: lower-case letters, digits and '_' only")
    return role


def ensure_roles(conn: Connection, *, owner: str, app: str) -> None:
    """Create the owner (NOLOGIN) and app (LOGIN) roles if missing and keep the app role powerless (admin)."""
    owner, app = _name(owner), _name(app)
    conn.execute(text(CREATE_ROLE.format(name=owner, login="NOLOGIN", attributes=SAFE_ATTRIBUTES)))
    conn.execute(text(CREATE_ROLE.format(name=app, login="LOGIN", attributes=SAFE_ATTRIBUTES)))
    powers = conn.execute(
        text(
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls "
            "OR pg_has_role(oid, :owner, 'MEMBER') FROM pg_roles WHERE rolname = :app"
        ),
        {"app": app, "owner": owner},
    ).scalar_one()
    if powers:  # only then: ALTER ROLE on a shared row can fail with "tuple concurrently updated"
        conn.execute(text(f"ALTER ROLE {app} {SAFE_ATTRIBUTES}"))
        conn.execute(text(f"REVOKE {owner} FROM {app}"))


def prepare_database(conn: Connection, *, owner: str, app: str) -> None:
    """As the admin, in the current database: the roles, the extensions, the owner's rights on the schema and
    ownership of every object of ours (a database made before the roles existed belongs to the admin)."""
    owner, app = _name(owner), _name(app)
    ensure_roles(conn, owner=owner, app=app)
    for extension in DATABASE_EXTENSIONS:
        conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
    conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {owner}"))
    conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {app}"))
    conn.execute(text(f'GRANT CONNECT, TEMPORARY ON DATABASE "{_database(conn)}" TO {app}'))
    # Object names come from the catalogue (regclass/regprocedure quote them); role names are checked above.
    for row in conn.execute(text(RELATIONS), {"owner": owner}).mappings():
        if not row["mine"] and not row["of_column"]:
            conn.execute(
                text(f"ALTER {RELATION_KIND.get(row['kind'], 'TABLE')} {row['name']} OWNER TO {owner}")
            )
    for row in conn.execute(text(FUNCTIONS), {"owner": owner}).mappings():
        if not row["mine"]:
            conn.execute(text(f"ALTER {_routine(row['kind'])} {row['name']} OWNER TO {owner}"))
    for row in conn.execute(text(TYPES), {"owner": owner}).mappings():
        if not row["mine"]:
            conn.execute(text(f"ALTER TYPE {row['name']} OWNER TO {owner}"))


def _routine(kind: str) -> str:
    return "PROCEDURE" if kind == "p" else "FUNCTION"


def _database(conn: Connection) -> str:
    name = str(conn.execute(text("SELECT current_database()")).scalar_one())
    if '"' in name:
        raise ValueError(f"unsupported database name {name!r}")
    return name


def grant_app(conn: Connection, *, owner: str, app: str) -> None:
    """The app role's rights on every object the owner has, and on those it creates later (default
    privileges): rows of every table, sequences, functions (the job queue's); audit_log INSERT and SELECT only,
    alembic_version SELECT only.
    Run as the owner (migration 0011) or the admin; repeating it changes nothing."""
    owner, app = _name(owner), _name(app)
    for row in conn.execute(text(RELATIONS), {"owner": owner}).mappings():
        if not row["mine"]:
            continue
        if row["kind"] == "S":
            conn.execute(text(f"GRANT USAGE, SELECT ON SEQUENCE {row['name']} TO {app}"))
        elif row["name"] in APPEND_ONLY_TABLES + READ_ONLY_TABLES:
            rights = "SELECT, INSERT" if row["name"] in APPEND_ONLY_TABLES else "SELECT"
            conn.execute(text(f"REVOKE ALL ON TABLE {row['name']} FROM {app}"))
            conn.execute(text(f"GRANT {rights} ON TABLE {row['name']} TO {app}"))
        else:
            conn.execute(text(f"GRANT {TABLE_RIGHTS} ON TABLE {row['name']} TO {app}"))
    for row in conn.execute(text(FUNCTIONS), {"owner": owner}).mappings():
        if row["mine"]:
            conn.execute(text(f"GRANT EXECUTE ON {_routine(row['kind'])} {row['name']} TO {app}"))
    default = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT"
    for rights, objects in (
        (TABLE_RIGHTS, "TABLES"),
        ("USAGE, SELECT", "SEQUENCES"),
        ("EXECUTE", "FUNCTIONS"),
    ):
        conn.execute(text(f"{default} {rights} ON {objects} TO {app}"))


def revoke_app(conn: Connection, *, owner: str, app: str) -> None:
    """Undo grant_app (migration 0011's downgrade)."""
    owner, app = _name(owner), _name(app)
    for row in conn.execute(text(RELATIONS), {"owner": owner}).mappings():
        if row["mine"]:
            what = "SEQUENCE" if row["kind"] == "S" else "TABLE"
            conn.execute(text(f"REVOKE ALL ON {what} {row['name']} FROM {app}"))
    for row in conn.execute(text(FUNCTIONS), {"owner": owner}).mappings():
        if row["mine"]:
            conn.execute(text(f"REVOKE EXECUTE ON {_routine(row['kind'])} {row['name']} FROM {app}"))
    default = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public REVOKE"
    for rights, objects in (
        (TABLE_RIGHTS, "TABLES"),
        ("USAGE, SELECT", "SEQUENCES"),
        ("EXECUTE", "FUNCTIONS"),
    ):
        conn.execute(text(f"{default} {rights} ON {objects} FROM {app}"))
