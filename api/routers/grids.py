"""Grid hierarchy: topology validation, one unit, attribute edits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PrincipalDep, SessionDep, SettingsDep, client_ip, policy
from api.schemas.grids import GridUnit, TopologyReport
from gisgrid.errors import InvalidInput
from gisgrid.grids import topology, units

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
    "overwrite. Planners may edit only units inside their scope. Audited with before/after values.",
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
    unit = units.update_attributes(
        session,
        code=code,
        changes=body.model_dump(exclude_unset=True),
        expected_version=_parse_if_match(if_match),
        actor=principal,
        ip=client_ip(request),
    )
    response.headers["ETag"] = _etag(unit["version"])
    return unit
