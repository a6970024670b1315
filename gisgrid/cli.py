"""The `gisgrid` command: database, demo data, import, serve."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gisgrid.config import Settings
from gisgrid.db import migrate
from gisgrid.db.cluster import LocalCluster
from gisgrid.db.engine import drop_database, ensure_database, make_engine
from gisgrid.errors import GisGridError
from gisgrid.incidents.cli import incidents_app
from gisgrid.jobs.cli import app as jobs_app

app = typer.Typer(help="gisgrid — 微网实格 grid management on PostGIS.", no_args_is_help=True)
db_app = typer.Typer(
    help="The database: the project's own PostGIS cluster under var/, or GISGRID_DATABASE_URL."
)
demo_app = typer.Typer(help="The demo data set (data/geo/) and its generator.")
users_app = typer.Typer(help="Accounts: roles, scopes, passwords, API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(incidents_app, name="incidents")
app.add_typer(jobs_app, name="jobs")
console = Console()
err = Console(stderr=True)


def main() -> None:
    """Entry point: domain errors become a clear message and exit code 2, never a traceback."""
    try:
        app()
    except GisGridError as exc:
        err.print(f"[bold red]错误 Error:[/] {exc.message}")
        if exc.expected:
            err.print(f"[yellow]应为 Expected:[/] {exc.expected}")
        for key, value in exc.details.items():
            if key != "problems":
                err.print(f"  {key}: {value}")
        sys.exit(2)


def _cluster(settings: Settings) -> LocalCluster:
    return LocalCluster(root=settings.db.db_cluster_dir, port=settings.db.db_port)


@contextmanager
def progress_bar(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar driven by progress(stage, done, total) callbacks."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(title, total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{title}: {stage}", completed=done, total=total)

        yield update


# -- db --------------------------------------------------------------------------------------------
@db_app.command("up")
def db_up(
    migrate_schema: Annotated[bool, typer.Option("--migrate/--no-migrate", help="apply migrations")] = True,
) -> None:
    """Start the database (initialising it on first use), create it with PostGIS and pgRouting, migrate."""
    settings = Settings()
    if settings.db.database_url:
        console.print("Using the external server of GISGRID_DATABASE_URL (no local cluster).")
    else:
        cluster = _cluster(settings)
        started = cluster.up()
        console.print(
            f"PostGIS cluster {'started' if started else 'already running'}: "
            f"127.0.0.1:{cluster.port}, data in {cluster.data}"
        )
    if ensure_database(settings.db.url()):
        console.print(f"Created database {settings.db.db_name} with postgis and pgrouting.")
    if migrate_schema:
        _migrate(settings)


def _migrate(settings: Settings) -> None:
    engine = make_engine(settings.db.url(), pool_size=1)
    try:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
    finally:
        engine.dispose()
    console.print(f"Schema at revision {after}" + ("" if before == after else f" (was {before})") + ".")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the Alembic migrations up to the newest revision."""
    _migrate(Settings())


@db_app.command("down")
def db_down() -> None:
    """Stop the project's own cluster (data are kept)."""
    settings = Settings()
    if settings.db.database_url:
        console.print("GISGRID_DATABASE_URL is set: the external server is not ours to stop.")
        return
    stopped = _cluster(settings).down()
    console.print("PostGIS cluster stopped." if stopped else "PostGIS cluster was not running.")


