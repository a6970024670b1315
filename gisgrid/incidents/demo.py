"""Demo incidents: a plausible day's work for the demo subdistrict, so the dispatcher page, the lists and the
statistics have something to show after `./dev run`.

One incident at every `every`-th micro-grid (by code), inside it, in eight categories and eight stages — new,
nearly due (yellow), long overdue (red), dispatched, being handled, closed, rejected, reported back — made through
the same services as real reports (assignment, timeline, deadlines, audit), with report times relative to `now`.
Deterministic for a given data set and `now`; the browser tests seed their background incidents with it too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gisgrid.db.models import Incident
from gisgrid.incidents import actions, intake

EXT_PREFIX = "DEMO-"
CATEGORIES = (
    ("chengguan.litter", "小区门口垃圾堆放"),
    ("xiaofang.passage", "消防通道被车辆堵塞"),
    ("hehu.floating", "河面漂浮垃圾"),
    ("guanai.elderly", "独居老人需要上门探访"),
    ("zongzhi.dispute", "楼上楼下噪音纠纷"),
    ("anquan.site", "工地围挡破损"),
    ("minsheng.errand", "代办养老资格认证"),
    ("chengguan.stall", "人行道占道经营"),
)
# (age at `now`, the actions taken after the report, 15–59 minutes apart)
PLANS: tuple[tuple[timedelta, tuple[str, ...]], ...] = (
    (timedelta(minutes=10), ()),
    (timedelta(minutes=100), ()),
    (timedelta(days=3), ("file",)),
    (timedelta(hours=2), ("file", "dispatch")),
    (timedelta(days=1), ("file", "dispatch", "start")),
    (timedelta(days=5), ("file", "dispatch", "start", "report", "verify", "close")),
    (timedelta(days=2), ("reject",)),
    (timedelta(hours=6), ("file", "dispatch", "start", "report")),
)
CHANNELS = ("hotline", "patrol", "resident")
POINTS_SQL = """
    SELECT ST_X(p) AS x, ST_Y(p) AS y
      FROM (SELECT code, ST_PointOnSurface(geom) AS p, row_number() OVER (ORDER BY code) AS n
              FROM grid_unit WHERE valid_to IS NULL AND level = 'micro') g
     WHERE n % :every = :phase
       AND (CAST(:x AS float8) IS NULL
            OR NOT ST_DWithin(p::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, :metres))
     ORDER BY code
"""


def seed(
    session: Session,
    *,
    now: datetime,
    every: int = 8,
    phase: int = 3,
    label: str | None = None,
    ext_prefix: str = EXT_PREFIX,
    keep_clear: tuple[float, float, float] | None = None,
) -> int:
    """Create the demo incidents; return how many. `label` replaces the titles by "label 000", "label 001", …;
    `keep_clear` = (lon, lat, metres) leaves a circle without incidents."""
    x, y, metres = keep_clear if keep_clear else (None, None, 0.0)
    params: dict[str, Any] = {"every": every, "phase": phase, "x": x, "y": y, "metres": metres}
    points = session.execute(text(POINTS_SQL), params).all()
    for i, point in enumerate(points):
        age, steps = PLANS[(i + i // len(CATEGORIES)) % len(PLANS)]  # every category in every stage
        category, title = CATEGORIES[i % len(CATEGORIES)]
        at = now - age
        data = intake.NewIncident(
            category_code=category,
            title=f"{label} {i:03d}" if label else title,
            channel=CHANNELS[i % len(CHANNELS)],
            lon=point.x,
            lat=point.y,
            crs="wgs84",
            reported_at=at,
            ext_id=f"{ext_prefix}{i:04d}",
        )
        out = intake.create(session, data=data, actor=None, now=at)
        gap = timedelta(minutes=15 + (i * 7) % 45)  # under an hour: every plan's steps stay before `now`
        for action in steps:
            at += gap
            out = actions.transition(
                session,
                incident_id=out["id"],
                step=actions.Step(action=action, version=out["version"], comment="演示数据 demo data"),
                actor=None,
                now=at,
            )
    return len(points)


def ensure(session: Session, *, now: datetime) -> int | None:
    """Seed the demo incidents unless some are there already; the number created, or None when skipped."""
    exists = session.scalar(select(Incident.id).where(Incident.ext_id.like(EXT_PREFIX + "%")).limit(1))
    return None if exists is not None else seed(session, now=now)
