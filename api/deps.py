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
# scope="function": the transaction commits before the response is sent, so a client that gets 200 (a log-in,
# an edit) can rely on it being stored, and a failed commit is an error response, not a silent loss.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


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
    try:
        principal, row = accounts.resolve(session, token=cookie, secret=secret, via="cookie")
    except accounts.AuthFailed as exc:
        # A dead cookie (expired, revoked, forged) makes the caller anonymous: public pages and log-in keep
        # working, the cookies are cleared (HttpOnly: the page cannot), and protected routes say why.
        request.state.dead_session = True
        return Principal(extra={"session_error": exc.message})
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

            if "session_error" in principal.extra:
                raise Unauthorized(
                    principal.extra["session_error"], field="authorization", expected="log in again"
                )
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
