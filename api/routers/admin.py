"""Administration: accounts and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import PrincipalDep, SessionDep, policy
from api.schemas.accounts import AuditRow, CreatedUser, UserStateAnswer, UserSummary
from gisgrid.auth import accounts, audit
from gisgrid.auth.policy import ROLES

router = APIRouter(prefix="/api", tags=["admin"])


class NewUser(BaseModel):
    username: str = Field(min_length=2, max_length=64, description="a–z, 0–9, '_', '.', '-'")
    password: str = Field(min_length=8, max_length=256)
    role: str = Field(description=", ".join(ROLES))
    display_name: str | None = Field(default=None, max_length=100)
    scope: list[str] = Field(default_factory=list, max_length=50, description="community codes; empty = all")


class UserState(BaseModel):
    disabled: bool


@router.get(
    "/users",
    summary="账户列表 List accounts",
    description="Every account, without secrets.",
    response_model=list[UserSummary],
    **policy("users.manage"),
)
def list_users(session: SessionDep) -> list[dict[str, Any]]:
    return accounts.list_users(session)


@router.post(
    "/users",
    status_code=201,
    summary="新建账户 Create an account",
    description="Creates an account with a role and a scope (community codes; empty = whole subdistrict).",
    response_model=CreatedUser,
    responses={409: {"description": "the user name is taken"}},
    **policy("users.manage"),
)
def create_user(body: NewUser, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    user = accounts.create_user(
        session,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        scope=body.scope,
        actor=principal,
    )
    return {"username": user.username, "role": user.role, "scope": user.scope_codes}


@router.put(
    "/users/{username}/state",
    summary="停用/启用账户 Disable or enable an account",
    description="Disabling ends the account's sessions and tokens.",
    response_model=UserStateAnswer,
    responses={404: {"description": "no such account"}},
    **policy("users.manage"),
)
def set_state(username: str, body: UserState, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    accounts.set_disabled(session, username=username, disabled=body.disabled, actor=principal)
    return {"username": username, "disabled": body.disabled}


@router.get(
    "/audit",
    summary="审计日志 Audit trail",
    description="Every audited write and failed log-in, newest first: who, when, from where, what, before and "
    "after. Refused requests are there too (action `refused`: every 403 — role, scope, CSRF — and uploads refused "
    "at once with 413 or 422; entity the method and path, detail the status, error code and field, never the "
    "request's body; at most GISGRID_AUDIT_REFUSED_PER_MINUTE per caller and address). Filter by actor, action, "
    "entity, key and time. The X-Total-Count header says how many rows match.",
    response_model=list[AuditRow],
    **policy("audit.read"),
)
def list_audit(
    session: SessionDep,
    response: Response,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    key: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[datetime | None, Query(description="ISO time")] = None,
    until: Annotated[datetime | None, Query(description="ISO time")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    rows, total = audit.query(
        session,
        actor=actor,
        action=action,
        entity=entity,
        key=key,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    return rows