@db_app.command("status")
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show whether the database runs and answers; exit 3 when it does not."""
    settings = Settings()
    info: dict[str, Any] = {"external": bool(settings.db.database_url)}
    if not settings.db.database_url:
        info.update(_cluster(settings).status())
    info.update(_probe(settings))
    if as_json:
        console.print_json(json.dumps(info, default=str))
    else:
        for key, value in info.items():
            console.print(f"{key:>16}: {value}")
    if not info.get("reachable"):
        raise typer.Exit(3)


def _probe(settings: Settings) -> dict[str, Any]:
    engine = make_engine(settings.db.url(), pool_size=1)
    try:
        return {
            "reachable": True,
            "schema_revision": migrate.current_revision(engine),
            "schema_head": migrate.head_revision(),
        }
    except Exception as exc:  # noqa: BLE001 - status reports any failure to connect
        return {"reachable": False, "error": str(exc).splitlines()[0]}
    finally:
        engine.dispose()


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context) -> None:
    """Open psql on the database (extra arguments are passed on, e.g. -c 'SELECT 1')."""
    from sqlalchemy.engine import make_url

    url = make_url(Settings().db.url())
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
def db_reset(yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False) -> None:
    """Drop the database and create it again, empty, at the newest schema."""
    settings = Settings()
    if not yes and not typer.confirm(f"Drop database {settings.db.url()} and all its data?"):
        raise typer.Exit(1)
    drop_database(settings.db.url())
    ensure_database(settings.db.url())
    _migrate(settings)
    console.print("Database reset.")


# -- demo ------------------------------------------------------------------------------------------
@demo_app.command("load")
def demo_load(
    folder: Annotated[Path | None, typer.Option(help="data set folder (default: GISGRID_DEMO_DIR)")] = None,
    force: Annotated[bool, typer.Option("--force", help="reload even if unchanged")] = False,
    incidents: Annotated[
        bool, typer.Option("--incidents/--no-incidents", help="add demo incidents unless there are some")
    ] = True,
) -> None:
    """Load the demo data set, replacing all layers (skipped when the same files are already loaded); add the
    demo accounts and, once, demo incidents in every workflow stage."""
    from gisgrid.io.importer import load_dataset

    settings = Settings()
    engine = make_engine(settings.db.url(), pool_size=1)
    try:
        with progress_bar("载入演示数据 Loading demo data") as update:
            result = load_dataset(
                engine, folder=folder or settings.data.demo_dir, if_changed=not force, progress=update
            )
    finally:
        engine.dispose()
    state = "loaded" if result.loaded else "already loaded (unchanged)"
    console.print(f"Demo data {state}: " + ", ".join(f"{k} {v}" for k, v in result.counts.items()))
    _demo_accounts(settings)
    if incidents:
        _demo_incidents(settings)


def _demo_incidents(settings: Settings) -> None:
    from datetime import UTC, datetime

    from gisgrid.db.engine import session_scope
    from gisgrid.incidents import demo

    engine = make_engine(settings.db.url(), pool_size=1)
    try:
        with session_scope(engine) as session:
            made = demo.ensure(session, now=datetime.now(UTC))
    finally:
        engine.dispose()
    if made is None:
        console.print("演示事件 Demo incidents: already there (kept)")
    else:
        console.print(
            f"演示事件 Demo incidents: {made} created (new, yellow, red, dispatched … closed, rejected)"
        )


def _demo_accounts(settings: Settings) -> None:
    from gisgrid.auth.demo import ensure_demo_accounts
    from gisgrid.db.engine import session_scope

    engine = make_engine(settings.db.url(), pool_size=1)
    try:
        with session_scope(engine) as session:
            accounts = ensure_demo_accounts(session)
    finally:
        engine.dispose()
    console.print("演示账户 Demo log-ins (user / password / role):")
    for username, role, password in accounts:
        console.print(f"  {username:<12} {password:<16} {role}")


@demo_app.command("generate")
def demo_generate(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("data/geo"),
    seed: Annotated[int, typer.Option(help="random seed (same seed, same files)")] = 7,
    scale: Annotated[str, typer.Option(help="niushikou (the demo) or city (benchmark scale)")] = "niushikou",
    subdistricts: Annotated[int | None, typer.Option(help="city scale: number of subdistricts")] = None,
) -> None:
    """Generate a synthetic data set deterministically."""
    from gisgrid.demo import generate

    with progress_bar("生成数据 Generating") as update:
        counts = generate(seed=seed, scale=scale, out_dir=out, subdistricts=subdistricts, progress=update)
    console.print(f"Wrote {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


# -- import ----------------------------------------------------------------------------------------
@app.command("import")
def import_cmd(
    layer: Annotated[
        str,
        typer.Argument(
            help="grids, special_grids, compounds, buildings, sites, rivers, "
            "bank_segments, walk_edges, workers (CSV only)"
        ),
    ],
    file: Annotated[
        Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile (.shp or a .zip of one) or CSV")
    ],
    crs: Annotated[
        str | None,
        typer.Option(
            help="coordinate system of the file; needed when it has none (CSV, .shp without .prj), "
            "overrides the file's: wgs84, cgcs2000, gcj02, bd09 or an EPSG code such as EPSG:4544"
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="geojson, gpkg, shp or csv (default: from the file's extension)"),
    ] = None,
    make_valid: Annotated[bool, typer.Option("--make-valid", help="repair invalid polygons")] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="replace the layer's current contents (grids: a new generation)")
    ] = False,
) -> None:
    """Import a layer file: all features or none; every problem names the feature and the field."""
    from gisgrid.io.importer import import_layer
    from gisgrid.io.records import ImportRejected

    engine = make_engine(Settings().db.url(), pool_size=1)
    try:
        with progress_bar(f"导入 Importing {layer}") as update:
            result = import_layer(
                engine,
                layer=layer,
                path=file,
                crs=crs,
                make_valid=make_valid,
                replace=replace,
                fmt=fmt,
                progress=update,
            )
    except ImportRejected as exc:
        from rich.table import Table

        table = Table("feature #", "key", "field", "problem", title=exc.headline, title_justify="left")
        for p in exc.problems[:100]:
            table.add_row(str(p.index) if p.index >= 0 else "(existing)", p.key or "", p.field, p.message)
        err.print(table)
        more = " (the first 100 are shown)" if len(exc.problems) > 100 else ""
        err.print(f"[bold red]错误 Error:[/] {len(exc.problems)} problem(s){more}; nothing was imported.")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(result.summary())


@app.command("export")
def export_cmd(
    layer: Annotated[str, typer.Argument(help="a layer name, as for import")],
    file: Annotated[
        Path, typer.Argument(help="output: .geojson, .gpkg, .shp, .zip (a zipped Shapefile) or .csv")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="geojson, gpkg, shp or csv (default: from the file's extension)"),
    ] = None,
) -> None:
    """Export a layer (grids: the current generation) in WGS 84, with exactly the fields import reads."""
    from gisgrid.io.export import export_layer

    engine = make_engine(Settings().db.url(), pool_size=1)
    try:
        with progress_bar(f"导出 Exporting {layer}") as update:
            n = export_layer(engine, layer=layer, path=file, fmt=fmt, progress=update)
    finally:
        engine.dispose()
    console.print(f"Exported {n} feature(s) of {layer} to {file}.")


# -- validate --------------------------------------------------------------------------------------
@app.command("validate")
def validate_cmd(
    sliver_m2: Annotated[
        float | None, typer.Option(help="sliver tolerance in m² (default GISGRID_SLIVER_M2)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Check the grid topology rules; exit 1 when there are errors."""
    from rich.table import Table

    from gisgrid.db.engine import session_scope
    from gisgrid.grids.topology import validate

    settings = Settings()
    rules = (
        settings.grid_rules
        if sliver_m2 is None
        else settings.grid_rules.model_copy(update={"sliver_m2": sliver_m2})
    )
    engine = make_engine(settings.db.url(), pool_size=1)
    try:
        with session_scope(engine) as session:
            report = validate(session, rules=rules, srid=settings.geo.metric_srid)
    finally:
        engine.dispose()
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False))
    else:
        table = Table("severity", "rule", "code", "other", "area m²", "detail", "lon, lat")
        for issue in report["issues"][:200]:
            loc = issue["location"]["coordinates"] if issue["location"] else ["", ""]
            table.add_row(
                issue["severity"],
                issue["title"],
                issue["code"],
                issue["other"] or "",
                "" if issue["area_m2"] is None else f"{issue['area_m2']:.2f}",
                issue["detail"] or "",
                f"{loc[0]:.6f}, {loc[1]:.6f}" if loc[0] != "" else "",
            )
        if report["issues"]:
            console.print(table)
        console.print(
            f"{report['errors']} error(s), {report['warnings']} warning(s) "
            f"(sliver tolerance {rules.sliver_m2} m²)."
        )
    if report["errors"]:
        raise typer.Exit(1)


