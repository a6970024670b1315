"""The API documentation pages /docs (Swagger UI) and /redoc (ReDoc), served from local files only.

FastAPI's own pages load their scripts and fonts from a CDN and start them with an inline script; ours load
npm's swagger-ui-dist and redoc from /vendor (web/node_modules) and their set-up from /static/apidocs."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.security_headers import allow, style_nonce
from gisgrid.config import PROJECT_ROOT

PAGES = PROJECT_ROOT / "web" / "src" / "apidocs"
REDOC = PROJECT_ROOT / "web" / "node_modules" / "redoc" / "bundles" / "redoc.standalone.js"
# ReDoc's side menu always shows Redocly's logo from their CDN (hidden when it fails to load). An empty data:
# URL fails at once, without a request leaving the machine and without a console error.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
# ReDoc styles itself with <style> elements (styled-components), which the Content-Security-Policy allows only
# with the nonce of the answer: the page hands it to Redoc.init (web/src/apidocs/redoc.js).
NONCE_SLOT = 'data-style-nonce=""'
# One <style> comes before Redoc.init can pass the nonce on: perfect-scrollbar's CSS (with its source map), which
# the bundle inserts as it loads, first empty and then with its text. /redoc allows exactly those two texts, by
# their hashes. A new ReDoc changes the second: tests/web/test_api_docs.py then fails with Chromium's message
# naming the new hash.
REDOC_LOADED_STYLES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # the empty <style>
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar.css of redoc 2.5.4
)

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui() -> FileResponse:
    return FileResponse(PAGES / "docs.html", headers={"Cache-Control": "no-cache"})


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    page = (PAGES / "redoc.html").read_text(encoding="utf-8")
    nonced = page.replace(NONCE_SLOT, f'data-style-nonce="{style_nonce(request)}"', 1)
    allow(request, "style-src", *REDOC_LOADED_STYLES)
    allow(request, "worker-src", "blob:")  # ReDoc's search index runs in a worker made from a blob: URL
    # A nonce is for one answer: never kept and shown again.
    return HTMLResponse(nonced, headers={"Cache-Control": "no-store"})


@cache
def _redoc_bundle() -> bytes:
    return REDOC.read_bytes().replace(REDOC_LOGO, b"data:,")


@router.get("/vendor/redoc/redoc.standalone.js")
def redoc_bundle() -> Response:
    """ReDoc's bundle as npm installed it, but for the logo URL (served before the /vendor/redoc mount)."""
    return Response(
        _redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"}
    )
