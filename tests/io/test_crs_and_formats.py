"""Input coordinate systems (GCJ-02, BD-09, projected) converted at the edge; format details that must hold."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
from shapely.geometry import Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.crs import gcj02_to_bd09, wgs84_to_gcj02
from gisgrid.errors import InvalidInput
from gisgrid.io.formats import detect_format, list_to_text, split_text
from gisgrid.io.importer import import_file, read_records
from gisgrid.io.records import _coerce
from gisgrid.io.spec import SPECS
from tests.io.conftest import write_geojson

WGS = (104.105206, 30.640091)  # 牛市口 station
GEOD = pyproj.Geod(ellps="WGS84")


def site(lon: float, lat: float, site_id: str = "T1") -> dict[str, object]:
    """A sites GeoJSON feature."""
    props = {"id": site_id, "kind": "outpost", "name": "测试服务点", "services": ["办证", "咨询"]}
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def stored_site(session: Session, site_id: str = "T1") -> tuple[float, float]:
    """Where a site was stored (WGS 84)."""
    row = session.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM service_site WHERE ext_id = :i"), {"i": site_id}
    ).one()
    return float(row[0]), float(row[1])


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres."""
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def test_gcj02_point_lands_within_half_a_metre_of_the_wgs84_original(
    session: Session, tmp_path: Path
) -> None:
    glon, glat = (float(v[0]) for v in wgs84_to_gcj02(np.array([WGS[0]]), np.array([WGS[1]])))
    path = write_geojson(tmp_path / "sites.geojson", [site(glon, glat)])
    import_file(session, layer="sites", path=path, crs="gcj02")
    assert metres(stored_site(session), WGS) < 0.5


def test_gcj02_point_read_as_wgs84_is_hundreds_of_metres_off(tmp_path: Path) -> None:
    # The conversion above is not a no-op: without --crs gcj02 the same point is ~360 m away.
    glon, glat = (float(v[0]) for v in wgs84_to_gcj02(np.array([WGS[0]]), np.array([WGS[1]])))
    rec = read_records(SPECS["sites"], write_geojson(tmp_path / "s.geojson", [site(glon, glat)]))[0]
    assert rec.geom is not None and metres((rec.geom.x, rec.geom.y), WGS) > 200


def test_bd09_csv_point_is_converted(session: Session, tmp_path: Path) -> None:
    gx, gy = wgs84_to_gcj02(np.array([WGS[0]]), np.array([WGS[1]]))
    bx, by = (float(v[0]) for v in gcj02_to_bd09(gx, gy))
    path = tmp_path / "sites.csv"
    path.write_text(f"id,kind,name,lng,lat\nT1,outpost,百度点,{bx!r},{by!r}\n", encoding="utf-8")
    import_file(session, layer="sites", path=path, crs="bd09")
    assert metres(stored_site(session), WGS) < 0.5


