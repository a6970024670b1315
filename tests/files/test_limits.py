"""Import limits: a hostile file is refused while it is read, naming the limit and its setting, with the server's
memory bounded, and nothing is written."""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.errors import InvalidInput
from gisgrid.incidents.bulk_read import read_table
from gisgrid.io.importer import import_file
from gisgrid.io.records import ImportRejected

MB = 1024 * 1024


def _zero_member(zf: zipfile.ZipFile, name: str, size: int) -> None:
    """A member of `size` zero bytes, streamed (it compresses ~1000:1: the shape of a zip bomb)."""
    with zf.open(name, "w", force_zip64=True) as out:
        block = b"\0" * MB
        for _ in range(size // MB):
            out.write(block)


def _site_features(n: int, **props: object) -> dict[str, object]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": f"L{i}", "kind": "outpost", "name": f"阵地{i}", **props},
                "geometry": {"type": "Point", "coordinates": [104.1, 30.64]},
            }
            for i in range(n)
        ],
    }


def _sites(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM service_site")).scalar_one())


def test_a_zipped_shapefile_bomb_is_refused_before_unpacking(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GISGRID_IMPORT_MAX_UNPACKED_MB", "2")
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in ("g.shp", "g.shx"):
            zf.writestr(part, b"\0" * 100)
        _zero_member(zf, "g.dbf", 8 * MB)
    assert path.stat().st_size < 100_000
    before = _sites(session)
    with pytest.raises(InvalidInput) as exc:
        import_file(session, layer="sites", path=path, crs="wgs84")
    assert exc.value.field == "file" and "unpacks to 8 MB" in exc.value.message
    assert "GISGRID_IMPORT_MAX_UNPACKED_MB" in str(exc.value.expected)
    assert _sites(session) == before


def test_more_features_than_the_limit_are_refused(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GISGRID_IMPORT_MAX_FEATURES", "5")
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps(_site_features(6)), encoding="utf-8")
    before = _sites(session)
    with pytest.raises(InvalidInput) as exc:
        import_file(session, layer="sites", path=path, crs="wgs84")
    assert "more than 5 features" in exc.value.message
    assert _sites(session) == before
    path.write_text(json.dumps(_site_features(5)), encoding="utf-8")
    assert import_file(session, layer="sites", path=path, crs="wgs84").imported == 5


def test_huge_vertices_long_text_nul_and_surrogates_are_named_per_feature(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GISGRID_IMPORT_MAX_VERTICES", "100")
    ring = [[104.1 + 0.001 * math.cos(a / 50), 30.64 + 0.001 * math.sin(a / 50)] for a in range(315)]
    ring.append(ring[0])
    doc = _site_features(4)
    features: list[dict[str, object]] = doc["features"]  # type: ignore[assignment]
    features[0]["properties"]["name"] = "名" * 1_000_000  # type: ignore[index]
    features[1]["properties"]["name"] = "evil\u0000name"  # type: ignore[index]
    features[2]["properties"]["name"] = "bad \ud800 surrogate"  # type: ignore[index]
    compounds = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "id": "X1",
                    "name": "多点小区",
                    "buildings": 1,
                    "households": 1,
                    "population": 1,
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ImportRejected) as exc:
        import_file(session, layer="sites", path=path, crs="wgs84")
    messages = [str(p) for p in exc.value.problems]
    assert len(messages) == 3
    assert "longer than 1000 characters" in messages[0] and len(messages[0]) < 300
    assert "NUL character" in messages[1]
    assert "lone surrogate" in messages[2]
    assert len(str(exc.value.details)) < 5_000  # the answer does not echo a megabyte back
    path = tmp_path / "compounds.geojson"
    path.write_text(json.dumps(compounds), encoding="utf-8")
    with pytest.raises(ImportRejected) as exc:
        import_file(session, layer="compounds", path=path, crs="wgs84")
    assert "316 vertices, more than the limit of 100" in str(exc.value.problems[0])


def test_hotline_csv_with_too_many_rows_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GISGRID_IMPORT_MAX_ROWS", "10")
    path = tmp_path / "hotline.csv"
    body = "".join(f"H{i},104.1,30.64\n" for i in range(11))
    path.write_text("ext_id,lon,lat\n" + body, encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        read_table(path)
    assert "more than 10 rows" in exc.value.message
    path.write_text("ext_id,lon,lat\n" + body.split("\n", 1)[1], encoding="utf-8")
    assert len(read_table(path).raw) == 10


def _xlsx_bomb(path: Path, rows: int) -> None:
    """A minimal workbook whose one sheet has `rows` rows, written straight into the zip (openpyxl is too slow)."""
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.'
        'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, xml in parts.items():
            zf.writestr(name, xml)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(
                b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>ext_id</t></is></c>'
                b'<c r="B1" t="inlineStr"><is><t>lon</t></is></c><c r="C1" t="inlineStr"><is><t>lat</t></is></c></row>'
            )
            for i in range(2, rows + 2):
                out.write(
                    f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><v>104.1</v></c></row>'.encode()
                )
            out.write(b"</sheetData></worksheet>")


def test_an_xlsx_of_many_rows_is_refused_while_streaming_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    _xlsx_bomb(path, 300_000)
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from gisgrid.errors import InvalidInput\n"
        "from gisgrid.incidents.bulk_read import read_table\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    read_table(Path(sys.argv[1]))\n"
        "    print('READ')\n"
        "except InvalidInput as exc:\n"
        "    print(exc.message)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    env = {"GISGRID_IMPORT_MAX_ROWS": "1000", "PATH": "/usr/bin:/bin"}
    # A hard ceiling too: without the streaming limit the process would need far more than this.
    limit = 1536 * MB

    def ceiling() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    out = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=ceiling,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    message, grown_mb = out.stdout.strip().splitlines()
    assert "more than 1,000 rows" in message
    assert int(grown_mb) < 200, f"reading grew the process by {grown_mb} MB"


def test_a_malformed_hotline_row_is_refused_alone(tmp_path: Path) -> None:
    path = tmp_path / "hotline.csv"
    path.write_text(
        "ext_id,lon,lat\nH1,104.1,30.64\nH2,104.1,30.64,extra,cells\nH3,104.1,30.64\n", encoding="utf-8"
    )
    table = read_table(path)
    assert list(table.fields["ext_id"]) == ["H1", "H2", "H3"]
    assert list(table.problems) == [3] and "more than the header's 3 cells" in table.problems[3]
