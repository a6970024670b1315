"""create_app(settings): the FastAPI application; nothing happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine

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
from gisgrid.db.engine import make_engine, make_sessionmaker

DEAD_SESSION_CLEARED = ("/api/auth/me", "/api/auth/logout")
DESCRIPTION = """
**gisgrid** — 微网实格 grid management on PostGIS for Chengdu's subdistrict offices.

All coordinates in and out are WGS 84 (EPSG:4326) lon/lat unless a parameter says otherwise.
Errors share one shape: `{"error": {"code", "message", "field", "value", "expected"}}`.
"""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app for `settings`; tests may hand in their own engine."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = engine is None
        app.state.engine = engine or make_engine(settings.db.url(), pool_size=settings.db.db_pool_size)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        yield
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

    @app.middleware("http")
    async def clear_dead_session(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if getattr(request.state, "dead_session", False):
            # Public routes answer a dead cookie anonymously; this header lets the page say the session expired.
            response.headers["X-Session-Expired"] = "session expired or revoked"
        # Only where the page asks who it is or logs out: a log-in answer sets new cookies that must survive.
        if getattr(request.state, "dead_session", False) and request.url.path in DEAD_SESSION_CLEARED:
            response.delete_cookie(SESSION_COOKIE, path="/")
            response.delete_cookie(CSRF_COOKIE, path="/")
        return response

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
