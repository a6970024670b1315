"""Operations commands: `backup`, `restore` and `db standby up|down|status|promote` (a typer app the `gisgrid`
command registers; the work is done in gisgrid.db.backup, gisgrid.db.wal and gisgrid.db.standby)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gisgrid.config import Settings
from gisgrid.db import backup as logical
from gisgrid.db import wal
from gisgrid.db.cluster import LocalCluster
from gisgrid.db.standby import Standby
from gisgrid.errors import ClusterError, InvalidInput

app = typer.Typer(help="Backups, restores and the hot standby.", no_args_is_help=True)
standby_app = typer.Typer(
    help="The hot standby: a second local cluster fed by streaming replication.", no_args_is_help=True
)
app.add_typer(standby_app, name="standby")
console = Console(highlight=False)


def _say(text: str) -> None:
    console.print(text, markup=False)


def _local_cluster(settings: Settings) -> LocalCluster:
    if settings.db.external:
        raise ClusterError(
            "GISGRID_DATABASE_URL is set: base backups and point-in-time restores are for the project's own "
            "cluster only (use your server's own tools, or the logical `gisgrid backup`).",
            field="GISGRID_DATABASE_URL",
            expected="unset it to use the project's own cluster",
        )
    return LocalCluster.from_settings(settings.db)


@app.command("backup")
def backup_cmd(
    base: Annotated[
        bool, typer.Option("--base", help="a physical base backup (pg_basebackup) for point-in-time restore")
    ] = False,
    folder: Annotated[Path | None, typer.Option(help="where to write (default: the setting)")] = None,
) -> None:
    """Back up the database: a logical dump with a manifest, or (--base) a base backup of the local cluster."""
    settings = Settings()
    if base:
        cluster = _local_cluster(settings)
        target = folder or settings.db.db_base_backup_dir
        info = wal.base_backup(cluster, folder=target, keep=settings.db.db_base_backups_keep)
        _say(
            f"基础备份 Base backup {target / info.folder}: {info.bytes / 1e6:.1f} MB, WAL from {info.start_wal}; "
            f"restorable to any time after {info.finished_at} (keeping the newest "
            f"{settings.db.db_base_backups_keep})."
        )
        return
    dump, manifest = logical.backup(settings.db.admin_url(), folder=folder or settings.data.backup_dir)
    rows = sum(t.rows for t in manifest.tables.values())
    _say(
        f"备份 Backup {dump}: {len(manifest.tables)} tables, {rows} rows (manifest {dump.with_suffix('.json')})."
    )


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"无法识别的时间 Cannot read the time {value!r}.",
            field="--to-time",
            value=value,
            expected='a time with its offset, e.g. "2026-11-28 10:00:00+08"',
        ) from exc
    return parsed


@app.command("restore")
def restore_cmd(
    dump: Annotated[Path | None, typer.Argument(help="a .dump of `gisgrid backup` (logical restore)")] = None,
    to_time: Annotated[
        str | None,
        typer.Option(
            "--to-time", help='point-in-time restore of the local cluster, e.g. "2026-11-28 10:00:00+08"'
        ),
    ] = None,
    latest: Annotated[
        bool, typer.Option("--latest", help="point-in-time restore to the last archived transaction")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
) -> None:
    """Restore: a logical dump into the database, or the local cluster to a time (--to-time) or --latest."""
    chosen = sum([dump is not None, to_time is not None, latest])
    if chosen != 1:
        raise InvalidInput(
            "请选择一种还原 Choose one kind of restore.",
            field="restore",
            value=" ".join(x for x in (str(dump or ""), to_time or "", "--latest" if latest else "") if x)
            or "none",
            expected="a .dump file, or --to-time TIME, or --latest",
        )
    settings = Settings()
    if dump is not None:
        if not yes and not typer.confirm(f"Replace database {settings.db.db_name} with {dump.name}?"):
            raise typer.Exit(1)
        report = logical.restore(
            settings.db.admin_url(), dump=dump, roles=(settings.db.db_owner_role, settings.db.db_app_role)
        )
        for name, (saved, now) in report.differences.items():
            _say(f"  差异 difference in {name}: backup {saved}, restored {now}")
        _say(
            f"还原 Restored {dump.name}: {len(report.tables)} tables"
            + (", every table matches the manifest." if report.ok else ", NOT matching the manifest (above).")
        )
        if not report.ok:
            raise typer.Exit(1)
        return
    cluster = _local_cluster(settings)
    target = _parse_time(to_time) if to_time is not None else None
    what = f"to {target.isoformat(sep=' ')}" if target else "to the latest archived transaction"
    if not yes and not typer.confirm(
        f"Stop the cluster and rebuild {cluster.data} {what}? (the current data folder is kept aside)"
    ):
        raise typer.Exit(1)
    result = wal.restore(cluster, folder=settings.db.db_base_backup_dir, to_time=target)
    _say(f"还原 Restored {what} from base backup {result.base_backup}; now on timeline {result.timeline}.")
    if result.old_data:
        _say(
            f"旧数据 The previous data folder is kept at {result.old_data}: delete it once you are satisfied."
        )
    _say(
        "Take a new base backup (`gisgrid backup --base`); a standby must be re-created (`db standby down --remove`, `up`)."
    )


# -- standby -------------------------------------------------------------------------------------------
@standby_app.command("up")
def standby_up(
    sync: Annotated[
        bool,
        typer.Option("--sync/--async", help="commits wait for the standby (default) or not"),
    ] = True,
) -> None:
    """Create (pg_basebackup -R) and start the standby; wait until it streams."""
    pair = Standby.from_settings(Settings().db)
    created = pair.up(sync=sync)
    _say(
        f"备用库 Standby {'created and ' if created else ''}streaming on 127.0.0.1:{pair.standby.port} "
        f"({'synchronous: a commit is acknowledged once the standby has it' if sync else 'asynchronous'}); "
        f"data in {pair.standby.data}."
    )


@standby_app.command("down")
def standby_down(
    remove: Annotated[
        bool, typer.Option("--remove", help="also delete its copy and replication slot")
    ] = False,
) -> None:
    """Stop the standby; the primary stops waiting for it first."""
    stopped = Standby.from_settings(Settings().db).down(remove=remove)
    _say(("Standby stopped" if stopped else "Standby was not running") + (" and removed." if remove else "."))


@standby_app.command("status")
def standby_status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show primary, standby and replication state."""
    info = Standby.from_settings(Settings().db).status()
    if as_json:
        console.print_json(json.dumps(info, default=str))
        return
    for key, value in info.items():
        _say(f"{key:>26}: {value}")


@standby_app.command("promote")
def standby_promote(yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False) -> None:
    """Make the standby the primary (a running primary is stopped first and will not start again)."""
    pair = Standby.from_settings(Settings().db)
    if not yes and not typer.confirm(
        f"Promote the standby on port {pair.standby.port}? The primary on port {pair.primary.port} is stopped "
        "and will refuse to start again."
    ):
        raise typer.Exit(1)
    pair.promote()
    _say(
        f"已切换 Promoted: the primary is now 127.0.0.1:{pair.standby.port} ({pair.standby.data}). The app "
        "follows through its URL list; make it the configured primary: "
        f"GISGRID_DB_PORT={pair.standby.port} GISGRID_DB_CLUSTER_DIR={pair.standby.root}, then set up a new standby."
    )
