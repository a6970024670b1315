"""Grid hierarchy: topology validation, one unit, attribute edits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PrincipalDep, SessionDep, SettingsDep, client_ip, policy
from api.schemas.grids import GridUnit, TopologyReport
from gisgrid.errors import InvalidInput
from gisgrid.grids import generations, topology, units

router = APIRouter(prefix="/api/grids", tags=["grids"])


@router.get(
    "/validate",
    summary="拓扑检查 Validate grid topology",
    description=(
        "Checks the current grids in PostGIS: invalid geometries, overlaps between siblings, gaps inside a parent, "
        "children outside their parent, missing parents, codes not unique or not matching the parent, wrong "
        "levels, compounds not in exactly one micro-grid, micro-grids outside the household range. Each issue has "
        "its rule, severity, codes, area in m² and a point where it is. Overlaps, gaps and overhangs smaller than "
        "`sliver_m2` are warnings (slivers), not errors."
    ),
    response_model=TopologyReport,
    **policy("grids.validate"),
)
def validate_grids(
    session: SessionDep,
    settings: SettingsDep,
    sliver_m2: Annotated[
        float | None, Query(ge=0, le=1e6, description="sliver tolerance in m² (default 1)")
    ] = None,
) -> dict[str, Any]:
    rules = settings.grid_rules
    if sliver_m2 is not None:
        rules = rules.model_copy(update={"sliver_m2": sliver_m2})
    return topology.validate(session, rules=rules, srid=settings.geo.metric_srid)


class GridPatch(BaseModel):
    """Attributes a planner may change (boundaries are edited as new generations)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=200)
    households: int | None = Field(default=None, ge=0, le=100_000)
    population: int | None = Field(default=None, ge=0, le=1_000_000)
    reason: str | None = Field(
        default=None, max_length=500, description="why: kept with the edit's generation"
    )


class GenerationOut(BaseModel):
    """A set of grid changes saved together: who, when, why, and how many units it added, retired, changed."""

    id: int
    created_at: datetime
    created_by: str | None = Field(description="user name; null for the system and the demo load")
    source: Literal["import", "edit", "revert", "demo"]
    reason: str | None
    units_added: int
    units_retired: int
    units_changed: int
    detail: dict[str, Any] | None = Field(description="the file of an import; before/after of an edit")


class GenerationPageOut(BaseModel):
    """Generations, newest first."""

    total: int
    limit: int
    offset: int
    items: list[GenerationOut]


class UnitChangeOut(BaseModel):
    """One unit a generation changed: `added`, `changed` (a new version of the code), `retired`, or `edited`
    (attributes changed in place, with before and after)."""

    code: str
    level: str
    name: str
    change: Literal["added", "changed", "retired", "edited"]
    version: int
    valid_from: datetime
    valid_to: datetime | None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class GenerationChangesOut(BaseModel):
    """A generation and the units it changed (paged)."""

    generation: GenerationOut
    total: int
    limit: int
    offset: int
    units: list[UnitChangeOut]


@router.get(
    "/generations",
    summary="网格版本 Grid generations",
    description="Every set of grid changes saved together — an import (`gisgrid import grids`, the import "
    "API), the demo load, an attribute edit — newest first, with who, when, why and how many units it added, "
    "retired and changed.",
    response_model=GenerationPageOut,
    **policy("grids.history"),
)
def list_generations(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> GenerationPageOut:
    page = generations.list_generations(session, limit=limit, offset=offset)
    items = [GenerationOut.model_validate(g, from_attributes=True) for g in page.items]
    return GenerationPageOut(total=page.total, limit=limit, offset=offset, items=items)


@router.get(
    "/generations/{generation_id}",
    summary="网格版本的变更 What one generation changed",
    description="The generation and its units, by code: `added`, `changed` (a new version of an existing code), "
    "`retired`, or `edited` (attributes changed in place; `before` and `after`). Paged by `limit`/`offset`.",
    response_model=GenerationChangesOut,
    responses={404: {"description": "no such generation"}},
    **policy("grids.history"),
)
def get_generation(
    generation_id: Annotated[int, Path(ge=1, le=2**62)],
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> GenerationChangesOut:
    found = generations.get_changes(session, generation_id=generation_id, limit=limit, offset=offset)
    return GenerationChangesOut(
        generation=GenerationOut.model_validate(found.generation, from_attributes=True),
        total=found.total,
        limit=limit,
        offset=offset,
        units=[UnitChangeOut.model_validate(u, from_attributes=True) for u in found.units],
    )


def _etag(version: int) -> str:
    return f'"{version}"'


def _parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise InvalidInput(
            f"If-Match {value!r} is not a version.",
            field="If-Match",
            value=value,
            expected='the ETag of the unit, e.g. "3"',
        )
    return int(raw)


@router.get(
    "/{code}",
    summary="网格单元 One grid unit",
    description="A grid unit by its stable code: current, or the generation in force at `at`. The ETag header "
    "is its version, to send back as If-Match when editing.",
    response_model=GridUnit,
    response_model_exclude_unset=True,
    responses={404: {"description": "no such unit at that time"}},
    **policy("public"),
)
def get_grid(
    code: Annotated[str, Path(max_length=32, pattern=r"^[0-9A-Za-z-]+$")],
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    at: Annotated[datetime | None, Query(description="ISO time; default now")] = None,
) -> dict[str, Any]:
    unit = units.get_unit(session, code=code, at=at, private=principal.can("contacts.read"))
    response.headers["ETag"] = _etag(unit["version"])
    return unit


@router.patch(
    "/{code}",
    summary="修改网格属性 Edit a grid unit's attributes",
    description="Changes name, English name, households or population of the current unit. Requires If-Match "
    "with the version (ETag) that was edited: a stale version gets 409 with the current version, never a silent "
    "overwrite. Planners may edit only units inside their scope. Audited with before/after values; each edit is "
    "saved as a grid generation (source `edit`, with the optional `reason`).",
    response_model=GridUnit,
    response_model_exclude_unset=True,
    responses={409: {"description": "stale version"}, 403: {"description": "outside the caller's scope"}},
    **policy("grids.edit"),
)
def patch_grid(
    code: Annotated[str, Path(max_length=32, pattern=r"^[0-9A-Za-z-]+$")],
    body: GridPatch,
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    unit = units.update_attributes(
        session,
        code=code,
        changes=changes,
        reason=reason,
        expected_version=_parse_if_match(if_match),
        actor=principal,
        ip=client_ip(request),
    )
    response.headers["ETag"] = _etag(unit["version"])
    return unit
