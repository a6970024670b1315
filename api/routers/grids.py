"""Grid hierarchy: topology validation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import SessionDep, SettingsDep
from gisgrid.grids import topology

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
