"""`gisgrid locate`: the grid answer for one point, as the dispatch centre gets it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.text import Text

from gisgrid.cli.common import console, iso_time, session
from gisgrid.config import Settings


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
    from gisgrid.grids.locate import locate

    when = iso_time(at or None, option="--at", field="at")
    settings = Settings()
    with session() as sess:
        answer = locate(
            sess,
            lon=lon,
            lat=lat,
            crs=crs,
            at=when,
            accuracy_m=settings.incidents.locate_accuracy_m if accuracy is None else accuracy,
        )
    if as_json:
        console.print_json(json.dumps(answer, ensure_ascii=False))
        return
    _print_answer(answer)


def _print_answer(answer: dict[str, Any]) -> None:
    w = answer["wgs84"]
    console.print(
        f"WGS 84: {w['lon']}, {w['lat']} (shifted {w['shift_m']} m from the {answer['input']['crs']} input)"
    )
    console.print(" → ".join(f"{p['name']} ({p['code']})" for p in answer["path"]))
    if answer["ambiguous"]:
        others = ", ".join(
            c["code"] for c in answer["candidates"] if c["code"] != answer["micro_grid"]["code"]
        )
        console.print(
            Text.assemble(("Ambiguous", "yellow"), f": within {answer['accuracy_m']} m of {others}")
        )
    for worker in answer["workers"]:
        console.print(f"  {worker['title']}: {worker['name']} {worker.get('phone') or ''}")
    if answer["compound"]:
        building = f" {answer['building']['label']}" if answer["building"] else ""
        console.print(f"小区 Compound: {answer['compound']['name']}{building}")
    for site in answer["nearest_sites"]:
        console.print(
            f"  {site['rank']}. {site['name']} — walk {site['walk_m']} m (straight {site['straight_m']} m)"
        )
