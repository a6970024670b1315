"""`gisgrid coverage`: the 10-minute service circle's walking coverage (summary, building export, gaps)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gisgrid.cli.common import console, engine
from gisgrid.config import Settings

coverage_app = typer.Typer(help="Walking coverage of the service sites.", no_args_is_help=True)
THRESHOLD = typer.Option(help="500m, 10min, 10min@adult, gb5|gb10|gb15 (default GISGRID_COVERAGE_THRESHOLD)")


def _run(threshold: str | None, fn: Any) -> Any:
    from gisgrid.coverage import answers
    from gisgrid.db.engine import session_scope

    settings = Settings()
    with engine(settings) as eng, session_scope(eng) as session:
        cov = answers.run(
            session, threshold=threshold, settings=settings.coverage, srid=settings.geo.metric_srid
        )
        return fn(session, cov, settings)


def _default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@coverage_app.command("summary")
def summary_cmd(
    threshold: Annotated[str | None, THRESHOLD] = None,
    level: Annotated[str, typer.Option(help="subdistrict, community, general or micro")] = "community",
    worst: Annotated[int, typer.Option(help="worst-served compounds to list")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Households covered per grid unit, along the network and in a straight line."""
    from gisgrid.coverage import answers

    answer = _run(
        threshold, lambda s, c, st: answers.summary_answer(s, c, level=level, worst=worst, scope_codes=())
    )
    if as_json:
        console.print_json(json.dumps(answer, ensure_ascii=False, default=_default))
        return
    from rich.table import Table

    console.print(f"Threshold: {answer['threshold']['label']}")
    table = Table(
        "code",
        "name",
        "households",
        "covered (network)",
        "outpost",
        "community",
        "straight line",
        "uncovered",
        "unreachable",
    )
    for unit in [*answer["units"], answer["totals"]]:
        net, line = unit["network"], unit["straight_line"]
        table.add_row(
            unit["code"],
            unit["name"],
            str(unit["households"]),
            str(net["any"]["households"]),
            str(net["outpost"]["households"]),
            str(net["community"]["households"]),
            str(line["any"]["households"]),
            str(unit["uncovered_households"]),
            str(unit["unreachable_households"]),
        )
    console.print(table)
    for site in answer["flagged_sites"]:
        console.print(
            f"[yellow]site {site['id']} {site['name']}: {site['snap_m']} m from the network[/yellow]"
        )


@coverage_app.command("buildings")
def buildings_cmd(
    out: Annotated[Path, typer.Option("--out", help="FILE.csv or FILE.geojson")],
    threshold: Annotated[str | None, THRESHOLD] = None,
) -> None:
    """Export every building with its walking distances (CSV or GeoJSON by the file's extension)."""
    from gisgrid.coverage import answers

    answer = _run(threshold, lambda s, c, st: answers.buildings_answer(c, scope_codes=()))
    if out.suffix.lower() == ".csv":
        from gisgrid.coverage.export import to_csv

        out.write_text(to_csv(answer["buildings"]), encoding="utf-8")
    else:
        from gisgrid.coverage.export import to_geojson

        out.write_text(json.dumps(to_geojson(answer), ensure_ascii=False, default=_default), encoding="utf-8")
    console.print(f"{len(answer['buildings'])} buildings → {out} ({answer['threshold']['label']})")


@coverage_app.command("gaps")
def gaps_cmd(
    threshold: Annotated[str | None, THRESHOLD] = None,
    as_json: Annotated[bool, typer.Option("--json", help="GeoJSON output")] = False,
) -> None:
    """Uncovered buildings and the areas they form."""
    from gisgrid.coverage import answers

    answer = _run(
        threshold,
        lambda s, c, st: answers.gaps_answer(
            s, c, merge_m=st.coverage.coverage_buffer_m, srid=st.geo.metric_srid, scope_codes=()
        ),
    )
    if as_json:
        console.print_json(json.dumps(answer, ensure_ascii=False, default=_default))
        return
    console.print(f"Threshold: {answer['threshold']['label']}")
    for f in answer["buildings"]["features"]:
        p = f["properties"]
        console.print(
            f"{p['ext_id']} {p['compound_name']} {p['label']}: {p['households']} households, "
            f"walk {p['walk_any_m'] if p['walk_any_m'] is not None else 'unreachable'} m"
        )
    console.print(
        f"{len(answer['buildings']['features'])} uncovered buildings in "
        f"{len(answer['areas']['features'])} areas"
    )