# -- locate ----------------------------------------------------------------------------------------
@app.command("locate")
def locate_cmd(
    lon: Annotated[float, typer.Argument(help="longitude in --crs")],
    lat: Annotated[float, typer.Argument(help="latitude in --crs")],
    crs: Annotated[
        str, typer.Option(help="wgs84, cgcs2000, gcj02 (phone map apps) or bd09 (Baidu); required")
    ],
    accuracy: Annotated[float | None, typer.Option(help="accuracy radius in metres")] = None,
    at: Annotated[str | None, typer.Option(help="ISO time: the grid generation in force then")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Locate a point: micro-grid, path, workers, compound and the nearest sites by walking distance."""
    from datetime import datetime

    from gisgrid.errors import InvalidInput
    from gisgrid.incidents.locate import locate

    try:
        when = datetime.fromisoformat(at) if at else None
    except ValueError as exc:
        raise InvalidInput(
            f"--at {at!r} is not an ISO time.",
            field="at",
            value=at,
            expected="e.g. 2024-05-01T09:30:00+08:00",
        ) from exc
    settings = Settings()
    with _session() as session:
        answer = locate(
            session,
            lon=lon,
            lat=lat,
            crs=crs,
            at=when,
            accuracy_m=settings.incidents.locate_accuracy_m if accuracy is None else accuracy,
        )
    if as_json:
        console.print_json(json.dumps(answer, ensure_ascii=False))
        return
    w = answer["wgs84"]
    console.print(
        f"WGS 84: {w['lon']}, {w['lat']} (shifted {w['shift_m']} m from the {answer['input']['crs']} input)"
    )
    console.print(" → ".join(f"{p['name']} ({p['code']})" for p in answer["path"]))
    if answer["ambiguous"]:
        others = ", ".join(
            c["code"] for c in answer["candidates"] if c["code"] != answer["micro_grid"]["code"]
        )
        console.print(f"[yellow]Ambiguous[/]: within {answer['accuracy_m']} m of {others}")
    for worker in answer["workers"]:
        console.print(f"  {worker['title']}: {worker['name']} {worker.get('phone') or ''}")
    if answer["compound"]:
        building = f" {answer['building']['label']}" if answer["building"] else ""
        console.print(f"小区 Compound: {answer['compound']['name']}{building}")
    for site in answer["nearest_sites"]:
        console.print(
            f"  {site['rank']}. {site['name']} — walk {site['walk_m']} m (straight {site['straight_m']} m)"
        )


# -- users -----------------------------------------------------------------------------------------
@contextmanager
def _session() -> Iterator[Any]:
    from gisgrid.db.engine import session_scope

    engine = make_engine(Settings().db.url(), pool_size=1)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def _password(password: str | None) -> str:
    return password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, planner, dispatcher, auditor, grid_worker, patrol")],
    password: Annotated[str | None, typer.Option(help="asked for when not given")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="community code (repeatable); none = all")] = None,
) -> None:
    """Create an account."""
    from gisgrid.auth import accounts

    with _session() as session:
        accounts.create_user(
            session,
            username=username,
            password=_password(password),
            role=role,
            display_name=name,
            scope=scope or [],
        )
    console.print(f"Created {username} ({role}).")


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List accounts."""
    from rich.table import Table

    from gisgrid.auth import accounts

    with _session() as session:
        rows = accounts.list_users(session)
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("user", "name", "role", "scope", "disabled", "locked", "last log-in", "demo")
    for r in rows:
        table.add_row(
            *(
                str(r[k])
                for k in (
                    "username",
                    "display_name",
                    "role",
                    "scope",
                    "disabled",
                    "locked",
                    "last_login_at",
                    "demo",
                )
            )
        )
    console.print(table)


@users_app.command("disable")
def users_disable(
    username: str, enable: Annotated[bool, typer.Option("--enable", help="enable again")] = False
) -> None:
    """Disable an account (ending its sessions and tokens), or enable it again."""
    from gisgrid.auth import accounts

    with _session() as session:
        accounts.set_disabled(session, username=username, disabled=not enable)
    console.print(f"{username} {'enabled' if enable else 'disabled'}.")


@users_app.command("set-password")
def users_set_password(
    username: str, password: Annotated[str | None, typer.Option(help="asked for when not given")] = None
) -> None:
    """Set a new password (ends the account's web sessions, clears a lock-out)."""
    from gisgrid.auth import accounts

    with _session() as session:
        accounts.set_password(session, username=username, password=_password(password))
    console.print(f"Password of {username} changed.")


@users_app.command("token")
def users_token(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    days: Annotated[int, typer.Option(help="lifetime in days", min=1, max=366)] = 90,
) -> None:
    """Create an API bearer token for an account and print it (shown once)."""
    from datetime import timedelta

    from gisgrid.auth import accounts

    settings = Settings()
    with _session() as session:
        user = accounts.get_user(session, username)
        issued = accounts.issue(
            session,
            user=user,
            kind="token",
            secret=accounts.load_secret(settings.auth.secret_key_file),
            ttl=timedelta(days=days),
            name=name,
        )
    console.print(issued.token, soft_wrap=True)


@app.command("audit")
def audit_cmd(
    actor: Annotated[str | None, typer.Option(help="user name")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. update, login_failed, import")] = None,
    entity: Annotated[str | None, typer.Option(help="e.g. grid_unit, user")] = None,
    key: Annotated[str | None, typer.Option(help="e.g. a grid code")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the audit trail, newest first."""
    from rich.table import Table

    from gisgrid.auth import audit

    with _session() as session:
        rows, _ = audit.query(session, actor=actor, action=action, entity=entity, key=key, limit=limit)
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False, default=str))
        return
    table = Table("at", "actor", "role", "ip", "action", "entity", "key", "before", "after")
    for r in rows:
        table.add_row(
            r["at"][:19],
            r["actor"] or "",
            r["role"] or "",
            r["ip"] or "",
            r["action"],
            r["entity"],
            r["key"] or "",
            json.dumps(r["before"], ensure_ascii=False) if r["before"] else "",
            json.dumps(r["after"], ensure_ascii=False) if r["after"] else "",
        )
    console.print(table)


# -- serve -----------------------------------------------------------------------------------------
@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="listen address (default GISGRID_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default GISGRID_PORT)")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="allow accounts that still have demo passwords")
    ] = False,
) -> None:
    """Serve the API and the web pages (refuses demo passwords unless --demo)."""
    import uvicorn

    from api.app import create_app
    from gisgrid.auth.demo import accounts_with_demo_passwords

    settings = Settings()
    with _session() as session:
        weak = accounts_with_demo_passwords(session)
    if weak and not demo:
        raise GisGridError(
            f"Accounts still have their demo passwords: {', '.join(weak)}.",
            expected="change them (gisgrid users set-password USER) or disable them, or start with --demo",
        )
    host, port = host or settings.server.host, port or settings.server.port
    console.print(f"gisgrid at [bold]http://{host}:{port}[/]  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


if __name__ == "__main__":
    main()
