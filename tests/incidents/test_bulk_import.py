"""Bulk import of 12345-hotline exports: every good row lands in the micro-grid assign_point gives it, every bad
row is in the error file with its row number and reason, nothing else is lost, re-imports add nothing, GCJ-02
is converted, a file without a coordinate system is refused whole, and the set-based assignment agrees with the
single-point rule on 2,000 points including shared edges and vertices."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gisgrid.config import DatabaseSettings
from gisgrid.crs import wgs84_to_gcj02
from gisgrid.errors import Forbidden, InvalidInput
from gisgrid.grids.locate import assign_point
from gisgrid.incidents import bulk_import
from tests.conftest import login, wait_for_job

BEIJING = ZoneInfo("Asia/Shanghai")
HEADERS = {
    "ext_id": "工单编号",
    "category": "事件类别",
    "title": "诉求标题",
    "description": "诉求内容",
    "lon": "经度",
    "lat": "纬度",
    "reported_at": "受理时间",
    "address": "地址",
    "channel": "来源",
}
OUTSIDE = (104.2, 30.64)  # east of the demo subdistrict, several km from any grid


# -- points in the demo data ----------------------------------------------------------------------
def _interior_points(session: Session, n: int) -> list[tuple[float, float]]:
    """Points well inside n different micro-grids, every other one inside a compound too."""
    rows = session.execute(
        text(
            "(SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid_unit WHERE level='micro' "
            "AND valid_to IS NULL ORDER BY code LIMIT :a) q) UNION ALL (SELECT ST_X(p), ST_Y(p) FROM "
            "(SELECT ST_PointOnSurface(geom) p FROM compound ORDER BY id DESC LIMIT :b) r)"
        ),
        {"a": n - n // 2, "b": n // 2},
    ).all()
    return [(float(x), float(y)) for x, y in rows]


def _shared_vertices(session: Session, n: int) -> list[tuple[float, float]]:
    """Vertices shared by two current micro-grids (covered by both: the smallest code must win)."""
    rows = session.execute(
        text(
            "SELECT DISTINCT ST_X(v.geom), ST_Y(v.geom) FROM grid_unit a JOIN grid_unit b ON a.code < b.code "
            "AND a.level = 'micro' AND b.level = 'micro' AND a.valid_to IS NULL AND b.valid_to IS NULL "
            "AND a.geom && b.geom CROSS JOIN LATERAL ST_DumpPoints(a.geom) v WHERE ST_Covers(b.geom, v.geom) "
            "ORDER BY 1, 2 LIMIT :n"
        ),
        {"n": n},
    ).all()
    return [(float(x), float(y)) for x, y in rows]


def _near_edges(session: Session, n: int, inset_m: float) -> list[tuple[float, float]]:
    """Points `inset_m` metres inside micro-grids, next to an edge shared with a neighbour."""
    rows = session.execute(
        text(
            "WITH m AS (SELECT code, geom FROM grid_unit WHERE level='micro' AND valid_to IS NULL ORDER BY code "
            "LIMIT :n), e AS (SELECT geom, ST_LineInterpolatePoint(ST_ExteriorRing(ST_GeometryN(geom, 1)), 0.37) "
            "AS b FROM m) SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_ClosestPoint(ST_Buffer(geom::geography, "
            "-:d)::geometry, b) AS p FROM e) q"
        ),
        {"n": n, "d": inset_m},
    ).all()
    return [(float(x), float(y)) for x, y in rows]


def _expected(session: Session, lon: float, lat: float, at: datetime) -> dict[str, Any]:
    row = assign_point(session, lon=lon, lat=lat, at=at)
    keys = ("id", "code", "general_code", "community_code", "subdistrict_code", "compound_id")
    return {k: row[k] for k in keys}


def _stored(session: Session, ext_id: str) -> dict[str, Any]:
    row = (
        session.execute(
            text(
                "SELECT grid_unit_id AS id, micro_code AS code, general_code, community_code, subdistrict_code, "
                "compound_id, category_code, channel, reported_at, title, input_crs, input_lon, input_lat, "
                "ST_X(geom) AS lon, ST_Y(geom) AS lat, status, step_due_at FROM incident WHERE ext_id = :e"
            ),
            {"e": ext_id},
        )
        .mappings()
        .one()
    )
    return dict(row)


# -- files ----------------------------------------------------------------------------------------
GOOD = "ok"


def _rows(session: Session, tag: str) -> list[tuple[dict[str, Any], str]]:
    """Rows of a hotline export with the outcome each must have: GOOD, or a word of its reason."""
    pts = _interior_points(session, 4) + _shared_vertices(session, 1)
    future = (datetime.now(BEIJING) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    good: list[dict[str, Any]] = [
        {"ext_id": f"{tag}-1", "category": "chengguan.litter", "reported_at": "2024-05-01 09:30"},
        {
            "ext_id": f"{tag}-2",
            "category": "垃圾堆放",
            "reported_at": "2024-05-01T01:30:00Z",
            "channel": "12345热线",
        },
        {"ext_id": f"{tag}-3", "category": "占道经营", "reported_at": "2024/5/2 8:05", "channel": "resident"},
        {"ext_id": f"{tag}-4", "category": "消防通道堵塞", "reported_at": "2024-05-03T10:00:00+08:00"},
        {"ext_id": f"{tag}-5", "category": "zongzhi.dispute", "reported_at": "2024-05-04 18:00:00"},
    ]
    rows = [
        (
            g
            | {
                "lon": x,
                "lat": y,
                "title": f"诉求 {g['ext_id']}",
                "description": "市民反映",
                "address": "牛市口",
            },
            GOOD,
        )
        for g, (x, y) in zip(good, pts, strict=True)
    ]
    x, y = pts[0]
    base: dict[str, Any] = {
        "category": "chengguan.litter",
        "reported_at": "2024-05-05 09:00",
        "title": "坏行",
        "lon": x,
        "lat": y,
    }
    bad: list[tuple[dict[str, Any], str]] = [
        ({"ext_id": f"{tag}-nocoord", "lon": "", "lat": ""}, "missing lon/lat"),
        ({"ext_id": f"{tag}-text", "lon": "东经104度"}, "not a number"),
        ({"ext_id": f"{tag}-swap", "lon": y, "lat": x}, "swapped"),
        ({"ext_id": f"{tag}-cat", "category": "噪音扰民"}, "unknown category"),
        ({"ext_id": f"{tag}-time", "reported_at": "昨天上午"}, "is not a time"),
        ({"ext_id": f"{tag}-future", "reported_at": future}, "in the future"),
        ({"ext_id": f"{tag}-out", "lon": OUTSIDE[0], "lat": OUTSIDE[1]}, "outside every micro-grid"),
        ({"ext_id": f"{tag}-chan", "channel": "微博"}, "unknown channel"),
        ({"ext_id": ""}, "missing ext_id"),
        ({"ext_id": f"{tag}-1", "title": "重复"}, "repeats the one of row"),
    ]
    return rows + [(base | b, reason) for b, reason in bad]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(HEADERS.values()))
        writer.writeheader()
        for r in rows:
            writer.writerow({HEADERS[k]: v for k, v in r.items()})
    return path


def _write_xlsx(path: Path, rows: list[dict[str, Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(list(HEADERS.values()))
    for r in rows:
        cells = [r.get(k, "") for k in HEADERS]
        at = r.get("reported_at", "")
        if at == "2024-05-01 09:30":  # an Excel date cell, as a hotline export has them
            cells[list(HEADERS).index("reported_at")] = datetime(2024, 5, 1, 9, 30)
        sheet.append(cells)
    book.save(path)
    return path


def _write_geojson(path: Path, rows: list[dict[str, Any]]) -> Path:
    features = []
    for r in rows:
        props = {HEADERS[k]: v for k, v in r.items() if k not in ("lon", "lat")}
        lon, lat = r.get("lon", ""), r.get("lat", "")
        geom = None if lon == "" else {"type": "Point", "coordinates": [lon, lat]}
        features.append({"type": "Feature", "properties": props, "geometry": geom})
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8"
    )
    return path


WRITERS = {"csv": _write_csv, "xlsx": _write_xlsx, "geojson": _write_geojson}
FIRST_ROW = {"csv": 2, "xlsx": 2, "geojson": 1}  # Excel rows (header = 1) or GeoJSON feature numbers


def _count(session: Session, where: str = "TRUE", **params: Any) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM incident WHERE {where}"), params).scalar_one())  # noqa: S608


# -- tests ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_mixed_file_imports_good_rows_where_assign_point_puts_them_and_reports_each_bad_row(
    session: Session, tmp_path: Path, fmt: str
) -> None:
    spec = _rows(session, f"MIX{fmt}")
    path = WRITERS[fmt](tmp_path / f"hotline.{fmt}", [r for r, _ in spec])
    before = _count(session)
    result = bulk_import.import_incidents(session, path=path, crs="wgs84" if fmt != "geojson" else None)

    good = [r for r, outcome in spec if outcome == GOOD]
    assert (result.rows, result.imported, result.skipped) == (len(spec), len(good), 0)
    assert len(result.errors) == len(spec) - len(good)
    assert _count(session) == before + len(good)
    for r in good:
        stored = _stored(session, r["ext_id"])
        at, lon, lat = stored["reported_at"], stored["lon"], stored["lat"]
        want = _expected(session, lon, lat, at)
        assert {k: stored[k] for k in want} == want, r
        # XLSX keeps 15 significant digits (Excel's limit); CSV and GeoJSON keep every digit.
        assert abs(lon - r["lon"]) < 1e-11 and abs(lat - r["lat"]) < 1e-11 and stored["input_crs"] == "wgs84"
        assert stored["status"] == "reported" and stored["step_due_at"] > at
    assert _stored(session, spec[0][0]["ext_id"])["reported_at"] == datetime(
        2024, 5, 1, 9, 30, tzinfo=BEIJING
    )
    assert _stored(session, spec[1][0]["ext_id"])["category_code"] == "chengguan.litter"
    assert _stored(session, spec[1][0]["ext_id"])["channel"] == "hotline"
    assert _stored(session, spec[2][0]["ext_id"])["channel"] == "resident"

    errors = result.errors.set_index("行号 row")
    for number, (row, outcome) in enumerate(spec, start=FIRST_ROW[fmt]):
        if outcome == GOOD:
            assert number not in errors.index
        else:
            assert outcome in errors.loc[number, "错误原因 reason"], (
                number,
                row,
                errors.loc[number].to_dict(),
            )
            assert errors.loc[number, "工单编号 ext_id"] == str(row["ext_id"])
    assert "最近的是" in errors.loc[FIRST_ROW[fmt] + 11, "错误原因 reason"]  # the nearest grid is named
    original = "geometry_x" if fmt == "geojson" else "经度"
    assert errors.loc[FIRST_ROW[fmt] + 6, original] == "东经104度"  # the original values are kept


def test_error_file_is_excel_csv_with_bom_next_to_the_input(session: Session, tmp_path: Path) -> None:
    spec = _rows(session, "EF")
    path = _write_csv(tmp_path / "工单.csv", [r for r, _ in spec])
    result = bulk_import.import_incidents(session, path=path, crs="wgs84")
    out = bulk_import.write_errors(result, bulk_import.default_errors_path(path))
    assert out == tmp_path / "工单.errors.csv"
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [int(r["行号 row"]) for r in back] == list(range(7, 7 + len(back)))
    assert (
        back[0]["工单编号 ext_id"] == "EF-nocoord"
        and back[0]["经度"] == ""
        and back[1]["经度"] == "东经104度"
    )
    assert all(r["错误原因 reason"] for r in back)


def test_reimport_creates_no_duplicates(session: Session, tmp_path: Path) -> None:
    spec = _rows(session, "AGAIN")
    path = _write_csv(tmp_path / "again.csv", [r for r, _ in spec])
    first = bulk_import.import_incidents(session, path=path, crs="wgs84")
    count = _count(session)
    events = session.execute(text("SELECT count(*) FROM incident_event")).scalar_one()
    second = bulk_import.import_incidents(session, path=path, crs="wgs84")
    assert (second.imported, second.skipped, len(second.errors)) == (0, first.imported, len(first.errors))
    assert _count(session) == count
    assert session.execute(text("SELECT count(*) FROM incident_event")).scalar_one() == events
    assert _count(session, "ext_id LIKE 'AGAIN-%'") == first.imported == 5


def test_each_imported_incident_has_its_create_event_and_the_import_is_audited(
    session: Session, tmp_path: Path
) -> None:
    spec = _rows(session, "EV")
    path = _write_csv(tmp_path / "ev.csv", [r for r, _ in spec])
    result = bulk_import.import_incidents(session, path=path, crs="wgs84")
    events = session.execute(
        text(
            "SELECT e.action, e.to_status, e.at = i.reported_at, e.detail->>'import' FROM incident_event e "
            "JOIN incident i ON i.id = e.incident_id WHERE i.ext_id LIKE 'EV-%'"
        )
    ).all()
    assert events == [("create", "reported", True, "ev.csv")] * result.imported
    audit = session.execute(
        text("SELECT after FROM audit_log WHERE action = 'incident_import' ORDER BY id DESC LIMIT 1")
    ).scalar_one()
    assert audit["imported"] == result.imported and audit["errors"] == len(result.errors)


def test_gcj02_rows_near_edges_land_in_the_grid_of_their_true_position(
    session: Session, tmp_path: Path
) -> None:
    true = _near_edges(session, 40, inset_m=2.0)
    lon, lat = wgs84_to_gcj02(np.array([p[0] for p in true]), np.array([p[1] for p in true]))
    rows: list[dict[str, Any]] = [
        {
            "ext_id": f"GCJ-{i}",
            "category": "chengguan.litter",
            "reported_at": "2024-06-01 10:00",
            "title": "t",
        }
        | {"lon": round(float(x), 7), "lat": round(float(y), 7)}
        for i, (x, y) in enumerate(zip(lon, lat, strict=True))
    ]
    path = _write_csv(tmp_path / "amap.csv", rows)
    result = bulk_import.import_incidents(session, path=path, crs="gcj02")
    assert result.imported == len(true) and len(result.errors) == 0
    at = datetime(2024, 6, 1, 10, tzinfo=BEIJING)
    moved = 0
    for i, (x, y) in enumerate(true):
        stored = _stored(session, f"GCJ-{i}")
        assert stored["code"] == _expected(session, x, y, at)["code"], (i, x, y)
        assert abs(stored["lon"] - x) < 1e-6 and abs(stored["lat"] - y) < 1e-6
        assert stored["input_crs"] == "gcj02" and stored["input_lon"] == rows[i]["lon"]
        try:
            moved += _expected(session, rows[i]["lon"], rows[i]["lat"], at)["code"] != stored["code"]
        except InvalidInput:
            moved += 1
    assert moved > len(true) // 2  # read as WGS 84, the same rows would land in other grids


@pytest.mark.parametrize("system", ["bd09", "EPSG:4544"])
def test_baidu_and_projected_coordinates_are_converted(session: Session, tmp_path: Path, system: str) -> None:
    import pyproj

    from gisgrid.crs import gcj02_to_bd09

    true = _interior_points(session, 6)
    xs, ys = np.array([p[0] for p in true]), np.array([p[1] for p in true])
    if system == "bd09":
        xs, ys = gcj02_to_bd09(*wgs84_to_gcj02(xs, ys))
    else:
        xs, ys = pyproj.Transformer.from_crs(4326, 4544, always_xy=True).transform(xs, ys)
    rows = [
        {
            "ext_id": f"SYS-{i}",
            "category": "chengguan.litter",
            "reported_at": "2024-06-01 10:00",
            "lon": x,
            "lat": y,
        }
        for i, (x, y) in enumerate(zip(xs.tolist(), ys.tolist(), strict=True))
    ]
    result = bulk_import.import_incidents(session, path=_write_csv(tmp_path / "s.csv", rows), crs=system)
    assert result.imported == len(true) and result.crs == system
    for i, (x, y) in enumerate(true):
        stored = _stored(session, f"SYS-{i}")
        assert abs(stored["lon"] - x) < 1e-6 and abs(stored["lat"] - y) < 1e-6, (system, i)  # BD-09: ~1 cm
        assert stored["code"] == _expected(session, x, y, stored["reported_at"])["code"]


def test_a_file_without_crs_is_refused_whole(session: Session, tmp_path: Path) -> None:
    spec = _rows(session, "NOCRS")
    before = _count(session)
    for fmt in ("csv", "xlsx"):
        path = WRITERS[fmt](tmp_path / f"nocrs.{fmt}", [r for r, _ in spec])
        with pytest.raises(InvalidInput) as exc:
            bulk_import.import_incidents(session, path=path)
        assert exc.value.field == "crs" and "never guessed" in exc.value.message
    assert _count(session) == before


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("编号,经度\nA,104.1\n", "columns"),  # no latitude column
        ("工单编号,经度,纬度\n", "file"),  # a header and no rows
    ],
)
def test_files_missing_what_every_row_needs_are_refused_whole(
    session: Session, tmp_path: Path, content: str, field: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        bulk_import.import_incidents(session, path=path, crs="wgs84")
    assert exc.value.field == field


def test_gb18030_csv_and_excel_rows_keep_their_numbers(session: Session, tmp_path: Path) -> None:
    (x, y), *_ = _interior_points(session, 2)
    path = tmp_path / "gbk.csv"
    lines = [
        "工单编号,类别,经度,纬度,上报时间",
        f"GBK-1,垃圾堆放,{x},{y},2024-05-01 09:30",
        "",
        f",垃圾堆放,{x},{y},2024-05-01",
    ]
    path.write_bytes("\r\n".join(lines).encode("gb18030"))
    result = bulk_import.import_incidents(session, path=path, crs="cgcs2000")
    assert result.imported == 1 and result.errors["行号 row"].tolist() == [4]  # the blank row 3 still counts
    assert _stored(session, "GBK-1")["input_crs"] == "cgcs2000"


def test_accounts_without_the_permission_or_with_a_partial_scope_are_refused(
    session: Session, tmp_path: Path
) -> None:
    from gisgrid.auth.policy import Principal

    path = _write_csv(tmp_path / "x.csv", [r for r, _ in _rows(session, "PERM")])
    for actor in (
        Principal(user_id=1, username="p", role="planner"),
        Principal(user_id=2, username="d", role="dispatcher", scope_codes=("510104003001",)),
    ):
        with pytest.raises(Forbidden):
            bulk_import.import_incidents(session, path=path, crs="wgs84", actor=actor)
    assert _count(session, "ext_id LIKE 'PERM-%'") == 0


# -- the set-based assignment against the single-point rule --------------------------------------
def _new_generations(session: Session, n: int, cut: datetime) -> list[int]:
    """Retire n micro-grids and their general grids at `cut`; the new generations keep the shapes, but the
    general grids move to another community. Returns the retired micro-grid ids."""
    old = [
        r[0]
        for r in session.execute(
            text(
                "SELECT id FROM grid_unit WHERE level='micro' AND valid_to IS NULL ORDER BY code DESC LIMIT :n"
            ),
            {"n": n},
        ).all()
    ]
    generals = (
        session.execute(
            text(
                "UPDATE grid_unit SET valid_to = :t WHERE level = 'general' AND valid_to IS NULL AND code IN "
                "(SELECT parent_code FROM grid_unit WHERE id = ANY(:ids)) RETURNING id"
            ),
            {"t": cut, "ids": old},
        )
        .scalars()
        .all()
    )
    session.execute(text("UPDATE grid_unit SET valid_to = :t WHERE id = ANY(:ids)"), {"t": cut, "ids": old})
    copy = (
        "INSERT INTO grid_unit (code, level, parent_code, name, households, population, geom, valid_from, version) "
        "SELECT code, level, {parent}, name || '（新）', households, population, geom, :t, version + 1 "
        "FROM grid_unit WHERE id = ANY(:ids)"
    )
    session.execute(text(copy.format(parent="parent_code")), {"t": cut, "ids": old})
    other = "(SELECT min(code) FROM grid_unit WHERE level = 'community')"
    session.execute(text(copy.format(parent=other)), {"t": cut, "ids": list(generals)})
    return old


def _random_points(session: Session, n: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """n points: shared vertices, points on shared edges, and uniform ones over (and beyond) the grid extent."""
    vertices = _shared_vertices(session, n // 5)
    edge_rows = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(ST_GeometryN(ST_LineMerge(ST_CollectionExtract("
            "ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2)), 1), 0.5) p FROM grid_unit a JOIN grid_unit b "
            "ON a.code < b.code AND a.level='micro' AND b.level='micro' AND a.valid_to IS NULL AND b.valid_to IS NULL "
            "AND ST_Relate(a.geom, b.geom, 'FF2F11212') ORDER BY a.code, b.code LIMIT :n) q "
            "WHERE GeometryType(p) = 'POINT'"
        ),
        {"n": n // 5},
    ).all()
    edges = [(float(x), float(y)) for x, y in edge_rows]
    x0, y0, x1, y1 = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM grid_unit) q"
        )
    ).one()
    rng = np.random.default_rng(seed)
    rest = n - len(vertices) - len(edges)
    pad = 0.002
    xs = [p[0] for p in vertices + edges] + rng.uniform(x0 - pad, x1 + pad, rest).tolist()
    ys = [p[1] for p in vertices + edges] + rng.uniform(y0 - pad, y1 + pad, rest).tolist()
    return np.array(xs), np.array(ys)


def _staged(lon: np.ndarray, lat: np.ndarray, at: list[datetime]) -> pd.DataFrame:
    n = len(lon)
    frame = pd.DataFrame(
        {
            "ext_id": [f"R{i}" for i in range(n)],
            "category_code": "chengguan.litter",
            "title": "t",
            "description": "",
            "channel": "hotline",
            "address": "",
            "input_crs": "wgs84",
            "input_lon": lon,
            "input_lat": lat,
            "lon": lon,
            "lat": lat,
            "reported_at": pd.to_datetime(at, utc=True),
        }
    )
    frame.index = pd.RangeIndex(2, n + 2, name="row")
    return frame


@pytest.mark.parametrize("plan", ["polygon", "point"])
def test_set_based_assignment_equals_assign_point_for_2000_points(session: Session, plan: str) -> None:
    cut = datetime(2024, 3, 1, tzinfo=UTC)
    retired = _new_generations(session, 60, cut)
    lon, lat = _random_points(session, 2000)
    rng = np.random.default_rng(5)
    times = [cut - timedelta(days=30), cut + timedelta(days=30), datetime(2020, 1, 1, tzinfo=UTC)]
    at = [times[i] for i in rng.choice(3, size=len(lon), p=[0.45, 0.45, 0.1])]
    frame = _staged(lon, lat, at)
    bulk_import.stage_rows(session, frame)
    assert bulk_import.assign_staged(session, plan=plan) == plan  # type: ignore[arg-type]
    got = {
        r["row_no"]: dict(r) for r in session.execute(text("SELECT * FROM bulk_assigned")).mappings().all()
    }
    outside = bulk_import.outside_reasons(session)
    session.execute(text("DROP TABLE bulk_staging, bulk_assigned"))

    covered_twice = session.execute(
        text(
            "SELECT count(*) FROM unnest(CAST(:x AS float8[]), CAST(:y AS float8[])) p(x, y) WHERE (SELECT count(*) "
            "FROM grid_unit u WHERE u.level='micro' AND u.valid_to IS NULL AND ST_Covers(u.geom, "
            "ST_SetSRID(ST_MakePoint(x, y), 4326))) > 1"
        ),
        {"x": lon.tolist(), "y": lat.tolist()},
    ).scalar_one()
    assert covered_twice >= 300  # the shared vertices and edges really are covered by two grids
    seen = {"inside": 0, "outside": 0, "old generation": 0}
    for row_no, x, y, when in zip(frame.index, lon.tolist(), lat.tolist(), at, strict=True):
        try:
            want = assign_point(session, lon=x, lat=y, at=when)
        except InvalidInput:
            assert row_no not in got and row_no in outside.index, (row_no, x, y, when)
            seen["outside"] += 1
            continue
        row = got[row_no]
        assert (row["grid_unit_id"], row["micro_code"], row["general_code"], row["community_code"]) == (
            want["id"],
            want["code"],
            want["general_code"],
            want["community_code"],
        ), (row_no, x, y, when)
        assert (row["subdistrict_code"], row["compound_id"]) == (
            want["subdistrict_code"],
            want["compound_id"],
        )
        seen["inside"] += 1
        seen["old generation"] += want["id"] in retired
    assert len(got) == seen["inside"] and len(outside) == seen["outside"]
    assert seen["inside"] > 1000 and seen["outside"] > 200 and seen["old generation"] > 0, seen
    assert "no micro-grid was in force" in outside[frame.index[np.array(at) == times[2]][0]]


# -- CLI and API ----------------------------------------------------------------------------------
def test_cli_imports_and_writes_the_error_file(
    db_settings: DatabaseSettings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    spec = _rows(session, "CLI")
    path = _write_csv(tmp_path / "cli.csv", [r for r, _ in spec])
    env = {k: v for k, v in os.environ.items() if not k.startswith("GISGRID_")}
    env["GISGRID_DATABASE_URL"] = db_settings.url()
    env["COLUMNS"] = "200"  # rich wraps long lines at 80 columns without a terminal
    gisgrid = str(Path(sys.executable).parent / "gisgrid")
    try:
        refused = subprocess.run(
            [gisgrid, "incidents", "import", str(path)], env=env, capture_output=True, text=True
        )
        assert refused.returncode == 2 and "--crs" in refused.stderr
        proc = subprocess.run(
            [gisgrid, "incidents", "import", str(path), "--crs", "wgs84"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        assert "imported 5" in proc.stdout and "errors 10" in proc.stdout
        assert (tmp_path / "cli.errors.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        again = subprocess.run(
            [
                gisgrid,
                "incidents",
                "import",
                str(path),
                "--crs",
                "wgs84",
                "--errors",
                str(tmp_path / "e.csv"),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        assert "imported 0" in again.stdout and "skipped 5" in again.stdout and (tmp_path / "e.csv").exists()
    finally:
        with engine.begin() as conn:  # the CLI committed: leave the shared test database as it was
            conn.execute(text("DELETE FROM incident WHERE ext_id LIKE 'CLI-%'"))


def test_api_upload_is_imported_by_a_job_whose_result_has_the_summary_and_the_error_rows(
    client: TestClient, session: Session, jobs_client: TestClient, jobs_engine: Engine
) -> None:
    spec = _rows(session, "API")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(HEADERS.values()))
    writer.writeheader()
    for r, _ in spec:
        writer.writerow({HEADERS[k]: v for k, v in r.items()})
    files = {"file": ("12345.csv", buf.getvalue().encode("utf-8"))}
    headers = login(jobs_client, "dispatcher")
    refused = jobs_client.post("/api/incidents/import", files=files, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "crs"  # at once, no job
    res = jobs_client.post("/api/incidents/import?crs=wgs84", files=files, headers=headers)
    assert res.status_code == 202, res.text
    assert res.headers["Location"] == f"/api/jobs/{res.json()['id']}"
    job = wait_for_job(jobs_client, res.json()["id"])
    assert job["kind"] == "incident_import" and job["status"] == "succeeded", job
    assert job["progress"]["total"] == len(bulk_import.STAGES)
    body = job["result"]
    assert (body["rows"], body["imported"], body["skipped"], body["errors"]) == (15, 5, 0, 10)
    assert [e["row"] for e in body["error_rows"]] == list(range(7, 17))
    back = list(csv.DictReader(io.StringIO(body["errors_csv"])))
    assert len(back) == 10 and back[0]["工单编号 ext_id"] == "API-nocoord"
    with jobs_engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM incident WHERE ext_id LIKE 'API-%'")).scalar_one()
    assert stored == 5
    planner = login(client, "planner")
    assert client.post("/api/incidents/import?crs=wgs84", files=files, headers=planner).status_code == 403
