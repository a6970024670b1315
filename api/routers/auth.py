"""Log-in, log-out, who am I, and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    client_ip,
    policy,
)
from api.errors import error_response, status_of
from api.schemas.accounts import LoginAnswer, LogoutAnswer, Me, TokenAnswer, TokenRow
from gisgrid.auth import accounts, audit
from gisgrid.auth.policy import ROLE_TITLES
from gisgrid.errors import Forbidden, InvalidInput, TooManyRequests

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=64, description="user name")
    password: str = Field(min_length=1, max_length=256, description="password")


class TokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="what the token is for, e.g. 'import script'")
    days: int | None = Field(default=None, ge=1, le=366, description="lifetime in days (default 90)")


def _me(principal: Any) -> dict[str, Any]:
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role,
        "role_title": ROLE_TITLES.get(principal.role, "匿名 anonymous"),
        "scope": list(principal.scope_codes),
        "authenticated": not principal.anonymous,
        "session_expired": "session_error" in principal.extra,
        "session_message": principal.extra.get("session_error"),
    }


@router.post(
    "/login",
    summary="登录 Log in",
    description="Checks the password and starts a session: an HttpOnly, SameSite=Lax session cookie and a CSRF "
    "token (also in the readable `gisgrid_csrf` cookie) that cookie-authenticated writes must send in the "
    "X-CSRF-Token header. After repeated failures the account locks for a while. 401 on failure.",
    responses={401: {"description": "wrong credentials, locked or disabled"}},
    response_model=LoginAnswer,
    **policy("public"),
)
def login(
    body: LoginBody, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> dict[str, Any] | JSONResponse:
    ip = client_ip(request)
    try:
        user = accounts.authenticate(
            session, username=body.username, password=body.password, settings=settings.auth, ip=ip
        )
    except (accounts.AuthFailed, TooManyRequests) as exc:
        # Returned, not raised: the request's transaction then commits the failure count and the audit row.
        return error_response(status_of(type(exc)), exc.to_dict())
    issued = accounts.issue(
        session,
        user=user,
        kind="session",
        secret=request.app.state.secret,
        ttl=timedelta(hours=settings.auth.session_hours),
        ip=ip,
    )
    max_age = int(settings.auth.session_hours * 3600)
    secure = settings.auth.cookie_secure
    response.set_cookie(
        SESSION_COOKIE, issued.token, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )
    response.set_cookie(
        CSRF_COOKIE,
        issued.csrf or "",
        max_age=max_age,
        httponly=False,
        samesite="strict",
        secure=secure,
        path="/",
    )
    return {
        "user": _me(accounts.principal_of(user)),
        "csrf_token": issued.csrf,
        "expires_at": issued.expires_at.isoformat(),
    }


@router.post(
    "/logout",
    summary="退出 Log out",
    description="Ends the current session (or revokes the bearer token used) and clears the cookies. "
    "Without a live session it only clears the cookies.",
    response_model=LogoutAnswer,
    **policy("public"),
)
def logout(
    principal: PrincipalDep, request: Request, response: Response, session: SessionDep
) -> dict[str, str]:
    if principal.session_hash:
        accounts.revoke(session, token_hash=principal.session_hash)
    if not principal.anonymous:
        audit.record(
            session,
            actor=principal,
            action="logout",
            entity="user",
            key=principal.username,
            ip=client_ip(request),
        )
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return {"status": "logged out"}


@router.get(
    "/me",
    summary="当前用户 Who am I",
    description="The caller's user name, role and scope; `authenticated: false` for anonymous callers, with "
    "`session_expired: true` and the reason when the browser sent a dead session cookie (which is then cleared).",
    response_model=Me,
    **policy("public"),
)
def me(principal: PrincipalDep) -> dict[str, Any]:
    return _me(principal)


@router.post(
    "/tokens",
    summary="创建 API 令牌 Create an API token",
    description="Creates a bearer token for the calling account (for scripts: `Authorization: Bearer …`). "
    "The token is shown once; only its keyed hash is stored.",
    response_model=TokenAnswer,
    **policy("user"),
)
def create_token(
    principal: PrincipalDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[TokenBody, Body()],
) -> dict[str, Any]:
    days = body.days or settings.auth.token_days
    if days > settings.auth.token_max_days:
        raise InvalidInput(
            f"令牌有效期过长 {days} days is longer than tokens may live.",
            field="days",
            value=days,
            expected=f"1..{settings.auth.token_max_days} days (GISGRID_TOKEN_MAX_DAYS)",
        )
    user = accounts.get_user(session, principal.username)
    issued = accounts.issue(
        session,
        user=user,
        kind="token",
        secret=request.app.state.secret,
        name=body.name,
        ttl=timedelta(days=days),
        ip=client_ip(request),
    )
    return {"token": issued.token, "name": body.name, "expires_at": issued.expires_at.isoformat()}


@router.get(
    "/tokens",
    summary="API 令牌列表 List API tokens",
    description="The caller's own API tokens, newest first (never the tokens themselves). Admins may list another "
    "account's with `username`, or every account's with `all=true`.",
    response_model=list[TokenRow],
    **policy("user"),
)
def list_tokens(
    principal: PrincipalDep,
    session: SessionDep,
    username: Annotated[str | None, Query(max_length=64, description="admins: this account's tokens")] = None,
    all_accounts: Annotated[bool, Query(alias="all", description="admins: every account's tokens")] = False,
) -> list[dict[str, Any]]:
    if (username not in (None, principal.username) or all_accounts) and not principal.can("users.manage"):
        raise Forbidden(
            "只有管理员可以查看他人的令牌 Only admins see other accounts' tokens.",
            field="username",
            value=username,
            expected="your own tokens (no username)",
        )
    who = None if all_accounts else (username or principal.username)
    return [t.public() for t in accounts.list_tokens(session, username=who)]


@router.delete(
    "/tokens/{token_id}",
    summary="撤销 API 令牌 Revoke an API token",
    description="Revokes one of the caller's API tokens by its id (admins: any account's). It stops working at "
    "once. Changing the password or disabling the account revokes all of an account's tokens.",
    response_model=TokenRow,
    **policy("user"),
)
def revoke_token(
    principal: PrincipalDep,
    session: SessionDep,
    token_id: Annotated[str, Path(max_length=40, description="the id from GET /api/auth/tokens")],
) -> dict[str, Any]:
    owner = None if principal.can("users.manage") else principal.username
    return accounts.revoke_token(session, token_id=token_id, actor=principal, username=owner).public()
