"""`gisgrid import` and `gisgrid export`: layer files in and out of the database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from gisgrid.cli.common import console, engine, err, progress_bar

if TYPE_CHECKING:
    from gisgrid.io.records import ImportRejected


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
    confirm_warnings: Annotated[
        bool,
        typer.Option(
            "--confirm-warnings", help="grids: import although the topology gate warns (households)"
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check everything and say what would change; keep nothing")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="grids: why (kept with the generation)")] = None,
    roads: Annotated[
        bool,
        typer.Option(
            "--roads",
            help="walk_edges: the file is ordinary road lines (OSM-derived, any properties): two-way duplicates "
            "dropped, ends snapped, noded except bridges/tunnels; replaces the network and reports its components",
        ),
    ] = False,
) -> None:
    """Import a layer file: all features or none; every problem names the feature and the field. Grids pass
    the topology gate of every boundary edit: errors refuse, warnings need --confirm-warnings."""
    from gisgrid.io.importer import import_layer
    from gisgrid.io.records import ImportRejected

    with engine() as eng:
        try:
            with progress_bar(f"导入 Importing {layer}") as update:
                result = import_layer(
                    eng,
                    layer=layer,
                    path=file,
                    crs=crs,
                    make_valid=make_valid,
                    replace=replace,
                    fmt=fmt,
                    progress=update,
                    confirm_warnings=confirm_warnings,
                    dry_run=dry_run,
                    reason=reason,
                    roads=roads,
                )
        except ImportRejected as exc:
            _print_problems(exc)
            raise typer.Exit(2) from exc
    console.print(result.summary())
    for warning in result.warnings[:100]:
        console.print(f"  警告 warning: {warning}")
    if result.network:
        n = result.network
        console.print(
            f"  道路线 road lines: {n['input_lines']} in, {n['duplicates_dropped']} two-way duplicates dropped, "
            f"{n['snapped_ends']} ends snapped, {n['bridges_and_tunnels']} bridges/tunnels kept apart → "
            f"{n['edges']} edges, {n['nodes']} nodes, {n['components']} connected components (the largest holds "
            f"{n['largest_component_share']:.1%} of the length)"
        )


def _print_problems(exc: ImportRejected) -> None:
    from rich.table import Table

    table = Table("feature #", "key", "field", "problem", title=exc.headline, title_justify="left")
    for p in exc.problems[:100]:
        table.add_row(str(p.index) if p.index >= 0 else "(existing)", p.key or "", p.field, p.message)
    err.print(table)
    more = " (the first 100 are shown)" if len(exc.problems) > 100 else ""
    err.print(
        Text.assemble(
            ("错误 Error: ", "bold red"), f"{len(exc.problems)} problem(s){more}; nothing was imported."
        )
    )


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

    with engine() as eng, progress_bar(f"导出 Exporting {layer}") as update:
        n = export_layer(eng, layer=layer, path=file, fmt=fmt, progress=update)
    console.print(f"Exported {n} feature(s) of {layer} to {file}.")
