"""Locate a point (map click, phone coordinates in GCJ-02/BD-09, WGS 84) in the grid."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api.deps import AioDep, AsyncPrincipalDep, SessionDep, SettingsDep, policy
from api.schemas.locate import LocateAnswer, Place
from gisgrid.crs import InputCRS
from gisgrid.grids import locate as locate_service
from gisgrid.grids import places

router = APIRouter(prefix="/api", tags=["locate"])


@router.get(
    "/locate",
    summary="定位 Locate a point in the grid",
    description=(
        "Which micro-grid, general grid, community and subdistrict a point lies in, who is responsible "
        "(micro-grid worker, grid worker, community head), the compound and building it is in, the three "
        "nearest service sites by walking distance along the network (rivers are crossed only at bridges), "
        "and the input converted to WGS 84.\n\n"
        "`crs` is required: coordinates from phone map apps (Amap, Tencent, WeChat) are gcj02 and about 300 m "
        "off WGS 84; Baidu gives bd09. When the accuracy circle (default 15 m) touches several micro-grids the "
        "answer is `ambiguous` and lists every candidate; a point on a shared edge belongs to the smallest code. "
        "`at` answers with the grid generation in force at that time. A point outside every grid is 422 with "
        "the nearest grid and its distance."
    ),
    # Documented, not validated: the route serializes the answer itself with orjson (the hot path).
    response_model=LocateAnswer,
    response_class=JSONResponse,
    responses={
        200: {"description": "the grid answer"},
        422: {"description": "bad coordinates or CRS, or the point is outside every grid"},
    },
    **policy("user", asynchronous=True),
)
async def get_locate(
    db: AioDep,
    settings: SettingsDep,
    principal: AsyncPrincipalDep,
    lon: Annotated[
        float, Query(allow_inf_nan=False, description="longitude in `crs`", examples=[104.107747])
    ],
    lat: Annotated[float, Query(allow_inf_nan=False, description="latitude in `crs`", examples=[30.637684])],
    crs: Annotated[InputCRS, Query(description="wgs84 | cgcs2000 | gcj02 | bd09 (required, never guessed)")],
    accuracy: Annotated[
        float | None, Query(ge=0, le=1000, allow_inf_nan=False, description="accuracy radius in metres")
    ] = None,
    at: Annotated[datetime | None, Query(description="ISO time; default now")] = None,
) -> Response:
    # The hot route of the dispatch centre: async on the asyncpg pool, serialized with orjson (see gisgrid.db.aio).
    body = await locate_service.locate_async(
        db,
        lon=lon,
        lat=lat,
        crs=crs,
        accuracy_m=settings.incidents.locate_accuracy_m if accuracy is None else accuracy,
        at=at,
        viewer=principal,
    )
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/locate/places",
    summary="按小区楼栋定位 Find a compound or building to locate",
    description="Fuzzy search on compound names and aliases with an optional building number, e.g. "
    "`莲花新区3栋` or `朝阳逸景 2-1` (building 2, unit 1). Returns candidates best first, each with a WGS 84 "
    "point inside the building (or compound) to pass to `/api/locate` with `crs=wgs84`. When no matching "
    "compound has that building, the compounds are returned with `building_not_found`.",
    response_model=list[Place],
    **policy("user"),
)
def get_places(
    session: SessionDep,
    q: Annotated[
        str, Query(max_length=100, description="compound name or alias, optionally a building number")
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[dict[str, Any]]:
    return places.find_places(session, q=q, limit=limit)
