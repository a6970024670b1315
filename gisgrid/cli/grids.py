"""`gisgrid grids generations`: the grid generations (imports, the demo load, edits), newest first."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from gisgrid.cli.common import console, print_json, session

grids_app = typer.Typer(help="Grid history: generations of saved grid changes.", no_args_is_help=True)


@grids_app.command("generations")
def generations_cmd(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List grid generations (imports, the demo load, edits), newest first: who, when, why, counts."""
    from gisgrid.grids.generations import list_generations

    with session() as sess:
        items = [asdict(g) for g in list_generations(sess, limit=limit).items]
    if as_json:
        print_json(items)
        return
    for g in items:
        console.print(
            f"{g['id']:>5}  {g['created_at']:%Y-%m-%d %H:%M}  {g['source']:<6}  {g['created_by'] or 'system':<12}"
            f"  +{g['units_added']} ~{g['units_changed']} -{g['units_retired']}  {g['reason'] or ''}",
            markup=False,
        )
