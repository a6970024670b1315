"""Coordinate conversion at the edge: GCJ-02 / BD-09 inverses and parsing of CRS names."""

from __future__ import annotations

import numpy as np
import pytest

from gisgrid import crs
from gisgrid.errors import InvalidInput

NIUSHIKOU = (104.105206, 30.640091)
M_PER_DEG_LAT = 110_900.0


def _metres(dlon: np.ndarray, dlat: np.ndarray, lat: float) -> np.ndarray:
    return np.hypot(dlon * M_PER_DEG_LAT * np.cos(np.radians(lat)), dlat * M_PER_DEG_LAT)


def test_gcj02_offset_near_niushikou_matches_the_known_shift() -> None:
    glon, glat = crs.wgs84_to_gcj02(np.array([NIUSHIKOU[0]]), np.array([NIUSHIKOU[1]]))
    east = (glon[0] - NIUSHIKOU[0]) * M_PER_DEG_LAT * np.cos(np.radians(NIUSHIKOU[1]))
    south = (NIUSHIKOU[1] - glat[0]) * M_PER_DEG_LAT
    assert 200 < east < 300 and 220 < south < 310  # DOMAIN.md: ~250 m east, ~265 m south


def test_gcj02_inverse_residual_below_half_a_metre_across_chengdu() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(102.9, 105.0, 5000)
    lat = rng.uniform(30.1, 31.5, 5000)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = crs.gcj02_to_wgs84(glon, glat)
    fwd_lon, fwd_lat = crs.wgs84_to_gcj02(back_lon, back_lat)
    assert _metres(fwd_lon - glon, fwd_lat - glat, 30.6).max() < 0.5
    assert _metres(back_lon - lon, back_lat - lat, 30.6).max() < 0.5


def test_bd09_to_wgs84_round_trip_below_half_a_metre() -> None:
    rng = np.random.default_rng(2)
    lon = rng.uniform(102.9, 105.0, 2000)
    lat = rng.uniform(30.1, 31.5, 2000)
    blon, blat = crs.gcj02_to_bd09(*crs.wgs84_to_gcj02(lon, lat))
    wlon, wlat = crs.to_wgs84_arrays(blon, blat, crs.InputCRS.bd09)
    assert _metres(wlon - lon, wlat - lat, 30.6).max() < 0.5


def test_wgs84_and_cgcs2000_pass_through_unchanged() -> None:
    assert crs.to_wgs84(*NIUSHIKOU, crs.InputCRS.cgcs2000) == NIUSHIKOU
    assert crs.to_wgs84(*NIUSHIKOU, crs.InputCRS.wgs84) == NIUSHIKOU


@pytest.mark.parametrize("name", ["wgs84", "EPSG:4326", "gcj02", "GCJ-02", "bd09", "cgcs2000", "epsg:4490"])
def test_parse_crs_accepts_known_names(name: str) -> None:
    assert isinstance(crs.parse_crs(name), crs.InputCRS)


@pytest.mark.parametrize("name", [None, "", "mars", "EPSG:3857"])
def test_parse_crs_refuses_unknown_or_missing(name: str | None) -> None:
    with pytest.raises(InvalidInput) as exc:
        crs.parse_crs(name)
    assert "gcj02" in (exc.value.expected or "")


def test_to_metric_gives_metres() -> None:
    from shapely.geometry import LineString

    line = LineString([NIUSHIKOU, (NIUSHIKOU[0], NIUSHIKOU[1] + 0.01)])
    assert crs.to_metric(line).length == pytest.approx(1109, rel=0.01)


def test_single_point_inverse_equals_the_array_inverse() -> None:
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(102.9, 105.0, 200), rng.uniform(30.1, 31.5, 200)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    alon, alat = crs.gcj02_to_wgs84(glon, glat)
    for i in range(200):
        plon, plat = crs.to_wgs84(float(glon[i]), float(glat[i]), crs.InputCRS.gcj02)
        assert abs(plon - alon[i]) < 1e-9 and abs(plat - alat[i]) < 1e-9
    assert crs.to_wgs84(2.35, 48.85, crs.InputCRS.gcj02) == (2.35, 48.85)  # outside China: unchanged
