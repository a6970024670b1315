"""Duplicate suggestions for a report: open incidents of the same category family near it, recently.

The family is the category, its parent and its subcategories (a 垃圾堆放 report near an open 城市管理 one is
likely the same problem; 占道经营 next to 垃圾堆放 is not). Radius and window are the new report's category's
duplicate_radius_m and duplicate_window_h; the window reaches back from the report time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.db import sql
from gisgrid.grids.locate import to_storage
from gisgrid.incidents import checks, visibility

DUPLICATES = sql.load(__file__, "duplicates.sql")


def near(
    session: Session,
    *,
    lon: float,
    lat: float,
    category: str,
    at: datetime,
    exclude_id: int | None = None,
    limit: int = 20,
    allowed: visibility.Prefixes = None,
) -> list[dict[str, Any]]:
    """Possible duplicates of a report at a WGS 84 point, nearest first, among those inside `allowed`."""
    visible = None if allowed is None else [visibility.like_prefix(p) for p in allowed]
    rows = sql.run(
        session,
        DUPLICATES,
        {
            "lon": lon,
            "lat": lat,
            "category": category,
            "at": at,
            "exclude": exclude_id,
            "limit": limit,
            "visible": visible,
        },
    ).mappings()
    return [
        {**dict(r), "reported_at": r["reported_at"].isoformat(), "distance_m": float(r["distance_m"])}
        for r in rows
    ]


def suggest(
    session: Session,
    *,
    lon: float,
    lat: float,
    crs: str,
    category: str,
    at: datetime | None,
    now: datetime,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """The intake form's check: possible duplicates of a report in any input CRS that the caller may see."""
    cat = checks.category(session, category, field="category")
    wlon, wlat, system = to_storage(lon, lat, crs)
    when = checks.reported_time(at, now=now)
    return {
        "category": cat.code,
        "radius_m": cat.duplicate_radius_m,
        "window_h": cat.duplicate_window_h,
        "at": when.isoformat(),
        "wgs84": {"lon": round(wlon, 7), "lat": round(wlat, 7)},
        "input_crs": system.value,
        "duplicates": near(
            session,
            lon=wlon,
            lat=wlat,
            category=cat.code,
            at=when,
            allowed=visibility.prefixes(session, principal),
        ),
    }
