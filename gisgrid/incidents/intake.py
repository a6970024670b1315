"""Reporting an incident (from coordinates in a named CRS, or from a compound and building) and moving it.

An incident is assigned at report time to the micro-grid generation in force at reported_at and keeps that
assignment when boundaries are redrawn later; only moving it re-assigns it, at the time of the move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal, require
from gisgrid.db.models import Building, Compound, Incident, IncidentCategory
from gisgrid.errors import Conflict, Forbidden, InvalidInput
from gisgrid.grids.locate import assign_point, to_storage
from gisgrid.incidents import checks, deadlines, duplicates, events, queries, visibility, workflow


@dataclass(frozen=True)
class NewIncident:
    """What a report says: category, texts, time, and either lon/lat/crs or a compound (and building)."""

    category_code: str
    title: str
    description: str | None = None
    channel: str | None = None
    reported_at: datetime | None = None
    reporter: str | None = None
    address: str | None = None
    ext_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str | None = None
    compound: str | None = None
    building: str | None = None


@dataclass(frozen=True)
class Place:
    """Where an incident is: WGS 84, with the input as given and the compound when reported by compound."""

    lon: float
    lat: float
    input_crs: str
    input_lon: float
    input_lat: float
    compound_id: int | None = None


def resolve_place(session: Session, *, data: NewIncident) -> Place:
    """The WGS 84 point of a report, from coordinates in a named CRS or a compound (and building)."""
    compound = checks.text(data.compound, field="compound", max_len=32)
    has_point = data.lon is not None or data.lat is not None
    if has_point == (compound is not None):
        raise InvalidInput(
            "位置二选一 Give either lon/lat with crs, or a compound.",
            field="lon,lat,compound",
            expected="lon + lat + crs (wgs84|cgcs2000|gcj02|bd09), or compound (+ building)",
        )
    if compound is not None:
        label = checks.text(data.building, field="building", max_len=32)
        return _compound_place(session, ext_id=compound, label=label)
    if data.lon is None or data.lat is None:
        raise InvalidInput(
            "经纬度不完整 Both lon and lat are needed.", field="lon,lat", expected="lon and lat"
        )
    wlon, wlat, system = to_storage(data.lon, data.lat, data.crs or "")
    return Place(wlon, wlat, system.value, data.lon, data.lat)


def _building(session: Session, compound: Compound, label: str) -> Building:
    wanted = f"{int(label)}栋" if label.isascii() and label.isdigit() else label
    building = session.scalar(
        select(Building).where(Building.compound_id == compound.id, Building.label == wanted)
    )
    if building is None:
        labels = session.scalars(
            select(Building.label).where(Building.compound_id == compound.id).order_by(Building.id)
        ).all()
        raise InvalidInput(
            f"{compound.name} 没有 {label!r} No such building in {compound.name}.",
            field="building",
            value=label,
            expected="one of: " + (", ".join(labels[:40]) or "(the compound has no buildings)"),
        )
    return building


def _compound_place(session: Session, *, ext_id: str, label: str | None) -> Place:
    compound = session.scalar(select(Compound).where(Compound.ext_id == ext_id))
    if compound is None:
        raise InvalidInput(
            f"没有小区 No compound {ext_id!r}.",
            field="compound",
            value=ext_id,
            expected="a compound id (find it with GET /api/locate/places?q=小区名)",
        )
    geom = compound.geom if label is None else _building(session, compound, label).geom
    lon, lat = session.execute(
        select(func.ST_X(func.ST_PointOnSurface(geom)), func.ST_Y(func.ST_PointOnSurface(geom)))
    ).one()
    return Place(lon, lat, "wgs84", lon, lat, compound.id)


def _point(lon: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=4326)


def _assign(inc: Incident, grid: dict[str, Any], place: Place) -> None:
    inc.geom = _point(place.lon, place.lat)
    inc.input_crs, inc.input_lon, inc.input_lat = place.input_crs, place.input_lon, place.input_lat
    inc.grid_unit_id, inc.micro_code = grid["id"], grid["code"]
    inc.general_code, inc.community_code = grid["general_code"], grid["community_code"]
    inc.subdistrict_code = grid["subdistrict_code"]
    inc.compound_id = place.compound_id or grid["compound_id"]


def _texts(data: NewIncident) -> dict[str, str | None]:
    return {
        "title": checks.text(data.title, field="title", max_len=200, required=True),
        "description": checks.text(data.description, field="description", max_len=4000),
        "reporter": checks.text(data.reporter, field="reporter", max_len=100),
        "address": checks.text(data.address, field="address", max_len=300),
        "ext_id": checks.text(data.ext_id, field="ext_id", max_len=64),
    }


def _unique_ext_id(session: Session, ext_id: str | None) -> None:
    if ext_id is not None and session.scalar(select(Incident.id).where(Incident.ext_id == ext_id)):
        raise Conflict(
            f"外部编号已存在 An incident with ext_id {ext_id!r} exists.",
            field="ext_id",
            value=ext_id,
            expected="a new ext_id, or none",
        )


def _new(
    cat: IncidentCategory,
    *,
    texts: dict[str, str | None],
    channel: str,
    at: datetime,
    actor: Principal | None,
) -> Incident:
    return Incident(
        category_code=cat.code,
        channel=channel,
        status="reported",
        level="micro",
        reported_at=at,
        created_by=actor.username if actor else "system",
        step_started_at=at,
        step_due_at=deadlines.due_after(cat.step_hours, status="reported", started=at),
        version=1,
        **texts,
    )


def create(
    session: Session,
    *,
    data: NewIncident,
    actor: Principal | None,
    ip: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Report an incident: check everything, assign it to the grid in force then, suggest duplicates."""
    now = now or datetime.now(UTC)
    if actor is not None:
        require(actor, "incidents.create")
    cat = checks.category(session, data.category_code)
    texts = _texts(data)
    channel = checks.channel(data.channel, role=actor.role if actor else "admin")
    at = checks.reported_time(data.reported_at, now=now)
    _unique_ext_id(session, texts["ext_id"])
    place = resolve_place(session, data=data)
    grid = assign_point(session, lon=place.lon, lat=place.lat, at=at)
    allowed = visibility.prefixes(session, actor)
    similar = duplicates.near(
        session, lon=place.lon, lat=place.lat, category=cat.code, at=at, allowed=allowed
    )
    inc = _new(cat, texts=texts, channel=channel, at=at, actor=actor)
    _assign(inc, grid, place)
    session.add(inc)
    session.flush()
    detail = {"channel": channel, "recorded_at": now.isoformat(), "duplicates": [d["id"] for d in similar]}
    events.record(session, inc=inc, actor=actor, action="create", at=at, before=None, detail=detail, ip=ip)
    # The reporter may not see the incident afterwards (a patrol, a grid worker outside their grids): answer anyway.
    row = queries.fetch(session, incident_id=inc.id, principal=None, now=now)
    out = queries.describe(session, row=row, role=_role(actor))
    if not visibility.sees(allowed, inc.micro_code):
        out["allowed_actions"] = []  # outside the reporter's grids: every action would be refused (404)
    out["duplicates"] = similar
    return out


