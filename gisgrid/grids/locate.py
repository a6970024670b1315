"""Locate a point in the grid: micro-grid (with the generation in force at a time), path, workers, compound,
and the nearest service sites by walking distance. Coordinates carry their system; conversion happens here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gisgrid.auth import contacts as contacts_policy
from gisgrid.auth.policy import Principal
from gisgrid.crs import InputCRS, parse_crs, to_wgs84
from gisgrid.db import sql
from gisgrid.db.aio import AioDB
from gisgrid.errors import InvalidInput
from gisgrid.times import aware

DEG_M = 111_000.0
LOCATE_TYPES = (
    ("lon", "float8"),
    ("lat", "float8"),
    ("at", "timestamptz"),
    ("acc", "float8"),
    ("acc_deg", "float8"),
)
MAX_ACCURACY_M = 1000.0
NEAREST_TYPES = (("lon", "float8"), ("lat", "float8"), ("at", "timestamptz"))
# Read and rewritten for both drivers on first use, once per process: nothing is parsed per request.
LOCATE = sql.load(__file__, "locate.sql", types=LOCATE_TYPES)
NEAREST = sql.load(__file__, "nearest_grid.sql", types=NEAREST_TYPES)
ASSIGN = sql.load(__file__, "assign.sql")


def check_lon_lat(lon: float, lat: float) -> None:
    """Refuse coordinates that are not numbers on the globe, hinting at a swapped pair."""
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        swapped = -90 <= lon <= 90 and 90 < abs(lat) <= 180
        raise InvalidInput(
            f"经纬度无效 ({lon}, {lat}) is not a longitude/latitude pair"
            + ("（经纬度顺序可能颠倒 latitude and longitude swapped?）" if swapped else "")
            + ".",
            field="lon" if not -180 <= lon <= 180 else "lat",
            value=f"{lon},{lat}",
            expected="lon -180..180 and lat -90..90, longitude first (Chengdu: lon ≈ 104, lat ≈ 30.6)",
        )


def to_storage(lon: float, lat: float, crs: str | InputCRS) -> tuple[float, float, InputCRS]:
    """Validate a lon/lat in `crs` and convert it to WGS 84."""
    system = crs if isinstance(crs, InputCRS) else parse_crs(crs)
    check_lon_lat(lon, lat)
    wlon, wlat = to_wgs84(lon, lat, system)
    return wlon, wlat, system


def _offset_m(lon: float, lat: float, wlon: float, wlat: float) -> float:
    dx = (lon - wlon) * DEG_M * math.cos(math.radians(wlat))
    return round(math.hypot(dx, (lat - wlat) * DEG_M), 1)


@dataclass(frozen=True)
class LocateQuery:
    """One checked locate request: the input as given, the point in WGS 84, the time and accuracy."""

    lon: float
    lat: float
    system: InputCRS
    wlon: float
    wlat: float
    when: datetime
    accuracy_m: float

    @property
    def params(self) -> dict[str, Any]:
        # The box filter must cover the accuracy circle in longitude too: 1/cos(lat) wider than in latitude.
        acc_deg = (self.accuracy_m + 1) / (DEG_M * max(math.cos(math.radians(self.wlat)), 0.1))
        return {
            "lon": self.wlon,
            "lat": self.wlat,
            "at": self.when,
            "acc": self.accuracy_m,
            "acc_deg": acc_deg,
        }


def prepare(
    *, lon: float, lat: float, crs: str | InputCRS, accuracy_m: float, at: datetime | None
) -> LocateQuery:
    """Check the input (InvalidInput naming the bad value) and convert the point to WGS 84."""
    if not (0 <= accuracy_m <= MAX_ACCURACY_M) or not math.isfinite(accuracy_m):
        raise InvalidInput(
            f"accuracy {accuracy_m} m is out of range.",
            field="accuracy",
            value=accuracy_m,
            expected=f"0–{MAX_ACCURACY_M:.0f} metres",
        )
    wlon, wlat, system = to_storage(lon, lat, crs)
    when = aware(at, field="at") or datetime.now(UTC)
    return LocateQuery(lon, lat, system, wlon, wlat, when, accuracy_m)


def answer(q: LocateQuery, row: Mapping[Any, Any], *, viewer: Principal | None = None) -> dict[str, Any]:
    """The response for a row of locate.sql whose path is not empty; phones as `viewer` may see them (none for
    anonymous callers; viewer None: the CLI and intake, which see them in full)."""
    path = row["path"]
    candidates = row["candidates"]
    micro = path[-1]
    workers = contacts_policy.workers_for(viewer, row["workers"])
    return {
        "input": {"lon": q.lon, "lat": q.lat, "crs": q.system.value},
        "wgs84": {
            "lon": round(q.wlon, 7),
            "lat": round(q.wlat, 7),
            "shift_m": _offset_m(q.lon, q.lat, q.wlon, q.wlat),
        },
        "at": q.when.isoformat(),
        "accuracy_m": q.accuracy_m,
        "micro_grid": {
            "code": micro["code"],
            "name": micro["name"],
            "unit_id": micro["id"],
            "version": micro["version"],
            "generation_id": micro["generation_id"],
        },
        "path": [{k: p[k] for k in ("level", "code", "name")} for p in path],
        "ambiguous": len(candidates) > 1,
        "candidates": candidates,
        "owner_rule": "a point covered by several micro-grids (on a shared edge) belongs to the smallest code",
        "workers": workers,
        "compound": row["compound"],
        "building": row["building"],
        "nearest_sites": row["sites"],
    }


def outside_error(nearest: Mapping[Any, Any] | None, q: LocateQuery) -> InvalidInput:
    """The refusal for a point in no micro-grid: the nearest grid and its distance, or no grid at that time."""
    if nearest is None:
        return InvalidInput(
            f"该时间无有效网格 No grid was in force at {q.when.isoformat()}.",
            field="at",
            value=q.when.isoformat(),
            expected="a time when grids were in force",
        )
    return InvalidInput(
        f"该点不在任何微网格内 ({q.lon}, {q.lat}) in {q.system.value} lies outside every micro-grid; the nearest is {nearest['name']} "
        f"({nearest['code']}), {nearest['distance_m']} m away.",
        field="lon,lat",
        value=f"{q.lon},{q.lat}",
        expected="a point inside the grid area (check the coordinate system: phone apps give gcj02)",
        details={
            "nearest": {
                "code": nearest["code"],
                "name": nearest["name"],
                "distance_m": float(nearest["distance_m"]),
            }
        },
    )


def locate(
    session: Session,
    *,
    lon: float,
    lat: float,
    crs: str | InputCRS,
    accuracy_m: float = 15.0,
    at: datetime | None = None,
    viewer: Principal | None = None,
) -> dict[str, Any]:
    """The grid answer for one point; a point outside every grid raises InvalidInput naming the nearest one."""
    q = prepare(lon=lon, lat=lat, crs=crs, accuracy_m=accuracy_m, at=at)
    row = sql.run_prepared(session, LOCATE, q.params).mappings().one()
    if not row["path"]:
        raise outside_error(sql.run(session, NEAREST, q.params).mappings().first(), q)
    return answer(q, row, viewer=viewer)


async def locate_async(
    db: AioDB,
    *,
    lon: float,
    lat: float,
    crs: str | InputCRS,
    accuracy_m: float = 15.0,
    at: datetime | None = None,
    viewer: Principal | None = None,
) -> dict[str, Any]:
    """`locate` on the asyncpg pool (GET /api/locate): the same statements, checks and answer."""
    q = prepare(lon=lon, lat=lat, crs=crs, accuracy_m=accuracy_m, at=at)
    row = await db.fetchrow(LOCATE, q.params)
    if row is None or not row["path"]:
        raise outside_error(await db.fetchrow(NEAREST, q.params), q)
    return answer(q, row, viewer=viewer)


def assign_point(session: Session, *, lon: float, lat: float, at: datetime) -> dict[str, Any]:
    """The micro-grid (generation in force at `at`) of a WGS 84 point and its parents' codes, or InvalidInput."""
    params = {"lon": lon, "lat": lat, "at": at}
    row = sql.run(session, ASSIGN, params).mappings().first()
    if row is None:
        q = LocateQuery(lon, lat, InputCRS.wgs84, lon, lat, at, 0.0)
        raise outside_error(sql.run(session, NEAREST, params).mappings().first(), q)
    return dict(row)
