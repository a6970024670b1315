"""Bad files are refused whole, change nothing, and the message names the feature, the field and the fault."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gisgrid.errors import InvalidInput
from gisgrid.io.export import export_file
from gisgrid.io.importer import import_file
from gisgrid.io.records import ImportRejected, Problem
from tests.io.conftest import BOWTIE, SQUARE, grid_feature, row_count, write_geojson

TABLES = ("grid_unit", "compound", "building", "service_site", "walk_edge", "worker", "worker_grid")


@contextmanager
def nothing_changes(session: Session) -> Iterator[None]:
    """Assert that no table of the layers changed its row count."""
    before = {t: row_count(session, t) for t in TABLES}
    yield
    assert {t: row_count(session, t) for t in TABLES} == before


def rejected(session: Session, **kwargs: Any) -> list[Problem]:
    """Import that must be refused as a whole; its problems."""
    with nothing_changes(session), pytest.raises(ImportRejected) as info:
        import_file(session, **kwargs)
    assert "nothing was imported" in info.value.message
    return info.value.problems


def refused(session: Session, **kwargs: Any) -> InvalidInput:
    """Import refused before any feature was looked at (the file as a whole is wrong)."""
    with nothing_changes(session), pytest.raises(InvalidInput) as info:
        import_file(session, **kwargs)
    assert not isinstance(info.value, ImportRejected)
    return info.value


def one(problems: list[Problem], field: str) -> Problem:
    """The one problem of the field."""
    hits = [p for p in problems if p.field == field]
    assert len(hits) == 1, problems
    return hits[0]


def test_csv_with_lon_lat_but_no_crs_is_refused_naming_crs(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("id,kind,name,lon,lat\nT1,outpost,测试点,104.1,30.64\n", encoding="utf-8")
    exc = refused(session, layer="sites", path=path)
    assert exc.field == "crs" and "--crs" in exc.message and "never guessed" in exc.message
    assert import_file(session, layer="sites", path=path, crs="wgs84").added == 1


def test_shapefile_without_prj_is_refused_naming_crs(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "sites.shp"
    export_file(session, layer="sites", path=path)
    path.with_suffix(".prj").unlink()
    exc = refused(session, layer="sites", path=path, replace=True)
    assert exc.field == "crs" and "--crs" in exc.message and "sites.shp" in exc.message
    assert import_file(session, layer="sites", path=path, replace=True, crs="wgs84").updated > 0


def test_self_intersection_suggests_make_valid_which_then_imports(
    session: Session, tmp_path: Path, micro_parent: str
) -> None:
    features = [
        grid_feature("T01", parent=micro_parent),
        grid_feature("T02", parent=micro_parent, ring=BOWTIE),
    ]
    path = write_geojson(tmp_path / "grids.geojson", features)
    problem = one(rejected(session, layer="grids", path=path), "geometry")
    assert (problem.index, problem.key) == (1, "T02")
    assert "Self-intersection" in problem.message and "--make-valid" in problem.message
    # Repaired, the bowtie passes the geometry check; what is left is the topology gate of every boundary
    # change: squares dropped on top of existing micro-grids, with codes that do not follow the parent's.
    repaired = rejected(session, layer="grids", path=path, make_valid=True)
    assert not any("Self-intersection" in p.message for p in repaired)
    assert {p.key for p in repaired} >= {"T01", "T02"}
    assert any("编码不符 code does not match the parent" in p.message for p in repaired)
    assert any("overlap" in p.message for p in repaired)


def test_wrong_geometry_type_is_named(session: Session, tmp_path: Path, micro_parent: str) -> None:
    feature = grid_feature("T01", parent=micro_parent)
    feature["geometry"] = {"type": "Point", "coordinates": [104.1, 30.64]}
    problem = one(
        rejected(session, layer="grids", path=write_geojson(tmp_path / "g.geojson", [feature])), "geometry"
    )
    assert (problem.index, problem.key) == (0, "T01")
    assert "Point" in problem.message and "MultiPolygon" in problem.message


def test_missing_and_duplicate_codes_are_named(session: Session, tmp_path: Path, micro_parent: str) -> None:
    no_code = grid_feature("T00", parent=micro_parent)
    del no_code["properties"]["code"]
    features = [grid_feature("T01", parent=micro_parent), no_code, grid_feature("T01", parent=micro_parent)]
    problems = rejected(session, layer="grids", path=write_geojson(tmp_path / "g.geojson", features))
    missing = [p for p in problems if "missing" in p.message]
    assert [(p.index, p.field) for p in missing] == [(1, "code")]
    duplicate = [p for p in problems if "duplicate" in p.message]
    assert [(p.index, p.key, p.field) for p in duplicate] == [(2, "T01", "code")]
    assert "feature #0" in duplicate[0].message


def test_parent_not_found_is_named(session: Session, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "g.geojson", [grid_feature("T01", parent="999999")])
    problem = one(rejected(session, layer="grids", path=path), "parent_code")
    assert (problem.index, problem.key) == (0, "T01") and "'999999' not found" in problem.message


def test_swapped_lat_lon_is_called_swapped(session: Session, tmp_path: Path, micro_parent: str) -> None:
    ring = [(lat, lon) for lon, lat in SQUARE]
    path = write_geojson(tmp_path / "g.geojson", [grid_feature("T01", parent=micro_parent, ring=ring)])
    problem = one(rejected(session, layer="grids", path=path), "geometry")
    assert problem.key == "T01" and "swapped" in problem.message


def test_existing_keys_are_refused_without_replace(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "compounds.geojson"
    count = export_file(session, layer="compounds", path=path)
    problems = rejected(session, layer="compounds", path=path)
    assert len(problems) == count
    assert (
        problems[0].field == "id"
        and "already exists" in problems[0].message
        and "--replace" in problems[0].message
    )
    path = tmp_path / "grids.geojson"
    export_file(session, layer="grids", path=path)
    assert "a current grid unit" in rejected(session, layer="grids", path=path)[0].message


def test_replace_refuses_to_orphan_buildings(session: Session, tmp_path: Path) -> None:
    import json

    path = tmp_path / "compounds.geojson"
    export_file(session, layer="compounds", path=path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    dropped = doc["features"].pop(0)["properties"]["id"]
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    problem = one(rejected(session, layer="compounds", path=path, replace=True), "id")
    assert problem.key == dropped and "buildings refer to it" in problem.message and problem.index == -1


@pytest.mark.parametrize(
    ("crs_member", "given"),
    [("EPSG:999999", None), (None, "wgs85"), ("urn:ogc:def:crs:EPSG::999999", None), (None, "mars2000")],
)
def test_unknown_crs_is_refused(
    session: Session, tmp_path: Path, micro_parent: str, crs_member: str | None, given: str | None
) -> None:
    path = write_geojson(tmp_path / "g.geojson", [grid_feature("T01", parent=micro_parent)], crs=crs_member)
    exc = refused(session, layer="grids", path=path, crs=given)
    assert exc.field == "crs"
    assert (
        "Unknown coordinate system" if given != "mars2000" else "cannot be converted to WGS 84"
    ) in exc.message
    assert "gcj02" in str(exc.expected) and "EPSG:4544" in str(exc.expected)


UNREADABLE: dict[str, Callable[[Path], Path]] = {
    "json": lambda d: _write(d / "g.geojson", '{"type": "FeatureCollection", "features": ['),
    "not-a-collection": lambda d: _write(d / "g.geojson", '{"type": "Feature"}'),
    "gpkg": lambda d: _write(d / "g.gpkg", "this is not a GeoPackage"),
    "zip": lambda d: _write(d / "g.zip", "PK but not a zip"),
    "zip-without-shp": lambda d: _zip(d / "g.zip", {"readme.txt": "no shapefile here"}),
    "shp-without-dbf": lambda d: _write(d / "g.shp", "\x00" * 100),
    # neither UTF-8 nor GB18030 (a GBK/GB18030 file is read: Excel on Chinese Windows writes those)
    "csv-undecodable": lambda d: _bytes(d / "g.csv", b"code,name,wkt\n1,\xff\x80,POINT (104.1 30.6)\n"),
    "unknown-extension": lambda d: _write(d / "g.txt", "code\n"),
}


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


@pytest.mark.parametrize("kind", list(UNREADABLE))
def test_unreadable_file_is_refused_naming_the_file(session: Session, tmp_path: Path, kind: str) -> None:
    path = UNREADABLE[kind](tmp_path)
    exc = refused(session, layer="grids", path=path, crs="wgs84")
    assert exc.field in ("file", "format")
    assert path.name in exc.message or path.suffix in str(exc.value)
    assert str(tmp_path) not in str(exc.to_dict())  # no server paths in the answer


def test_empty_file_is_refused(session: Session, tmp_path: Path) -> None:
    exc = refused(session, layer="grids", path=write_geojson(tmp_path / "g.geojson", []))
    assert "no features" in exc.message


def test_bad_attribute_values_are_named(session: Session, tmp_path: Path, micro_parent: str) -> None:
    feature = grid_feature("T01", parent=micro_parent)
    feature["properties"].update(level="district", households=-3, population="many")
    problems = rejected(session, layer="grids", path=write_geojson(tmp_path / "g.geojson", [feature]))
    assert {p.field for p in problems} == {"level", "households", "population"}
    assert all(p.key == "T01" and p.index == 0 for p in problems)


def test_workers_only_as_csv(session: Session, tmp_path: Path) -> None:
    exc = refused(session, layer="workers", path=write_geojson(tmp_path / "w.geojson", []))
    assert exc.field == "format" and exc.expected == "csv"


def test_unknown_worker_grid_code_is_named(session: Session, tmp_path: Path) -> None:
    path = _write(tmp_path / "w.csv", "id,name,role,grid_codes\nWT1,张三,grid_worker,510104003;nope\n")
    problem = one(rejected(session, layer="workers", path=path), "grid_codes")
    assert problem.key == "WT1" and "'nope' not found" in problem.message
