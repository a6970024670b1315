"""Incident statistics per community, general grid, micro-grid, category or period, computed in SQL.

For incidents reported in [from, to): counts (total, open, closed, rejected); median minutes from report to the
first dispatch and from report to closure (percentile_cont, interpolating, over the incidents that got there);
overdue = incidents that finished a step late (the `late` flag each transition records) or are red now;
overdue_share = overdue / total. Grid groups are the codes stored at assignment (the grid in force at report time).
Periods (day, week, month) are local (Beijing) calendar periods of the report time: 2026-11-27, 2026-W48, 2026-11.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.db.models import GridUnit, Incident, IncidentCategory, IncidentEvent
from gisgrid.errors import InvalidInput
from gisgrid.incidents import deadlines, visibility, workflow
from gisgrid.times import LOCAL_TZ, aware

GROUPS: dict[str, Any] = {
    "community": Incident.community_code,
    "general": Incident.general_code,
    "micro": Incident.micro_code,
    "category": Incident.category_code,
}
# Period groups: the date_trunc unit and how the period is named (ISO week: IYYY-"W"IW, Monday first).
PERIODS = {"day": "YYYY-MM-DD", "week": 'IYYY-"W"IW', "month": "YYYY-MM"}


def _group_key(by: str) -> ColumnElement[Any]:
    if by in PERIODS:
        local = func.timezone(LOCAL_TZ, Incident.reported_at)
        return func.to_char(func.date_trunc(by, local), PERIODS[by])
    return GROUPS[by]  # type: ignore[no-any-return]


def _minutes(later: Any) -> ColumnElement[float]:
    return (func.extract("epoch", later - Incident.reported_at) / 60.0).cast(Float)


def _overdue(now: datetime) -> ColumnElement[bool]:
    late = exists(
        select(IncidentEvent.id).where(
            IncidentEvent.incident_id == Incident.id,
            IncidentEvent.detail["late"].as_boolean().is_(True),
        )
    )
    return or_(deadlines.colour(now) == "red", late)


def _aggregate(key: ColumnElement[Any], now: datetime) -> Select[Any]:
    count = func.count(Incident.id)
    return select(
        key.label("key"),
        count.label("total"),
        count.filter(Incident.status.not_in(workflow.FINAL)).label("open"),
        count.filter(Incident.status == "closed").label("closed"),
        count.filter(Incident.status == "rejected").label("rejected"),
        func.percentile_cont(0.5).within_group(_minutes(Incident.dispatched_at)).label("median_dispatch_min"),
        func.percentile_cont(0.5).within_group(_minutes(Incident.closed_at)).label("median_close_min"),
        count.filter(_overdue(now)).label("overdue"),
        count.filter(deadlines.colour(now) == "red").label("red_now"),
    ).join(IncidentCategory, IncidentCategory.code == Incident.category_code)


def _row(r: Any, names: dict[str, str]) -> dict[str, Any]:
    def rounded(v: float | None) -> float | None:
        return None if v is None else round(float(v), 1)

    return {
        "key": r.key,
        "name": names.get(r.key) if r.key else "合计 all",
        "total": r.total,
        "open": r.open,
        "closed": r.closed,
        "rejected": r.rejected,
        "median_dispatch_min": rounded(r.median_dispatch_min),
        "median_close_min": rounded(r.median_close_min),
        "overdue": r.overdue,
        "overdue_share": round(r.overdue / r.total, 3) if r.total else None,
        "red_now": r.red_now,
    }


def _names(session: Session, by: str, keys: list[str]) -> dict[str, str]:
    if by in PERIODS:
        return {k: k for k in keys}
    if by == "category":
        stmt = select(IncidentCategory.code, IncidentCategory.name_zh).where(IncidentCategory.code.in_(keys))
    else:
        # The newest generation's name: a code keeps its identity across generations.
        stmt = (
            select(GridUnit.code, GridUnit.name)
            .where(GridUnit.code.in_(keys))
            .order_by(GridUnit.code, GridUnit.valid_from)
        )
    return {code: name for code, name in session.execute(stmt)}


def stats(
    session: Session,
    *,
    by: str,
    since: datetime | None = None,
    until: datetime | None = None,
    principal: Principal | None,
    now: datetime,
) -> dict[str, Any]:
    """Counts, median times and overdue share per group, and for all together."""
    if by not in GROUPS and by not in PERIODS:
        raise InvalidInput(
            f"无法按 {by!r} 统计 Cannot group by {by!r}.",
            field="by",
            value=by,
            expected=", ".join([*GROUPS, *PERIODS]),
        )
    conds = [visibility.clause(visibility.prefixes(session, principal))]
    if aware(since, field="from") is not None:
        conds.append(Incident.reported_at >= since)
    if aware(until, field="to") is not None:
        conds.append(Incident.reported_at < until)
    key = _group_key(by)
    groups = session.execute(_aggregate(key, now).where(*conds).group_by(key).order_by(key)).all()
    total = session.execute(_aggregate(literal(None), now).where(*conds)).one()
    names = _names(session, by, [r.key for r in groups if r.key])
    return {
        "by": by,
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
        "at": now.isoformat(),
        "groups": [_row(r, names) for r in groups],
        "all": _row(total, names),
    }
