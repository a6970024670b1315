"""`gisgrid incidents …`: list, show, statistics and the 12345-hotline bulk import (the whole subdistrict's
view)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from gisgrid.cli.common import console, iso_time, print_json, progress_bar, session

incidents_app = typer.Typer(help="事件 Incidents: list, show, statistics, bulk import.", no_args_is_help=True)
COLOUR_STYLE = {"green": "green", "yellow": "yellow", "red": "bold red", "none": "dim"}


@incidents_app.command("list")
def list_cmd(
    status: Annotated[list[str] | None, typer.Option(help="status (repeatable), e.g. reported")] = None,
    category: Annotated[str | None, typer.Option(help="category code (with subcategories)")] = None,
    grid: Annotated[str | None, typer.Option(help="community/general/micro-grid code prefix")] = None,
    overdue: Annotated[str | None, typer.Option(help="yes (red), yellow or no")] = None,
    q: Annotated[str | None, typer.Option(help="text in the title")] = None,
    since: Annotated[str | None, typer.Option("--from", help="reported at or after (ISO time)")] = None,
    until: Annotated[str | None, typer.Option("--to", help="reported before (ISO time)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List incidents, newest first, with their deadline colour."""
    from gisgrid.incidents.queries import Filters, list_incidents

    filters = Filters(
        status=tuple(status or ()),
        category=category,
        grid=grid,
        overdue=overdue,
        q=q,
        since=iso_time(since, option="--from"),
        until=iso_time(until, option="--to"),
    )
    with session() as sess:
        page = list_incidents(sess, principal=None, filters=filters, limit=limit, now=datetime.now(UTC))
    if as_json:
        print_json(page)
        return
    table = Table("id", "reported", "status", "level", "category", "micro-grid", "due", "title")
    for item in page["items"]:
        step = item["step"]
        due = (step["due_at"] or "")[:16]
        table.add_row(
            str(item["id"]),
            item["reported_at"][:16],
            item["status_label"],
            item["level"],
            item["category"]["name"],
            item["grid"]["micro_code"] or "",
            Text(due or "—", style=COLOUR_STYLE[step["colour"]]),
            item["title"],
        )
    console.print(table)
    console.print(f"{len(page['items'])} of {page['total']} incident(s).")


@incidents_app.command("show")
def show_cmd(
    incident_id: Annotated[int, typer.Argument(help="incident id", min=1)],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show one incident with its timeline."""
    from gisgrid.incidents.queries import detail

    with session() as sess:
        item = detail(sess, incident_id=incident_id, principal=None, now=datetime.now(UTC))
    if as_json:
        print_json(item)
        return
    step = item["step"]
    console.print(
        Text.assemble(
            (f"#{item['id']} {item['title']}", "bold"),
            f"  ({item['category']['name']} {item['category']['code']})",
        )
    )
    console.print(f"状态 Status: {item['status_label']}, level {item['level']}, version {item['version']}")
    colour = Text(str(step["colour"]), style=COLOUR_STYLE[step["colour"]])
    console.print(
        Text.assemble(f"步骤 Step: {step['name'] or '—'}, due {step['due_at'] or '—'} (", colour, ")")
    )
    grid = item["grid"]
    console.print(
        f"网格 Grid: {grid['micro_name'] or ''} {grid['micro_code']} (community {grid['community_code']})"
    )
    loc = item["location"]
    console.print(f"位置 WGS 84: {loc['lon']}, {loc['lat']}  ({item['address'] or ''})")
    table = Table("at", "actor", "role", "action", "from → to", "comment", "attachments")
    for event in item["timeline"]:
        table.add_row(
            event["at"][:19],
            event["actor"] or "",
            event["role"] or "",
            event["label"],
            f"{event['from_status'] or ''} → {event['to_status'] or ''}",
            event["comment"] or "",
            ", ".join(event["attachments"]),
        )
    console.print(table)


@incidents_app.command("stats")
def stats_cmd(
    by: Annotated[
        str, typer.Option(help="community, general, micro, category, or a period: day, week, month")
    ] = "community",
    since: Annotated[str | None, typer.Option("--from", help="reported at or after (ISO time)")] = None,
    until: Annotated[str | None, typer.Option("--to", help="reported before (ISO time)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Counts, median minutes to dispatch and to close, overdue share per group."""
    from gisgrid.incidents.stats import stats

    with session() as sess:
        report = stats(
            sess,
            by=by,
            since=iso_time(since, option="--from"),
            until=iso_time(until, option="--to"),
            principal=None,
            now=datetime.now(UTC),
        )
    if as_json:
        print_json(report)
        return
    table = Table(
        by,
        "name",
        "total",
        "open",
        "closed",
        "rejected",
        "median min to dispatch",
        "median min to close",
        "overdue share",
    )
    for row in [*report["groups"], report["all"]]:
        table.add_row(
            row["key"] or "",
            row["name"] or "",
            *(str(row[k]) for k in ("total", "open", "closed", "rejected")),
            *(
                "—" if row[k] is None else f"{row[k]:.1f}"
                for k in ("median_dispatch_min", "median_close_min")
            ),
            "—" if row["overdue_share"] is None else f"{row['overdue_share']:.1%}",
        )
    console.print(table)


@incidents_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="a 12345-hotline export: CSV, XLSX or GeoJSON")],
    crs: Annotated[
        str | None,
        typer.Option(
            help="coordinate system of the lon/lat columns: wgs84, cgcs2000, gcj02 (Amap/Tencent), bd09 (Baidu) "
            "or an EPSG code; required for CSV and XLSX, overrides GeoJSON's own (WGS 84). Never guessed."
        ),
    ] = None,
    errors: Annotated[
        Path | None, typer.Option("--errors", help="error file (default: <name>.errors.csv next to FILE)")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, xlsx or geojson (default: from the extension)")
    ] = None,
) -> None:
    """Bulk-import 12345-hotline incidents: good rows are assigned to the micro-grid in force at their report
    time and imported in one transaction; bad rows go to an error file; ext_ids imported before are skipped."""
    from gisgrid.incidents.bulk_import import default_errors_path, import_incidents, write_errors

    with progress_bar("导入事件 Importing incidents") as update, session() as sess:
        result = import_incidents(sess, path=file, crs=crs, fmt=fmt, progress=update)
    done = result.summary()
    console.print(
        f"{file.name}: {done['rows']} 行 rows — 导入 imported {done['imported']}, "
        f"跳过 skipped {done['skipped']} (already imported), 错误 errors {done['errors']}."
    )
    if done["errors"]:
        path = write_errors(result, errors or default_errors_path(file))
        console.print(
            Text.assemble(
                ("错误行已写入 Error rows written to", "yellow"), f" {path} (UTF-8 with BOM, opens in Excel)."
            )
        )
