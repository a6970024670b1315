"""Request dependencies: settings, a database session per request, the caller and route policies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gisgrid.auth import accounts
from gisgrid.auth.policy import ANONYMOUS, PERMISSIONS, Principal, require
from gisgrid.config import Settings
from gisgrid.errors import Forbidden

SESSION_COOKIE = "gisgrid_session"
CSRF_COOKIE = "gisgrid_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, in one transaction, committed when the handler returns."""
    with request.app.state.sessionmaker() as session, session.begin():
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def client_ip(request: Request) -> str | None:
    """The caller's address (for the audit trail)."""
    return request.client.host if request.client else None


def get_principal(request: Request, session: SessionDep) -> Principal:
    """Who is calling: a bearer token, a session cookie (CSRF-checked on writes), or anonymous."""
    secret: bytes = request.app.state.secret
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        principal, _ = accounts.resolve(session, token=auth[7:].strip(), secret=secret, via="bearer")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return ANONYMOUS
    principal, row = accounts.resolve(session, token=cookie, secret=secret, via="cookie")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or row.csrf_hash != accounts.keyed_hash(secret, sent):
            raise Forbidden(
                "CSRF 校验失败 Missing or wrong CSRF token on a cookie-authenticated write.",
                field=CSRF_HEADER,
                expected=f"the {CSRF_HEADER} header with the token from log-in",
            )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _checker(permission: str) -> Callable[[Principal], None]:
    def check(principal: PrincipalDep) -> None:
        if permission != "public" and principal.anonymous:
            from gisgrid.errors import Unauthorized

            raise Unauthorized(
                "请先登录 Please log in first.",
                field="authorization",
                expected="a session cookie (POST /api/auth/login) or a bearer token",
            )
        require(principal, permission)

    return check


def policy(permission: str) -> dict[str, Any]:
    """Route keyword arguments declaring who may call it (checked, and shown in OpenAPI as x-permission)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    roles = sorted(PERMISSIONS[permission])
    return {
        "dependencies": [Depends(_checker(permission))],
        "openapi_extra": {"x-permission": permission, "x-roles": roles},
    }
