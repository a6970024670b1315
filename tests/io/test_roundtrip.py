"""Export → import round trip of every layer of the demo data through every format, without loss."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.io.export import export_file, layer_records
from gisgrid.io.importer import import_file, read_records
from gisgrid.io.spec import SPECS
from tests.io.conftest import assert_same_records, row_count

FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".shp", "shp-zip": ".zip", "csv": ".csv"}
CASES = [
    (layer, fmt)
    for fmt in FORMATS
    for layer in SPECS
    if SPECS[layer].geometry is not None or fmt == "csv"  # workers are CSV only
]
# Changes made to the database between export and import, so that the import must put things back.
SCRAMBLE = {
    "grids": "UPDATE grid_unit SET name = 'x', households = 0 WHERE valid_to IS NULL",
    "special_grids": "UPDATE special_grid SET name = 'x', community_code = NULL",
    "compounds": "UPDATE compound SET name = 'x', aliases = '{}'",
    "buildings": "UPDATE building SET label = 'x', floors = NULL",
    "sites": "UPDATE service_site SET services = '{}', compound_id = NULL, opening_hours = NULL",
    "rivers": "UPDATE river SET name = 'x', width_m = NULL",
    "bank_segments": "UPDATE bank_segment SET seq = 0, side = 'left'",
    "walk_edges": "UPDATE walk_edge SET kind = 'road', name = NULL",
    "workers": "DELETE FROM worker_grid",
}
MOVE = "UPDATE {table} SET geom = ST_Translate(geom, 0.001, 0.0005)"


@pytest.mark.parametrize(("layer", "fmt"), CASES, ids=[f"{layer}-{fmt}" for layer, fmt in CASES])
def test_export_then_import_gives_back_the_same_layer(
    session: Session, tmp_path: Path, layer: str, fmt: str
) -> None:
    spec = SPECS[layer]
    before = layer_records(session, spec)
    assert len(before) > 0, f"the demo data has no {layer}"
    path = tmp_path / f"{layer}{FORMATS[fmt]}"
    assert export_file(session, layer=layer, path=path) == len(before)
    crs = "wgs84" if fmt == "csv" else None  # a CSV says nothing about its CRS
    assert_same_records(spec, before, read_records(spec, path, crs=crs))

    session.execute(text(SCRAMBLE[layer]))
    if spec.geometry is not None:
        session.execute(text(MOVE.format(table=spec.table)))
    result = import_file(session, layer=layer, path=path, replace=True, crs=crs)

    assert (result.imported, result.updated, result.added, result.removed) == (len(before), len(before), 0, 0)
    assert_same_records(spec, before, layer_records(session, spec))


def test_shapefile_has_short_field_names_and_a_prj(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "grids.shp"
    export_file(session, layer="grids", path=path)
    dbf_header = path.with_suffix(".dbf").read_bytes()[:2000]
    assert b"parent\x00" in dbf_header and b"parent_code" not in dbf_header
    assert "WGS" in path.with_suffix(".prj").read_text()


def test_replacing_grids_with_their_own_export_changes_no_unit(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "grids.gpkg"
    rows = row_count(session, "grid_unit")
    version = session.execute(text("SELECT max(version) FROM grid_unit WHERE valid_to IS NULL")).scalar_one()
    export_file(session, layer="grids", path=path)
    result = import_file(session, layer="grids", path=path, replace=True)
    # Only units whose attributes or shape changed get a new version: none here.
    assert row_count(session, "grid_unit") == rows and result.warnings == []
    assert (
        session.execute(text("SELECT max(version) FROM grid_unit WHERE valid_to IS NULL")).scalar_one()
        == version
    )
    newest = session.execute(
        text("SELECT units_added, units_changed, units_retired FROM grid_generation ORDER BY id DESC LIMIT 1")
    ).one()
    assert tuple(newest) == (0, 0, 0)


def test_replacing_compounds_keeps_buildings_linked(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "compounds.geojson"
    buildings = row_count(session, "building")
    export_file(session, layer="compounds", path=path)
    import_file(session, layer="compounds", path=path, replace=True)
    assert row_count(session, "building") == buildings > 0
    assert row_count(session, "building b JOIN compound c ON c.id = b.compound_id") == buildings