def test_gb18030_csv_from_excel_is_read(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes(
        f"id,kind,name,lon,lat\nT1,outpost,牛市口小区阵地,{WGS[0]!r},{WGS[1]!r}\n".encode("gb18030")
    )
    import_file(session, layer="sites", path=path, crs="wgs84")
    name = session.execute(text("SELECT name FROM service_site WHERE ext_id = 'T1'")).scalar_one()
    assert name == "牛市口小区阵地"


@pytest.mark.parametrize("epsg", [4544, 32648])
def test_projected_crs_in_the_file_is_reprojected(session: Session, tmp_path: Path, epsg: int) -> None:
    x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(*WGS)
    frame = gpd.GeoDataFrame(
        {"id": ["T1"], "kind": ["outpost"], "name": ["投影点"]}, geometry=[Point(x, y)], crs=f"EPSG:{epsg}"
    )
    path = tmp_path / "sites.gpkg"
    frame.to_file(path, driver="GPKG", engine="pyogrio")
    import_file(session, layer="sites", path=path)
    assert metres(stored_site(session), WGS) < 0.01


def test_projected_crs_given_for_a_csv_with_x_y(session: Session, tmp_path: Path) -> None:
    x, y = pyproj.Transformer.from_crs(4326, 4544, always_xy=True).transform(*WGS)
    path = tmp_path / "sites.csv"
    path.write_text(f"id,kind,name,x,y\nT1,outpost,投影点,{x!r},{y!r}\n", encoding="utf-8")
    import_file(session, layer="sites", path=path, crs="EPSG:4544")
    assert metres(stored_site(session), WGS) < 0.01


def test_geojson_crs_member_is_honoured(session: Session, tmp_path: Path) -> None:
    x, y = pyproj.Transformer.from_crs(4326, 4544, always_xy=True).transform(*WGS)
    path = write_geojson(tmp_path / "s.geojson", [site(x, y)], crs="urn:ogc:def:crs:EPSG::4544")
    import_file(session, layer="sites", path=path)
    assert metres(stored_site(session), WGS) < 0.01


def test_csv_wkt_polygon_layer_needs_a_wkt_column(tmp_path: Path) -> None:
    path = tmp_path / "grids.csv"
    path.write_text("code,level,name,lon,lat\n1,micro,x,104.1,30.6\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        read_records(SPECS["grids"], path, crs="wgs84")
    assert info.value.field == "geometry" and "wkt" in str(info.value.expected)


@pytest.mark.parametrize(
    "items",
    [[], ["a"], ["民政", "社保"], ["a;b", "c"], ["[x]"], [" padded "], ["", "x"], ['quote "q"', "逗号,"]],
)
def test_list_text_reads_back_unchanged(items: list[str]) -> None:
    assert _coerce(list_to_text(items), "list") == items


def test_list_text_is_semicolon_joined_when_that_is_unambiguous() -> None:
    assert list_to_text(["民政", "社保"]) == "民政;社保"
    assert list_to_text(["a;b"]) == '["a;b"]'


@pytest.mark.parametrize("text_value", ["短", "民政;社保 " * 80, "a" * 254, "a" * 253 + "民" * 3, "x " * 300])
def test_split_text_parts_fit_a_dbase_field_and_join_back(text_value: str) -> None:
    parts = split_text(text_value)
    assert "".join(parts) == text_value
    assert all(len(p.encode("utf-8")) <= 254 for p in parts)
    assert all(not p[-1:].isspace() for p in parts[:-1])


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("a.geojson", None, "geojson"),
        ("a.JSON", None, "geojson"),
        ("a.gpkg", None, "gpkg"),
        ("a.shp", None, "shp"),
        ("a.zip", None, "shp"),
        ("a.csv", None, "csv"),
        ("a.txt", "csv", "csv"),
        ("a.dat", "Shapefile", "shp"),
    ],
)
def test_format_from_extension_or_override(name: str, fmt: str | None, expected: str) -> None:
    assert detect_format(Path(name), fmt) == expected


def test_unknown_format_lists_the_accepted_ones() -> None:
    with pytest.raises(InvalidInput) as info:
        detect_format(Path("a.kml"))
    assert info.value.field == "format" and "gpkg" in str(info.value.expected)
    with pytest.raises(InvalidInput):
        detect_format(Path("a.geojson"), "kml")


@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
def test_shapefile_without_cpg_keeps_chinese_text(session: Session, tmp_path: Path, encoding: str) -> None:
    frame = gpd.GeoDataFrame(
        {"id": ["T1"], "kind": ["outpost"], "name": ["牛市口测试点"]}, geometry=[Point(*WGS)], crs="EPSG:4326"
    )
    path = tmp_path / "sites.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    path.with_suffix(".cpg").unlink()
    import_file(session, layer="sites", path=path)
    name = session.execute(text("SELECT name FROM service_site WHERE ext_id = 'T1'")).scalar_one()
    assert name == "牛市口测试点"


def test_geopackage_whose_primary_key_is_the_id(session: Session, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"kind": ["outpost"], "name": ["主键点"]}, geometry=[Point(*WGS)], crs="EPSG:4326"
    )
    path = tmp_path / "sites.gpkg"
    pyogrio.write_dataframe(frame, path, layer="sites", layer_options={"FID": "id"})
    assert import_file(session, layer="sites", path=path).added == 1
    assert stored_site(session, "1") == pytest.approx(WGS, abs=1e-9)
