"""The API documentation pages /docs (Swagger UI) and /redoc (ReDoc), served from local files only.

FastAPI's own pages load their scripts and fonts from a CDN and start them with an inline script; ours load
npm's swagger-ui-dist and redoc from /vendor (web/node_modules) and their set-up from /static/apidocs."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from gisgrid.config import PROJECT_ROOT

PAGES = PROJECT_ROOT / "web" / "src" / "apidocs"
REDOC = PROJECT_ROOT / "web" / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js"
# ReDoc's side menu always shows Redocly's logo from their CDN (hidden when it fails to load). An empty data:
# URL fails at once, without a request leaving the machine and without a console error.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui() -> FileResponse:
    return FileResponse(PAGES / "docs.html", headers={"Cache-Control": "no-cache"})


@router.get("/redoc")
def redoc() -> FileResponse:
    return FileResponse(PAGES / "redoc.html", headers={"Cache-Control": "no-cache"})


@cache
def _redoc_bundle() -> bytes:
    return REDOC.read_bytes().replace(REDOC_LOGO, b"data:,")


@router.get("/vendor/redoc/redoc.standalone.js")
def redoc_bundle() -> Response:
    """ReDoc's bundle as npm installed it, but for the logo URL (served before the /vendor/redoc mount)."""
    return Response(
        _redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"}
    )
