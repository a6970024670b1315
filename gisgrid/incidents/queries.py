"""Reading incidents: list with filters, one incident with its timeline and allowed actions, map GeoJSON,
the overdue list. Deadline colours are computed in SQL at read time (deadlines.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.db.models import Compound, GridUnit, Incident, IncidentCategory, IncidentEvent
from gisgrid.errors import InvalidInput, NotFound
from gisgrid.incidents import deadlines, visibility, workflow
from gisgrid.times import aware

OVERDUE_FILTERS = ("yes", "no", "yellow")


@dataclass(frozen=True)
class Filters:
    """List filters; all optional."""

    status: tuple[str, ...] = ()
    category: str | None = None  # a code: the category and its subcategories
    grid: str | None = None  # a grid-code prefix: community, general grid or micro-grid
    overdue: str | None = None  # yes = red, yellow, no = neither
    q: str | None = None  # text in the title
    since: datetime | None = None  # reported at or after
    until: datetime | None = None  # reported before
    bbox: tuple[float, float, float, float] | None = None  # WGS 84 min lon, min lat, max lon, max lat


def _columns(now: datetime) -> Select[Any]:
    return (
        select(
            Incident,
            IncidentCategory.name_zh.label("category_zh"),
            IncidentCategory.name_en.label("category_en"),
            GridUnit.name.label("micro_name"),
            func.ST_X(Incident.geom).label("lon"),
            func.ST_Y(Incident.geom).label("lat"),
            deadlines.step().label("step"),
            deadlines.due().label("due_at"),
            deadlines.colour(now).label("colour"),
        )
        .join(IncidentCategory, IncidentCategory.code == Incident.category_code)
        .outerjoin(GridUnit, GridUnit.id == Incident.grid_unit_id)
    )


def _where(f: Filters, now: datetime) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.status:
        conds.append(Incident.status.in_(f.status))
    if f.category:
        conds.append(
            (Incident.category_code == f.category)
            | Incident.category_code.startswith(f.category + ".", autoescape=True)
        )
    if f.grid:
        conds.append(Incident.micro_code.startswith(f.grid, autoescape=True))
    if f.overdue:
        colour = deadlines.colour(now)
        conds.append(
            {"yes": colour == "red", "yellow": colour == "yellow", "no": colour.in_(("green", "none"))}[
                f.overdue
            ]
        )
    if f.q:
        conds.append(Incident.title.contains(f.q, autoescape=True))
    if f.since:
        conds.append(Incident.reported_at >= f.since)
    if f.until:
        conds.append(Incident.reported_at < f.until)
    if f.bbox:
        conds.append(Incident.geom.intersects(func.ST_MakeEnvelope(*f.bbox, 4326)))
    return conds


def check_filters(f: Filters) -> None:
    """InvalidInput for filters that cannot be right."""
    bad_status = [s for s in f.status if s not in workflow.STATUS_LABELS]
    if bad_status:
        raise InvalidInput(
            f"未知状态 Unknown status {bad_status[0]!r}.",
            field="status",
            value=bad_status[0],
            expected=", ".join(workflow.STATUS_LABELS),
        )
    if f.overdue is not None and f.overdue not in OVERDUE_FILTERS:
        raise InvalidInput(
            "overdue 取值无效", field="overdue", value=f.overdue, expected=", ".join(OVERDUE_FILTERS)
        )
    for value, name in ((f.category, "category"), (f.grid, "grid"), (f.q, "q")):
        if value is not None and "\x00" in value:
            raise InvalidInput(f"{name} 含无效字符", field=name, expected="text without NUL characters")
    aware(f.since, field="from")
    aware(f.until, field="to")


def summary(row: Any) -> dict[str, Any]:
    """One incident as JSON (list, map and detail share it)."""
    inc: Incident = row.Incident
    return {
        "id": inc.id,
        "ext_id": inc.ext_id,
        "title": inc.title,
        "category": {"code": inc.category_code, "name": row.category_zh, "name_en": row.category_en},
        "channel": inc.channel,
        "status": inc.status,
        "status_label": workflow.STATUS_LABELS[inc.status],
        "level": inc.level,
        "department": inc.department,
        "reported_at": inc.reported_at.isoformat(),
        "location": {"lon": round(row.lon, 7), "lat": round(row.lat, 7), "crs": "wgs84"},
        "grid": {
            "unit_id": inc.grid_unit_id,
            "micro_code": inc.micro_code,
            "micro_name": row.micro_name,
            "general_code": inc.general_code,
            "community_code": inc.community_code,
            "subdistrict_code": inc.subdistrict_code,
        },
        "step": {
            "name": row.step,
            "started_at": inc.step_started_at.isoformat(),
            "due_at": row.due_at.isoformat() if row.due_at else None,
            "colour": row.colour,
        },
        "dispatched_at": inc.dispatched_at.isoformat() if inc.dispatched_at else None,
        "closed_at": inc.closed_at.isoformat() if inc.closed_at else None,
        "version": inc.version,
    }


def list_incidents(
    session: Session,
    *,
    principal: Principal | None,
    filters: Filters,
    limit: int = 50,
    offset: int = 0,
    now: datetime,
) -> dict[str, Any]:
    """A page of incidents the principal may see, newest first, and how many match in all."""
    check_filters(filters)
    conds = [*_where(filters, now), visibility.clause(visibility.prefixes(session, principal))]
    base = _columns(now).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    rows = session.execute(
        base.order_by(Incident.reported_at.desc(), Incident.id.desc()).limit(limit).offset(offset)
    )
    return {"total": total, "limit": limit, "offset": offset, "items": [summary(r) for r in rows]}


def geojson(
    session: Session, *, principal: Principal | None, filters: Filters, limit: int = 2000, now: datetime
) -> dict[str, Any]:
    """The incidents as a GeoJSON FeatureCollection (WGS 84) with status and colour properties."""
    page = list_incidents(session, principal=principal, filters=filters, limit=limit, now=now)
    features = []
    for item in page["items"]:
        loc = item.pop("location")
        props = {**item, "colour": item["step"]["colour"], "due_at": item["step"]["due_at"]}
        features.append(
            {
                "type": "Feature",
                "id": item["id"],
                "properties": props,
                "geometry": _point(loc["lon"], loc["lat"]),
            }
        )
    return {"type": "FeatureCollection", "features": features, "total": page["total"]}


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def overdue(
    session: Session,
    *,
    principal: Principal | None,
    include_yellow: bool = False,
    limit: int = 200,
    now: datetime,
) -> list[dict[str, Any]]:
    """Red (and optionally yellow) incidents, the longest overdue first, with minutes past due."""
    colours = ("red", "yellow") if include_yellow else ("red",)
    stmt = (
        _columns(now)
        .where(deadlines.colour(now).in_(colours), visibility.clause(visibility.prefixes(session, principal)))
        .order_by(deadlines.due(), Incident.id)
        .limit(limit)
    )
    out = []
    for row in session.execute(stmt):
        item = summary(row)
        item["overdue_minutes"] = round((now - row.due_at).total_seconds() / 60, 1)
        out.append(item)
    return out


def fetch(session: Session, *, incident_id: int, principal: Principal | None, now: datetime) -> Any:
    """The row of one incident the principal may see, or NotFound (also for one outside their grids)."""
    allowed = visibility.prefixes(session, principal)
    row = session.execute(_columns(now).where(Incident.id == incident_id, visibility.clause(allowed))).first()
    if row is None:
        raise NotFound(
            f"没有事件 No incident {incident_id} (or it is outside your grids).",
            field="id",
            value=incident_id,
            expected="the id of an incident you may see",
        )
    return row


def timeline(session: Session, *, incident_id: int) -> list[dict[str, Any]]:
    """The incident's events, oldest first."""
    events = session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    return [
        {
            "at": e.at.isoformat(),
            "actor": e.actor,
            "role": e.role,
            "action": e.action,
            "label": _event_label(e.action),
            "from_status": e.from_status,
            "to_status": e.to_status,
            "comment": e.comment,
            "attachments": list(e.attachments or []),
            "detail": e.detail,
        }
        for e in events
    ]


