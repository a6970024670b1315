"""create_app(settings): the FastAPI application; nothing happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from fastapi.middleware.gzip import GZipMiddleware
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.deps import CSRF_COOKIE, SESSION_COOKIE
from api.routers import (
    admin,
    auth,
    grids,
    health,
    incident_import,
    incidents,
    io,
    layers,
    locate,
    search,
    web,
)
from gisgrid import __version__
from gisgrid.auth.accounts import load_secret
from gisgrid.config import Settings
from gisgrid.db.aio import PoolDB
from gisgrid.db.engine import make_engine, make_sessionmaker

DEAD_SESSION_CLEARED = ("/api/auth/me", "/api/auth/logout")
DESCRIPTION = """
**gisgrid** — 微网实格 grid management on PostGIS for Chengdu's subdistrict offices.

All coordinates in and out are WGS 84 (EPSG:4326) lon/lat unless a parameter says otherwise.
Errors share one shape: `{"error": {"code", "message", "field", "value", "expected"}}`.
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


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app for `settings`; tests may hand in their own engine."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = engine is None
        app.state.engine = engine or make_engine(settings.db.url(), pool_size=settings.db.async_pool_size)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        pool = PoolDB(
            app.state.engine.url.render_as_string(hide_password=False), size=settings.db.async_pool_size
        )
        app.state.aiodb = pool
        yield
        await pool.close()
        if own:
            app.state.engine.dispose()

    app = FastAPI(
        title="gisgrid",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses={
            422: {
                "description": "Bad input",
                "content": {"application/json": {"schema": errors.ERROR_SCHEMA}},
            }
        },
    )

    app.add_middleware(DeadSessionMiddleware)
    # Layer pages are large, repetitive JSON (about 10:1); level 6 compresses nearly as well as 9 at half the CPU.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.state.settings = settings
    app.state.secret = load_secret(settings.auth.secret_key_file)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(layers.router)
    app.include_router(search.router)
    app.include_router(grids.router)
    app.include_router(locate.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(io.router)
    app.include_router(incident_import.router)
    app.include_router(incidents.router)
    web.mount(app, settings)
    return app
