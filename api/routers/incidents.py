"""Incidents: report, locate in the grid, duplicates, the workflow (file → dispatch → handle → close), deadlines,
map layer and statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PrincipalDep, SessionDep, client_ip, policy
from api.schemas.incidents import (
    CreatedIncident,
    DuplicateCheck,
    IncidentDetail,
    IncidentFeatureCollection,
    IncidentMeta,
    IncidentPage,
    IncidentStats,
    OverdueIncident,
)
from gisgrid.crs import InputCRS
from gisgrid.db.models import INCIDENT_LEVELS, INCIDENT_STATUSES
from gisgrid.errors import InvalidInput
from gisgrid.incidents import actions, checks, duplicates, export, intake, queries, stats, workflow
from gisgrid.layers import parse_bbox

router = APIRouter(prefix="/api", tags=["incidents"])

Status = Literal[INCIDENT_STATUSES]  # type: ignore[valid-type]
Level = Literal[INCIDENT_LEVELS]  # type: ignore[valid-type]
Action = Literal[workflow.ACTIONS]  # type: ignore[valid-type]
Channel = Literal[checks.CHANNELS]  # type: ignore[valid-type]
CODE = r"^[A-Za-z0-9_.-]+$"
IncidentId = Annotated[int, Path(ge=1, le=2**62, description="incident id")]
IfMatch = Annotated[str | None, Header(max_length=40, description='the ETag (version) you saw, e.g. "3"')]


class GeoJSONResponse(JSONResponse):
    """JSON as application/geo+json (RFC 7946)."""

    media_type = "application/geo+json"


def _now() -> datetime:
    return datetime.now(UTC)


class IncidentIn(BaseModel):
    """A report: category, texts, time, and either lon + lat + crs or a compound (and building)."""

    model_config = ConfigDict(extra="forbid")
    category_code: str = Field(max_length=40, pattern=CODE, description="see GET /api/incidents/meta")
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    channel: Channel | None = Field(default=None, description="default: by role (grid worker: patrol)")
    reported_at: datetime | None = Field(default=None, description="ISO time with offset; default now")
    reporter: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    ext_id: str | None = Field(default=None, max_length=64, description="an outside system's id (unique)")
    lon: float | None = Field(default=None, allow_inf_nan=False, description="longitude in `crs`")
    lat: float | None = Field(default=None, allow_inf_nan=False, description="latitude in `crs`")
    crs: InputCRS | None = Field(default=None, description="required with lon/lat: wgs84|cgcs2000|gcj02|bd09")
    compound: str | None = Field(default=None, max_length=32, description="compound id instead of lon/lat")
    building: str | None = Field(default=None, max_length=32, description="building label, e.g. 3栋 or 3")


class TransitionIn(BaseModel):
    """A workflow action with the version seen (or If-Match), a comment and attachment names."""

    model_config = ConfigDict(extra="forbid")
    action: Action
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="or the If-Match header")
    comment: str | None = Field(default=None, max_length=2000, description="required for return and reject")
    attachments: list[str] = Field(default_factory=list, max_length=20, description="file names only")
    level: Level | None = Field(default=None, description="escalate: the level to (default: the next)")
    department: str | None = Field(default=None, max_length=100, description="escalate to department")
    category: str | None = Field(
        default=None,
        max_length=40,
        pattern=CODE,
        description="file: the corrected category code (立案时改类别); later deadlines follow its hours",
    )


class MoveIn(BaseModel):
    """A corrected location in a named coordinate system."""

    model_config = ConfigDict(extra="forbid")
    lon: float
    lat: float
    crs: InputCRS
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="or the If-Match header")
    comment: str | None = Field(default=None, max_length=2000)


def _version(if_match: str | None, body_version: int | None) -> int | None:
    raw = if_match.strip().removeprefix("W/").strip('"') if if_match is not None else None
    if raw is not None and not raw.isdigit():
        raise InvalidInput(
            f"If-Match {if_match!r} is not a version.", field="If-Match", value=if_match, expected='e.g. "3"'
        )
    header = int(raw) if raw is not None else None
    if header is not None and body_version is not None and header != body_version:
        raise InvalidInput(
            "If-Match 与 version 不一致 If-Match and version disagree.",
            field="version",
            value=body_version,
            expected=f"the same version in both, or only one ({header})",
        )
    return header if header is not None else body_version


def _etag(response: Response, out: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = f'"{out["version"]}"'
    return out


def list_filters(
    status: Annotated[list[Status] | None, Query(description="repeatable")] = None,
    category: Annotated[
        str | None, Query(max_length=40, pattern=CODE, description="with subcategories")
    ] = None,
    grid: Annotated[
        str | None,
        Query(max_length=32, pattern=r"^[0-9]+$", description="community/general/micro code prefix"),
    ] = None,
    overdue: Annotated[
        Literal["yes", "no", "yellow"] | None, Query(description="yes = red, yellow, no = neither")
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="text in the title")] = None,
    since: Annotated[datetime | None, Query(alias="from", description="reported at or after (ISO)")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="reported before (ISO)")] = None,
) -> queries.Filters:
    """The list filters of a request."""
    return queries.Filters(
        status=tuple(status or ()),
        category=category,
        grid=grid,
        overdue=overdue,
        q=q,
        since=since,
        until=until,
    )


FiltersDep = Annotated[queries.Filters, Depends(list_filters)]


@router.get(
    "/incidents/meta",
    summary="事件字典 Categories, channels, statuses and the workflow table",
    description="What the intake form and the detail page need: active categories with their step time limits "
    "(hours) and duplicate radius/window, the channels, statuses, escalation levels and the workflow table "
    "(action, from, to, roles).",
    response_model=IncidentMeta,
    **policy("user"),
)
def get_meta(session: SessionDep) -> dict[str, Any]:
    return {
        "categories": intake.categories(session),
        "channels": list(checks.CHANNELS),
        "statuses": workflow.STATUS_LABELS,
        "levels": workflow.LEVEL_LABELS,
        "workflow": workflow.describe(),
    }


@router.get(
    "/incidents/duplicates",
    summary="疑似重复 Possible duplicates of a report",
    description="Open incidents of the same category family (the category, its parent and subcategories) within "
    "the category's duplicate radius of the point and reported within its window before `at` (default now), "
    "among the incidents the caller may see (grid workers: their grids). `crs` is required.",
    response_model=DuplicateCheck,
    **policy("incidents.create"),
)
def get_duplicates(
    session: SessionDep,
    principal: PrincipalDep,
    lon: Annotated[float, Query(allow_inf_nan=False, description="longitude in `crs`")],
    lat: Annotated[float, Query(allow_inf_nan=False, description="latitude in `crs`")],
    crs: Annotated[InputCRS, Query(description="wgs84 | cgcs2000 | gcj02 | bd09")],
    category: Annotated[str, Query(max_length=40, pattern=CODE)],
    at: Annotated[datetime | None, Query(description="report time (ISO with offset); default now")] = None,
) -> dict[str, Any]:
    return duplicates.suggest(
        session, lon=lon, lat=lat, crs=crs, category=category, at=at, now=_now(), principal=principal
    )


@router.get(
    "/incidents/overdue",
    summary="超时事件 Overdue incidents",
    description="Incidents whose running step is past due (red), the longest overdue first, with minutes past "
    "due; `yellow=true` adds those that used ≥ 80 % of the step's time.",
    response_model=list[OverdueIncident],
    **policy("incidents.read"),
)
def get_overdue(
    session: SessionDep,
    principal: PrincipalDep,
    yellow: Annotated[bool, Query(description="include yellow ones")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return queries.overdue(session, principal=principal, include_yellow=yellow, limit=limit, now=_now())


@router.get(
    "/incidents/stats",
    summary="事件统计 Incident statistics",
    description="Per community, general grid, micro-grid, category or period (day, week, month; local Beijing "
    "calendar, keys like 2026-11-27, 2026-W48, 2026-11), for incidents reported in [from, to): "
    "total, open, closed and rejected counts, median minutes from report to dispatch and to closure, overdue "
    "count and share (a step finished late, or red now), and the same for all together.",
    response_model=IncidentStats,
    **policy("incidents.read"),
)
def get_stats(
    session: SessionDep,
    principal: PrincipalDep,
    by: Annotated[
        Literal["community", "general", "micro", "category", "day", "week", "month"],
        Query(description="a grid level, category, or a local (Beijing) calendar period"),
    ] = "community",
    since: Annotated[datetime | None, Query(alias="from", description="ISO time with offset")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="ISO time with offset")] = None,
) -> dict[str, Any]:
    return stats.stats(session, by=by, since=since, until=until, principal=principal, now=_now())


@router.get(
    "/incidents",
    summary="事件列表 List incidents",
    description="Incidents the caller may see (grid workers: their grids), newest first, filtered by status, "
    "category (with subcategories), grid code prefix, deadline colour (`overdue`), title text and report time; "
    "one page of `limit` from `offset`, with `total`.",
    response_model=IncidentPage,
    **policy("incidents.read"),
)
def list_incidents(
    session: SessionDep,
    principal: PrincipalDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    return queries.list_incidents(
        session, principal=principal, filters=filters, limit=limit, offset=offset, now=_now()
    )


@router.get(
    "/incidents.geojson",
    summary="事件地图 Incidents as GeoJSON",
    description="The same filters as the list, plus `bbox` (WGS 84), as a FeatureCollection of points with "
    "status, level, category and deadline colour (green/yellow/red/none) properties.",
    response_model=IncidentFeatureCollection,
    response_class=GeoJSONResponse,
    **policy("incidents.read"),
)
def get_geojson(
    session: SessionDep,
    principal: PrincipalDep,
    filters: FiltersDep,
    bbox: Annotated[str | None, Query(max_length=200, description="minlon,minlat,maxlon,maxlat")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> GeoJSONResponse:
    chosen = queries.Filters(**{**filters.__dict__, "bbox": parse_bbox(bbox)})
    # Answered as is: documented by the response model, not validated feature by feature.
    return GeoJSONResponse(
        queries.geojson(session, principal=principal, filters=chosen, limit=limit, now=_now())
    )


@router.get(
    "/incidents.csv",
    summary="导出事件清单 Export the incident list as CSV",
    description="The same filters and visibility as the list, newest first, as a CSV file for Excel (UTF-8 with "
    "a BOM): id, ext_id, title, category, status, level, department, grid codes, report time, the running "
    f"step's deadline and colour, dispatch and close times (Beijing time), channel, WGS 84 lon/lat. At most "
    f"{export.MAX_ROWS:,} rows: `X-Total-Count` says how many matched, `X-Exported` how many are in the file. "
    "`lang=en` for English headers and words.",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    **policy("incidents.read"),
)
def get_csv(
    session: SessionDep,
    principal: PrincipalDep,
    filters: FiltersDep,
    lang: Annotated[Literal["zh", "en"], Query(description="header language")] = "zh",
) -> Response:
    now = _now()
    page = queries.list_incidents(
        session, principal=principal, filters=filters, limit=export.MAX_ROWS, offset=0, now=now
    )
    name = f"incidents-{now.astimezone(export.BEIJING):%Y%m%d-%H%M}.csv"
    return Response(
        export.to_csv(page["items"], lang=lang),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Total-Count": str(page["total"]),
            "X-Exported": str(len(page["items"])),
        },
    )


@router.post(
    "/incidents",
    status_code=201,
    summary="上报事件 Report an incident",
    description="Creates an incident from lon/lat in a named `crs` (converted to WGS 84 once, here) or from a "
    "compound id (and building): a point inside the building or compound. It is assigned to the micro-grid in "
    "force at `reported_at` and keeps it when boundaries change later. A point outside every grid is 422 naming "
    "the nearest grid. The answer lists possible `duplicates`.",
    response_model=CreatedIncident,
    response_model_exclude_unset=True,
    responses={409: {"description": "ext_id exists"}},
    **policy("incidents.create"),
)
def create_incident(
    body: IncidentIn, session: SessionDep, principal: PrincipalDep, request: Request, response: Response
) -> dict[str, Any]:
    data = intake.NewIncident(**body.model_dump())
    out = intake.create(session, data=data, actor=principal, ip=client_ip(request), now=_now())
    return _etag(response, out)


@router.get(
    "/incidents/{incident_id}",
    summary="事件详情 One incident",
    description="An incident with its timeline and `allowed_actions` for the caller now; ETag = version.",
    response_model=IncidentDetail,
    response_model_exclude_unset=True,
    responses={404: {"description": "no such incident, or outside the caller's grids"}},
    **policy("incidents.read"),
)
def get_incident(
    incident_id: IncidentId, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    return _etag(response, queries.detail(session, incident_id=incident_id, principal=principal, now=_now()))


@router.post(
    "/incidents/{incident_id}/transitions",
    summary="办理 Take a workflow action",
    description="file (optionally with a corrected `category`), dispatch, start, report, verify, close, return "
    "(reason), reject (reason), escalate (level, department). Needs the version seen (If-Match or `version`): a stale one is 409 with the current "
    "version. 403 when the caller's role may not take the action at the incident's level; 409 when the "
    "status does not allow it. Recorded on the timeline and in the audit trail.",
    response_model=IncidentDetail,
    response_model_exclude_unset=True,
    responses={409: {"description": "stale version or not allowed in this status"}},
    **policy("incidents.act"),
)
def post_transition(
    incident_id: IncidentId,
    body: TransitionIn,
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    step = actions.Step(**{**body.model_dump(), "version": _version(if_match, body.version)})
    out = actions.transition(
        session, incident_id=incident_id, step=step, actor=principal, ip=client_ip(request), now=_now()
    )
    return _etag(response, out)


@router.patch(
    "/incidents/{incident_id}/location",
    summary="更正位置 Move an incident",
    description="Moves an open incident to lon/lat in `crs` and re-assigns it to the micro-grid in force now; "
    "a `move` event records the codes before and after. Needs the version (If-Match or `version`).",
    response_model=IncidentDetail,
    response_model_exclude_unset=True,
    responses={409: {"description": "stale version, or the incident is closed"}},
    **policy("incidents.act"),
)
def patch_location(
    incident_id: IncidentId,
    body: MoveIn,
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    out = intake.move(
        session,
        incident_id=incident_id,
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        actor=principal,
        version=_version(if_match, body.version),
        comment=body.comment,
        ip=client_ip(request),
        now=_now(),
    )
    return _etag(response, out)
