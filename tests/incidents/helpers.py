"""Helpers for incident tests (also used by the policy matrix): points in known grids, incidents in a status."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.auth import accounts
from gisgrid.incidents import intake

# A micro-grid of the demo grid worker's own grids, as (code, lon, lat) inside it.
_SERVED = (
    "SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) FROM grid_unit g "
    "JOIN worker_grid wg ON starts_with(g.code, wg.grid_code) JOIN app_user u ON u.worker_id = wg.worker_id "
    "WHERE u.username = :user AND g.level = 'micro' AND g.valid_to IS NULL ORDER BY g.code OFFSET :n LIMIT 1"
)
_IN_COMMUNITY = (
    "SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) FROM grid_unit g "
    "WHERE g.level = 'micro' AND g.valid_to IS NULL AND starts_with(g.code, "
    "(SELECT code FROM grid_unit WHERE name = :community AND valid_to IS NULL)) "
    "AND NOT starts_with(g.code, coalesce(:exclude, '-')) ORDER BY g.code OFFSET :n LIMIT 1"
)


def served_point(session: Session, *, user: str = "gridworker", n: int = 0) -> tuple[str, float, float]:
    """(micro code, lon, lat) of the n-th micro-grid the user's worker serves."""
    code, lon, lat = session.execute(text(_SERVED), {"user": user, "n": n}).one()
    return code, lon, lat


def community_point(
    session: Session, *, community: str, n: int = 0, exclude: str | None = None
) -> tuple[str, float, float]:
    """(micro code, lon, lat) of the n-th micro-grid of a community, skipping codes under `exclude`."""
    code, lon, lat = session.execute(
        text(_IN_COMMUNITY), {"community": community, "n": n, "exclude": exclude}
    ).one()
    return code, lon, lat


def offset_point(
    session: Session, lon: float, lat: float, *, metres: float, bearing: float
) -> tuple[float, float]:
    """The WGS 84 point `metres` from (lon, lat) towards `bearing` degrees."""
    x, y = session.execute(
        text(
            "SELECT ST_X(p::geometry), ST_Y(p::geometry) FROM "
            "(SELECT ST_Project(ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, :m, radians(:b)) AS p) q"
        ),
        {"x": lon, "y": lat, "m": metres, "b": bearing},
    ).one()
    return x, y


def make_incident(
    session: Session,
    *,
    lon: float,
    lat: float,
    category: str = "chengguan.litter",
    status: str = "reported",
    level: str = "micro",
    reported_at: datetime | None = None,
    title: str = "测试事件 test incident",
    **extra: Any,
) -> int:
    """An incident made through the service (as the system), then put into `status`/`level` directly."""
    data = intake.NewIncident(
        category_code=category, title=title, lon=lon, lat=lat, crs="wgs84", reported_at=reported_at, **extra
    )
    incident_id = int(intake.create(session, data=data, actor=None)["id"])
    if status != "reported" or level != "micro":
        session.execute(
            text("UPDATE incident SET status = :s, level = :l, department = :d WHERE id = :i"),
            {"s": status, "l": level, "d": "区城管局" if level == "department" else None, "i": incident_id},
        )
    session.flush()
    return incident_id


def bearer(client: TestClient, session: Session, username: str) -> dict[str, str]:
    """An Authorization header with a fresh API token of a demo account (no CSRF needed)."""
    user = accounts.get_user(session, username)
    issued = accounts.issue(
        session,
        user=user,
        kind="token",
        secret=client.app.state.secret,  # type: ignore[attr-defined]
        ttl=timedelta(hours=1),
    )
    session.flush()
    return {"Authorization": f"Bearer {issued.token}"}


def set_clock(session: Session, incident_id: int, *, started: datetime) -> None:
    """Move the running step's clock (as if the step had started at `started`)."""
    session.execute(
        text("UPDATE incident SET step_started_at = :t WHERE id = :i"), {"t": started, "i": incident_id}
    )
    session.flush()