def _role(actor: Principal | None) -> str:
    return actor.role if actor else "admin"


def _where(session: Session, inc: Incident) -> dict[str, Any]:
    lon, lat = session.execute(select(func.ST_X(inc.geom), func.ST_Y(inc.geom))).one()
    return {
        "lon": round(lon, 7),
        "lat": round(lat, 7),
        "grid_unit_id": inc.grid_unit_id,
        "micro_code": inc.micro_code,
        "general_code": inc.general_code,
        "community_code": inc.community_code,
    }


def _check_move(session: Session, *, inc: Incident, grid: dict[str, Any], actor: Principal | None) -> None:
    """Closed and rejected incidents stay where they are; a grid worker moves only within their grids."""
    if inc.status in workflow.FINAL:
        raise Conflict(
            f"事件已{workflow.STATUS_LABELS[inc.status]}，不能移动 A {inc.status} incident cannot be moved.",
            field="id",
            value=inc.id,
            expected="an open incident",
        )
    if not visibility.sees(visibility.prefixes(session, actor), grid["code"]):
        raise Forbidden(
            f"只能移到自己的网格内 The new point lies in {grid['code']}, outside your grids.",
            field="lon,lat",
            expected="a point inside the grids you serve",
        )


def move(
    session: Session,
    *,
    incident_id: int,
    lon: float,
    lat: float,
    crs: str,
    actor: Principal | None,
    version: int | None,
    comment: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move an open incident to a new point, re-assigning it to the grid in force now; a `move` event."""
    now = now or datetime.now(UTC)
    if actor is not None:
        require(actor, "incidents.act")
    wlon, wlat, system = to_storage(lon, lat, crs)
    note = checks.text(comment, field="comment", max_len=2000)
    inc = events.lock(session, incident_id=incident_id, actor=actor)
    checks.version(inc, version)
    grid = assign_point(session, lon=wlon, lat=wlat, at=now)
    _check_move(session, inc=inc, grid=grid, actor=actor)
    before, where_before = events.snapshot(inc), _where(session, inc)
    _assign(inc, grid, Place(wlon, wlat, system.value, lon, lat))
    inc.version += 1
    session.flush()
    detail = {"before": where_before, "after": _where(session, inc)}
    events.record(
        session,
        inc=inc,
        actor=actor,
        action="move",
        at=now,
        before=before,
        comment=note,
        detail=detail,
        ip=ip,
    )
    return queries.detail(session, incident_id=inc.id, principal=actor, now=now)


def categories(session: Session) -> list[dict[str, Any]]:
    """The active categories with their time limits and duplicate rules."""
    rows = session.scalars(
        select(IncidentCategory).where(IncidentCategory.active).order_by(IncidentCategory.code)
    )
    return [
        {
            "code": c.code,
            "parent_code": c.parent_code,
            "name": c.name_zh,
            "name_en": c.name_en,
            "step_hours": c.step_hours,
            "duplicate_radius_m": c.duplicate_radius_m,
            "duplicate_window_h": c.duplicate_window_h,
        }
        for c in rows
    ]
