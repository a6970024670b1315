"""GET /api/health: is the database reachable, which PostGIS and pgRouting."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import SessionDep, policy
from gisgrid import health as health_service

router = APIRouter(prefix="/api", tags=["health"])


class Health(BaseModel):
    status: str = Field(description="'ok' when the database answers and the schema is current")
    database: str = Field(description="'ok' or the error")
    postgres_version: str
    postgis_version: str
    pgrouting_version: str
    schema_revision: str | None = Field(description="Alembic revision of the database")
    schema_head: str | None = Field(description="newest Alembic revision in the code")


@router.get(
    "/health",
    response_model=Health,
    summary="服务状态 Health",
    description="Database reachable, PostgreSQL, PostGIS and pgRouting versions, schema revision. "
    "503 with the error shape when the database cannot be reached.",
    responses={503: {"description": "database unavailable"}},
    **policy("public"),
)
def get_health(session: SessionDep) -> Health:
    return Health(**health_service.check(session))
