"""Request dependencies: settings, a database session per request, the caller and route policies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gisgrid.auth import accounts
from gisgrid.auth.policy import ANONYMOUS, PERMISSIONS, Principal, require
from gisgrid.config import Settings
from gisgrid.db.aio import AioDB
from gisgrid.errors import Forbidden, Unauthorized

SESSION_COOKIE = "gisgrid_session"
CSRF_COOKIE = "gisgrid_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_settings(request: Request) -> Settings:
    """The app's settings (async: no thread hop)."""
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


async def get_aiodb(request: Request) -> AioDB:
    """The async database of the hot read routes (an asyncpg pool; the test transaction in tests)."""
    return request.app.state.aiodb  # type: ignore[no-any-return]


AioDep = Annotated[AioDB, Depends(get_aiodb)]


def _credentials(request: Request) -> tuple[str, str] | None:
    """(token, via) from a bearer header or the session cookie, or None for anonymous."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), "bearer"
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, "cookie") if cookie else None


def _refused(request: Request, via: str, exc: accounts.AuthFailed) -> Principal:
    if via == "bearer":
        raise exc
    # A dead cookie (expired, revoked, forged) makes the caller anonymous: public pages and log-in keep
    # working, the cookies are cleared (HttpOnly: the page cannot), and protected routes say why.
    request.state.dead_session = True
    return Principal(extra={"session_error": exc.message})


def _accepted(request: Request, via: str, resolved: tuple[Principal, Any]) -> Principal:
    principal, row = resolved
    request.state.principal = principal  # for the audit row of a refusal (api.errors), CSRF's included
    if via == "cookie" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or row.csrf_hash != accounts.keyed_hash(request.app.state.secret, sent):
            raise Forbidden(
                "CSRF 校验失败 Missing or wrong CSRF token on a cookie-authenticated write.",
                field=CSRF_HEADER,
                expected=f"the {CSRF_HEADER} header with the token from log-in",
            )
    return principal


def get_principal(request: Request, session: SessionDep) -> Principal:
    """Who is calling: a bearer token, a session cookie (CSRF-checked on writes), or anonymous."""
    if (found := _credentials(request)) is None:
        return ANONYMOUS
    token, via = found
    try:
        resolved = accounts.resolve(session, token=token, secret=request.app.state.secret, via=via)
    except accounts.AuthFailed as exc:
        return _refused(request, via, exc)
    return _accepted(request, via, resolved)


async def get_principal_async(request: Request, db: AioDep) -> Principal:
    """`get_principal` on the async database, without a SQLAlchemy session (for the hot read routes)."""
    if (found := _credentials(request)) is None:
        return ANONYMOUS
    token, via = found
    try:
        resolved = await accounts.resolve_async(db, token=token, secret=request.app.state.secret, via=via)
    except accounts.AuthFailed as exc:
        return _refused(request, via, exc)
    return _accepted(request, via, resolved)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
AsyncPrincipalDep = Annotated[Principal, Depends(get_principal_async)]


def _check(principal: Principal, permission: str) -> None:
    if permission != "public" and principal.anonymous:
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


def _checker(permission: str, *, asynchronous: bool) -> Callable[..., Any]:
    if asynchronous:

        async def check_async(principal: AsyncPrincipalDep) -> None:
            _check(principal, permission)

        return check_async

    def check(principal: PrincipalDep) -> None:
        _check(principal, permission)

    return check


# The OpenAPI security schemes (components.securitySchemes, added by api.app): how a caller logs in.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "API 令牌 An API token: `gisgrid users token USER` or POST /api/auth/tokens, sent as "
        "`Authorization: Bearer …`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "登录会话 The HttpOnly session cookie set by POST /api/auth/login (the browser sends it "
        "by itself). Writes with it also need the `csrf` header.",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": CSRF_HEADER,
        "description": f"The `csrf_token` from log-in (also in the readable `{CSRF_COOKIE}` cookie), required on "
        "every POST, PUT, PATCH and DELETE authenticated by the session cookie. /docs adds it by itself.",
    },
}
# `security` of an operation: alternatives, any one will do. A public route answers anonymous callers too
# (`{}`), but says more to a logged-in one (household figures, phone numbers).
LOGGED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
PUBLIC: list[dict[str, list[str]]] = [{}, *LOGGED_IN]


def security_for(method: str, requirement: list[dict[str, list[str]]]) -> list[dict[str, list[str]]]:
    """`requirement` for an operation of `method`: a write with the session cookie needs the CSRF header too."""
    if method.upper() in SAFE_METHODS:
        return requirement
    return [{**alt, "csrf": []} if "session" in alt else alt for alt in requirement]


def policy(permission: str, *, asynchronous: bool = False) -> dict[str, Any]:
    """Route keyword arguments declaring who may call it: checked, and shown in OpenAPI as x-permission,
    x-roles and `security` (for writes, api.app adds the CSRF header to the cookie alternative).

    `asynchronous=True` for `async def` routes on the async database (AioDep, AsyncPrincipalDep): the caller
    is then resolved there too, so the request never takes a thread or a SQLAlchemy session."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    roles = sorted(PERMISSIONS[permission])
    security = PUBLIC if permission == "public" else LOGGED_IN
    return {
        "dependencies": [Depends(_checker(permission, asynchronous=asynchronous))],
        "openapi_extra": {"x-permission": permission, "x-roles": roles, "security": security},
    }
