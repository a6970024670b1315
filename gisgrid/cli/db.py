"""`gisgrid db …`: the project's own PostGIS cluster (or GISGRID_DATABASE_URL) and its schema."""

from __future__ import annotations

import json
import os
import shutil
from typing import Annotated, Any

import typer

from gisgrid.cli.common import admin_engine, cluster, console
from gisgrid.config import Settings
from gisgrid.db import migrate
from gisgrid.db.engine import drop_database, ensure_database

db_app = typer.Typer(
    help="The database: the project's own PostGIS cluster under var/, or GISGRID_DATABASE_URL."
)


@db_app.command("up")
def db_up(
    migrate_schema: Annotated[bool, typer.Option("--migrate/--no-migrate", help="apply migrations")] = True,
) -> None:
    """Start the database (initialising it on first use), create it with PostGIS and pgRouting, migrate."""
    settings = Settings()
    if settings.db.external:
        console.print("Using the external server of GISGRID_DATABASE_URL (no local cluster).")
    else:
        local = cluster(settings)
        started = local.up()
        console.print(
            f"PostGIS cluster {'started' if started else 'already running'}: "
            f"127.0.0.1:{local.port}, data in {local.data}"
        )
    if ensure_database(settings.db.admin_url()):
        console.print(f"Created database {settings.db.db_name} with postgis and pgrouting.")
    if migrate_schema:
        _migrate(settings)


def _migrate(settings: Settings) -> None:
    with admin_engine(settings) as eng:
        before = migrate.current_revision(eng)
        migrate.upgrade(eng, roles=(settings.db.db_owner_role, settings.db.db_app_role))
        after = migrate.current_revision(eng)
    console.print(f"Schema at revision {after}" + ("" if before == after else f" (was {before})") + ".")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the Alembic migrations up to the newest revision."""
    _migrate(Settings())


@db_app.command("down")
def db_down() -> None:
    """Stop the project's own cluster (data are kept)."""
    settings = Settings()
    if settings.db.external:
        console.print("GISGRID_DATABASE_URL is set: the external server is not ours to stop.")
        return
    stopped = cluster(settings).down()
    console.print("PostGIS cluster stopped." if stopped else "PostGIS cluster was not running.")


@db_app.command("status")
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show whether the database runs and answers; exit 3 when it does not."""
    settings = Settings()
    info: dict[str, Any] = {"external": settings.db.external}
    if not settings.db.external:
        info.update(cluster(settings).status())
    info.update(_probe(settings))
    if as_json:
        console.print_json(json.dumps(info, default=str))
    else:
        for key, value in info.items():
            console.print(f"{key:>16}: {value}")
    if not info.get("reachable"):
        raise typer.Exit(3)


def _probe(settings: Settings) -> dict[str, Any]:
    with admin_engine(settings) as eng:
        try:
            return {
                "reachable": True,
                "schema_revision": migrate.current_revision(eng),
                "schema_head": migrate.head_revision(),
            }
        except Exception as exc:  # noqa: BLE001 - status reports any failure to connect
            return {"reachable": False, "error": str(exc).splitlines()[0]}


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context) -> None:
    """Open psql on the database (extra arguments are passed on, e.g. -c 'SELECT 1')."""
    from sqlalchemy.engine import make_url

    url = make_url(Settings().db.admin_url())
    psql = shutil.which("psql") or "psql"
    args = [
        psql,
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        "-d",
        url.database or "postgres",
        *ctx.args,
    ]
    env = dict(os.environ, **({"PGPASSWORD": url.password} if url.password else {}))
    os.execvpe(psql, args, env)


@db_app.command("reset")
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
    i_know: Annotated[
        bool,
        typer.Option("--i-know", help="wipe a non-empty audit log even without a backup from the last hour"),
    ] = False,
) -> None:
    """Drop the database and create it again, empty, at the newest schema (refused while the audit log is not
    empty, unless a backup was taken in the last hour or --i-know)."""
    from gisgrid.db.backup import check_reset

    settings = Settings()
    admin = settings.db.admin_url()
    check_reset(admin, folder=settings.data.backup_dir, i_know=i_know)
    if not yes and not typer.confirm(f"Drop database {settings.db.url()} and all its data?"):
        raise typer.Exit(1)
    drop_database(admin)
    ensure_database(admin)
    _migrate(settings)
    console.print("Database reset.")
