"""Coordinate systems used in China: WGS 84, CGCS2000, GCJ-02, BD-09; conversion happens here, at the edge."""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum
from functools import cache
from typing import Any

import numpy as np
import pyproj
from shapely import transform
from shapely.geometry.base import BaseGeometry

from gisgrid.errors import InvalidInput

# GCJ-02 is defined on the Krasovsky 1940 ellipsoid parameters below (the published obfuscation formula).
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


class InputCRS(StrEnum):
    """Coordinate systems an input may be in."""

    wgs84 = "wgs84"
    cgcs2000 = "cgcs2000"
    gcj02 = "gcj02"
    bd09 = "bd09"


ALIASES = {
    "wgs84": InputCRS.wgs84,
    "epsg:4326": InputCRS.wgs84,
    "4326": InputCRS.wgs84,
    "crs84": InputCRS.wgs84,
    "cgcs2000": InputCRS.cgcs2000,
    "epsg:4490": InputCRS.cgcs2000,
    "4490": InputCRS.cgcs2000,
    "gcj02": InputCRS.gcj02,
    "gcj-02": InputCRS.gcj02,
    "bd09": InputCRS.bd09,
    "bd-09": InputCRS.bd09,
}
ACCEPTED = "wgs84 (EPSG:4326), cgcs2000 (EPSG:4490), gcj02 (Amap/Tencent/WeChat), bd09 (Baidu)"


def parse_crs(value: str | None, *, field: str = "crs") -> InputCRS:
    """The input CRS named by `value`, or InvalidInput listing what is accepted (never a guess)."""
    if value is None or not str(value).strip():
        raise InvalidInput(
            "缺少坐标系 The coordinate system is missing.", field=field, value=value, expected=ACCEPTED
        )
    key = str(value).strip().lower()
    if key not in ALIASES:
        raise InvalidInput(
            f"未知坐标系 Unknown coordinate system {value!r}.", field=field, value=value, expected=ACCEPTED
        )
    return ALIASES[key]


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


class _Scalar:
    """math functions under numpy's names, so that one formula serves arrays and single points."""

    sin, cos, sqrt, abs, pi = math.sin, math.cos, math.sqrt, abs, math.pi


def _delta(lon: Any, lat: Any, m: Any = np) -> tuple[Any, Any]:
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * m.sqrt(m.abs(x))
    dlat += (20.0 * m.sin(6.0 * x * m.pi) + 20.0 * m.sin(2.0 * x * m.pi)) * 2.0 / 3.0
    dlat += (20.0 * m.sin(y * m.pi) + 40.0 * m.sin(y / 3.0 * m.pi)) * 2.0 / 3.0
    dlat += (160.0 * m.sin(y / 12.0 * m.pi) + 320 * m.sin(y * m.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * m.sqrt(m.abs(x))
    dlon += (20.0 * m.sin(6.0 * x * m.pi) + 20.0 * m.sin(2.0 * x * m.pi)) * 2.0 / 3.0
    dlon += (20.0 * m.sin(x * m.pi) + 40.0 * m.sin(x / 3.0 * m.pi)) * 2.0 / 3.0
    dlon += (150.0 * m.sin(x / 12.0 * m.pi) + 300.0 * m.sin(x / 30.0 * m.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * m.pi
    magic = 1 - _EE * m.sin(radlat) ** 2
    sqrtmagic = m.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * m.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * m.cos(radlat) * m.pi)
    return dlon, dlat


def _gcj02_to_wgs84_point(lon: float, lat: float, *, tol_deg: float = 1e-9) -> tuple[float, float]:
    """The same fixed-point inverse for one point, in plain floats (30× faster than numpy for a request)."""
    if bool(_out_of_china(np.array(lon), np.array(lat))):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(30):
        dlon, dlat = _delta(wlon, wlat, _Scalar)
        elon, elat = wlon + dlon - lon, wlat + dlat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if abs(elon) < tol_deg and abs(elat) < tol_deg:
            break
    return wlon, wlat


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The published forward GCJ-02 obfuscation (identity outside China)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon, lat)
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(
    lon: np.ndarray, lat: np.ndarray, *, tol_deg: float = 1e-9
) -> tuple[np.ndarray, np.ndarray]:
    """Invert GCJ-02 by fixed-point iteration (residual far below 0.5 m; the one-step inverse is ~1 m off)."""
    glon, glat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(30):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < tol_deg) and np.all(np.abs(elat) < tol_deg):
            break
    return wlon, wlat


def bd09_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Baidu BD-09 to GCJ-02 (closed form)."""
    x, y = np.asarray(lon, dtype=float) - 0.0065, np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to Baidu BD-09 (closed form)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def to_wgs84_arrays(lon: np.ndarray, lat: np.ndarray, crs: InputCRS) -> tuple[np.ndarray, np.ndarray]:
    """Convert lon/lat arrays in `crs` to WGS 84."""
    if crs in (InputCRS.wgs84, InputCRS.cgcs2000):
        # CGCS2000 and WGS 84 agree to centimetres at this scale: no datum shift is applied.
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if crs is InputCRS.gcj02:
        return gcj02_to_wgs84(lon, lat)
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon: float, lat: float, crs: InputCRS) -> tuple[float, float]:
    """Convert one lon/lat point in `crs` to WGS 84."""
    if crs in (InputCRS.wgs84, InputCRS.cgcs2000):
        return float(lon), float(lat)
    if crs is InputCRS.bd09:
        glon, glat = bd09_to_gcj02(np.array(lon), np.array(lat))
        lon, lat = float(glon), float(glat)
    return _gcj02_to_wgs84_point(float(lon), float(lat))


def geometry_to_wgs84(geom: BaseGeometry, crs: InputCRS) -> BaseGeometry:
    """Convert every vertex of a geometry in `crs` to WGS 84."""
    if crs in (InputCRS.wgs84, InputCRS.cgcs2000):
        return geom

    def _convert(coords: np.ndarray) -> np.ndarray:
        x, y = to_wgs84_arrays(coords[:, 0], coords[:, 1], crs)
        return np.column_stack([x, y])

    return transform(geom, _convert)


@cache
def _transformer(src: int, dst: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def projector(*, srid: int = 4544, inverse: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """A vertex function for shapely.transform: WGS 84 to the metric CRS (or back)."""
    tr = _transformer(srid, 4326) if inverse else _transformer(4326, srid)

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return _apply


def to_metric(geom: BaseGeometry, *, srid: int = 4544) -> BaseGeometry:
    """The geometry in the projected CRS for metres (EPSG:4544 around Chengdu)."""
    return transform(geom, projector(srid=srid))
