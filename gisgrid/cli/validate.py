"""`gisgrid validate`: the grid topology rules."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from gisgrid.cli.common import console, engine
from gisgrid.config import Settings


def validate_cmd(
    sliver_m2: Annotated[
        float | None, typer.Option(help="sliver tolerance in m² (default GISGRID_SLIVER_M2)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Check the grid topology rules; exit 1 when there are errors."""
    from gisgrid.db.engine import session_scope
    from gisgrid.grids.topology import validate

    settings = Settings()
    rules = (
        settings.grid_rules
        if sliver_m2 is None
        else settings.grid_rules.model_copy(update={"sliver_m2": sliver_m2})
    )
    with engine(settings) as eng, session_scope(eng) as session:
        report = validate(session, rules=rules, srid=settings.geo.metric_srid)
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report, sliver_m2=rules.sliver_m2)
    if report["errors"]:
        raise typer.Exit(1)


def _print_report(report: dict[str, Any], *, sliver_m2: float) -> None:
    from rich.table import Table

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
        f"{report['errors']} error(s), {report['warnings']} warning(s) (sliver tolerance {sliver_m2} m²)."
    )