def _event_label(action: str) -> str:
    if action in workflow.TRANSITIONS:
        return workflow.TRANSITIONS[action].label
    return {"create": "上报 reported", "move": "移动位置 moved"}.get(action, action)


def _compound(session: Session, compound_id: int | None) -> dict[str, str] | None:
    found = session.get(Compound, compound_id) if compound_id is not None else None
    return {"id": found.ext_id, "name": found.name} if found else None


def describe(session: Session, *, row: Any, role: str) -> dict[str, Any]:
    """A fetched incident with its description, timeline and the actions `role` may take now."""
    inc: Incident = row.Incident
    out = summary(row)
    out.update(
        description=inc.description,
        address=inc.address,
        reporter=inc.reporter,
        created_by=inc.created_by,
        compound=_compound(session, inc.compound_id),
        input={"crs": inc.input_crs, "lon": inc.input_lon, "lat": inc.input_lat},
        timeline=timeline(session, incident_id=inc.id),
        allowed_actions=workflow.allowed_actions(status=inc.status, level=inc.level, role=role),
    )
    return out


def detail(
    session: Session, *, incident_id: int, principal: Principal | None, now: datetime
) -> dict[str, Any]:
    """One incident the principal may see, with timeline and allowed actions."""
    row = fetch(session, incident_id=incident_id, principal=principal, now=now)
    return describe(session, row=row, role=principal.role if principal else "admin")
