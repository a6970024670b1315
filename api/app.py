"""create_app(settings): the FastAPI application; nothing happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.middleware.gzip import GZipMiddleware
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.deps import CSRF_COOKIE, SECURITY_SCHEMES, SESSION_COOKIE, security_for
from api.input_guard import InputGuardMiddleware
from api.routers import (
    admin,
    auth,
    coverage,
    docs,
    grid_changes,
    grids,
    health,
    incident_import,
    incidents,
    io,
    jobs,
    layers,
    locate,
    search,
    web,
)
from api.security_headers import SecurityHeaders, SecurityHeadersMiddleware
from gisgrid import __version__
from gisgrid.auth.accounts import load_secret
from gisgrid.config import Settings
from gisgrid.db.aio import PoolDB
from gisgrid.db.engine import make_engine, make_sessionmaker
from gisgrid.jobs.queue import start_worker, stop_worker

DEAD_SESSION_CLEARED = ("/api/auth/me", "/api/auth/logout")
DESCRIPTION = """
**gisgrid** — 微网实格 grid management on PostGIS for Chengdu's subdistrict offices.

All coordinates in and out are WGS 84 (EPSG:4326) lon/lat unless a parameter says otherwise.
Errors share one shape: `{"error": {"code", "message", "field", "value", "expected"}}`.

Log in with a bearer token (**Authorize**) or by trying `POST /api/auth/login` on this page: the browser then
sends the session cookie, and the page adds the CSRF header to writes. `x-permission` and `x-roles` on each
operation say who may call it.
"""


class DeadSessionMiddleware:
    """After a request answered a dead session cookie anonymously (api.deps), say so in X-Session-Expired and,
    where the page asks who it is or logs out, clear the cookies. Plain ASGI: BaseHTTPMiddleware would copy
    every response through a second task, a measurable cost on the hot routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get("state", {}).get("dead_session"):
                headers = MutableHeaders(scope=message)
                # Public routes answer a dead cookie anonymously; this header lets the page say it expired.
                headers.append("X-Session-Expired", "session expired or revoked")
                # Only where the page asks who it is or logs out: a log-in sets new cookies that must survive.
                if scope["path"] in DEAD_SESSION_CLEARED:
                    for name in (SESSION_COOKIE, CSRF_COOKIE):
                        cleared = Response()
                        cleared.delete_cookie(name, path="/")
                        headers.append("set-cookie", cleared.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_wrapper)


ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
LOGGED_IN_ERRORS = {
    "401": "未登录 not logged in, or the session or token expired",
    "403": "无权限 the caller's role or scope does not allow it (or a cookie write without the CSRF header); "
    "recorded in the audit trail (action `refused`)",
}


def _document_operation(method: str, operation: dict[str, Any]) -> None:
    """The CSRF header on cookie writes, 401/403 where a log-in is needed, and the one error shape on every
    error answer (FastAPI would document its own validation shape, which this app never sends)."""
    security = operation.get("security")
    if security is not None:
        operation["security"] = security_for(method, security)
    responses = operation.setdefault("responses", {})
    if security is not None and {} not in security:
        for code, text in LOGGED_IN_ERRORS.items():
            responses.setdefault(code, {"description": text})
    responses.setdefault("500", {"description": "服务器内部错误 internal error (logged)"})
    for code, response in responses.items():
        if code[0] in "45":
            response["content"] = ERROR_REF


def _documented_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """app.openapi with the security schemes and the error shape declared (api.deps.policy writes x-permission
    and `security` per route without knowing its method; the rest is added here, once per operation)."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = default()
            components = schema.setdefault("components", {})
            components["securitySchemes"] = SECURITY_SCHEMES
            components.setdefault("schemas", {})["Error"] = errors.ERROR_SCHEMA
            components["schemas"].pop("HTTPValidationError", None)
            components["schemas"].pop("ValidationError", None)
            for operations in schema["paths"].values():
                for method, operation in operations.items():
                    _document_operation(method, operation)
        return app.openapi_schema  # type: ignore[return-value]

    return openapi


def _wrap_outermost(app: FastAPI, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put `wrap` around Starlette's whole stack: add_middleware stays inside ServerErrorMiddleware, whose 500
    answers would then miss what `wrap` adds."""
    build = app.build_middleware_stack

    def build_wrapped() -> ASGIApp:
        return wrap(build())

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app for `settings`; tests may hand in their own engine."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = engine is None
        app.state.engine = engine or make_engine(settings.db.url(), pool_size=settings.db.db_pool_size)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        pool = PoolDB(
            app.state.engine.url.render_as_string(hide_password=False), size=settings.db.async_pool_size
        )
        app.state.aiodb = pool
        # The job worker runs beside the app, on the same event loop (GISGRID_JOBS_WORKER); its jobs run in
        # threads, so a long import never holds a request or the loop.
        worker = start_worker(app.state.engine, settings.jobs) if settings.jobs.jobs_worker else None
        app.state.job_worker = worker
        yield
        if worker is not None:
            await stop_worker(worker)
        await pool.close()
        if own:
            app.state.engine.dispose()

    app = FastAPI(
        title="gisgrid",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Our own /docs and /redoc (api/routers/docs.py): FastAPI's load Swagger UI and ReDoc from a CDN.
        docs_url=None,
        redoc_url=None,
        responses={
            422: {"description": "输入无效 bad input: the error names the field, value and what is accepted"}
        },
    )

    app.add_middleware(DeadSessionMiddleware)
    # Layer pages are large, repetitive JSON (about 10:1); level 6 compresses nearly as well as 9 at half the CPU.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(InputGuardMiddleware)  # outermost of these: bad text never reaches a route
    # Around everything, 500s included; the policy is built now, so a bad GISGRID_TILE_URL fails at start.
    security = SecurityHeaders(settings.map.tile_url)
    _wrap_outermost(app, lambda inner: SecurityHeadersMiddleware(inner, headers=security))
    app.state.settings = settings
    app.state.secret = load_secret(settings.auth.secret_key_file)
    errors.install(app)
    app.openapi = _documented_openapi(app)  # type: ignore[method-assign]
    app.include_router(docs.router)
    app.include_router(health.router)
    app.include_router(layers.router)
    app.include_router(search.router)
    app.include_router(grid_changes.router)  # before grids: /api/grids/changes is not a grid code
    app.include_router(grids.router)
    app.include_router(locate.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(io.router)
    app.include_router(incident_import.router)
    app.include_router(incidents.router)
    app.include_router(jobs.router)
    app.include_router(coverage.router)
    web.mount(app, settings)
    return app