@coverage_app.command("siting")
def siting_cmd(
    k: Annotated[int, typer.Option("--k", help="how many new outposts (1–50)")] = 3,
    threshold: Annotated[str | None, THRESHOLD] = None,
    against: Annotated[str, typer.Option(help="existing sites that cover: any or outpost")] = "any",
    candidates: Annotated[
        Path | None,
        typer.Option(
            help="GeoJSON FeatureCollection of candidate points (default: compounds without an outpost)"
        ),
    ] = None,
    crs: Annotated[str, typer.Option(help="of the candidate file: wgs84, cgcs2000, gcj02, bd09")] = "wgs84",
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Recommend k new outposts that newly cover the most households (maximal covering location)."""
    from gisgrid.coverage import answers
    from gisgrid.files.geojson import COLLECTION, read_json

    given = read_json(candidates, expected=COLLECTION) if candidates is not None else None
    answer = _run(
        threshold,
        lambda s, c, st: answers.siting_answer(
            s, c, k=k, against=against, candidates=given, crs=crs, srid=st.geo.metric_srid, scope_codes=()
        ),
    )
    if as_json:
        console.print_json(json.dumps(answer, ensure_ascii=False, default=_default))
        return
    from rich.table import Table

    console.print(
        f"Threshold: {answer['threshold']['label']}; against {answer['against']}; "
        f"{answer['candidates']} candidates; solver {answer['solver']['status']}"
    )
    table = Table("rank", "key", "name", "lon", "lat", "gain (hh)", "reach (hh)", "only here (hh)")
    for r in answer["recommendations"]:
        table.add_row(
            str(r["rank"]),
            r["key"],
            r["name"],
            f"{r['lon']:.6f}",
            f"{r['lat']:.6f}",
            str(r["gain_households"]),
            str(r["reach_households"]),
            str(r["only_here_households"]),
        )
    console.print(table)
    console.print(
        f"uncovered households {answer['uncovered_households_before']} → {answer['uncovered_households_after']} "
        f"(+{answer['newly_covered_households']} covered)"
    )


@coverage_app.command("what-if")
def what_if_cmd(
    close: Annotated[
        list[str] | None, typer.Option("--close", help="a site id that closes (repeatable)")
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            help='JSON file {"close": [id], "move": [{site, lon, lat}], "open": [{kind, name, lon, lat}]}'
        ),
    ] = None,
    threshold: Annotated[str | None, THRESHOLD] = None,
    level: Annotated[str, typer.Option(help="subdistrict, community, general or micro")] = "micro",
    crs: Annotated[
        str, typer.Option(help="of the scenario's points: wgs84, cgcs2000, gcj02, bd09")
    ] = "wgs84",
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Covered households per grid unit if sites close, move or open."""
    from gisgrid.coverage import answers
    from gisgrid.errors import InvalidInput
    from gisgrid.files.geojson import read_json

    body: Any = read_json(scenario, expected="a JSON object", kind="JSON") if scenario is not None else {}
    if not isinstance(body, dict):
        raise InvalidInput(
            "情景须为 JSON 对象 The scenario must be a JSON object.",
            field="scenario",
            value=str(scenario),
            expected='{"close": [...], "move": [...], "open": [...]}',
        )
    body = {**body, "close": [*(body.get("close") or []), *(close or [])]}
    answer = _run(
        threshold,
        lambda s, c, st: answers.what_if_answer(
            s, c, body, level=level, crs=crs, srid=st.geo.metric_srid, scope_codes=()
        ),
    )
    if as_json:
        console.print_json(json.dumps(answer, ensure_ascii=False, default=_default))
        return
    from rich.table import Table

    console.print(
        f"Threshold: {answer['threshold']['label']}; covered households {answer['covered_households_before']} → "
        f"{answer['covered_households_after']} ({answer['change']:+d})"
    )
    table = Table(
        "code", "name", "households", "covered before", "after", "Δ any", "Δ outpost", "Δ community"
    )
    for u in answer["units"]:
        table.add_row(
            u["code"],
            u["name"],
            str(u["households"]),
            str(u["covered_before"]),
            str(u["covered_after"]),
            f"{u['change']['any']:+d}",
            f"{u['change']['outpost']:+d}",
            f"{u['change']['community']:+d}",
        )
    console.print(table)


@coverage_app.command("report")
def report_cmd(
    out: Annotated[Path, typer.Option("--out", help="FILE.pdf or FILE.html")],
    threshold: Annotated[str | None, THRESHOLD] = None,
    community: Annotated[
        str | None, typer.Option(help="one community's code (default: the subdistrict)")
    ] = None,
) -> None:
    """Write the coverage-audit report (PDF or one HTML file, by the file's extension)."""
    from gisgrid.cli.common import progress_bar
    from gisgrid.coverage import report
    from gisgrid.db.engine import session_scope

    fmt = report.format_of(out)
    settings = Settings()
    with engine(settings) as eng, session_scope(eng) as session, progress_bar("报告 report") as step:
        data = report.build(
            session,
            threshold=threshold,
            settings=settings.coverage,
            srid=settings.geo.metric_srid,
            community=community,
            progress=step,
        )
        step("写出文件 writing the file", 5, 6)
        size = report.write(out, data, fmt)
        step("完成 done", 6, 6)
    totals = data["totals"]
    console.print(
        f"{out} ({size:,} bytes): {data['scope_name']}, {data['threshold']['label']}; covered "
        f"{totals['network']['any']['households']:,} of {totals['households']:,} households"
    )
