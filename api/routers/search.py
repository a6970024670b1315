"""Search grid units, compounds and service sites by name, alias or code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import SessionDep, policy
from api.schemas.layers import SearchHit
from gisgrid import search as search_service

router = APIRouter(prefix="/api", tags=["search"])


@router.get(
    "/search",
    summary="搜索 Search by name or code",
    description="Grid units (name or code prefix), compounds (name or alias) and service sites (name or brand) "
    "matching `q`, exact matches first, with a point and bounding box to zoom to.",
    response_model=list[SearchHit],
    **policy("public"),
)
def get_search(
    session: SessionDep,
    q: Annotated[str, Query(description="name, alias or grid code, e.g. 莲花 or 510104003001")],
    limit: Annotated[int, Query(ge=1, le=100, description="most results")] = 20,
) -> list[dict[str, Any]]:
    return search_service.search(session, q=q, limit=limit)
