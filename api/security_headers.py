"""Security headers on every answer: a strict Content-Security-Policy, nosniff, no framing, a referrer policy.

The pages insert every user-supplied string as text (web/src/lib/html.js); the policy is the second line: no
inline or evaluated script runs, no inline style applies, and the pages talk to nothing but this origin (and
fetch map tiles from the optional tile host). Plain ASGI and outside every other layer, so the error answers of
the input guard and the 500s of Starlette's error middleware carry the headers too.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A host as a CSP source may spell it (a template's {s} subdomain becomes the wildcard label).
_HOST = re.compile(r"^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$")


def tile_source(tile_url: str) -> str | None:
    """The CSP source of the tile layer's host: `https://*.tile.example.org` for
    `https://{s}.tile.example.org/{z}/{x}/{y}.png`; None without a tile layer or with tiles from this origin.
    ValueError for a URL naming no host a policy could allow (a typo in GISGRID_TILE_URL fails at start)."""
    if not tile_url or (tile_url.startswith("/") and not tile_url.startswith("//")):
        return None
    parts = urlsplit(tile_url)
    host, _, port = parts.netloc.rpartition("@")[2].partition(":")
    labels = host.lower().split(".")
    # Leaflet fills {s} (or any placeholder) per request, so the labels up to the last one holding a placeholder
    # vary; CSP allows only a whole leftmost label as the wildcard.
    templated = [i for i, label in enumerate(labels) if "{" in label]
    if templated:
        labels = ["*", *labels[templated[-1] + 1 :]]
    host = ".".join(labels)
    scheme = f"{parts.scheme}://" if parts.scheme else ""  # //host/… follows the page's scheme, as CSP does
    if parts.scheme not in ("http", "https", "") or not _HOST.match(host) or (port and not port.isdigit()):
        raise ValueError(
            f"GISGRID_TILE_URL {tile_url!r} names no http(s) host a Content-Security-Policy can allow"
        )
    return f"{scheme}{host}{':' + port if port else ''}"


EXTRA = "csp_extra"  # in a request's state: sources its page may use beyond the policy (see allow)
DIRECTIVES = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),  # no 'unsafe-inline', no 'unsafe-eval': every script is a file
    # Leaflet and the pages place and colour elements through element.style (CSSOM), which style-src does not
    # govern: only <style> elements and style="" attributes would need 'unsafe-inline', and no page has them.
    "style-src": ("'self'",),
    # data: for Leaflet-Geoman's and Swagger UI's icons; SecurityHeaders adds the optional tile host.
    "img-src": ("'self'", "data:", "blob:"),
    "connect-src": ("'self'",),  # the pages fetch from this origin only (map tiles are images)
    "worker-src": ("'self'",),  # spelt out so that a page can be allowed more (allow)
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}


class SecurityHeaders:
    """The headers of every answer, built once from the settings (a bad GISGRID_TILE_URL fails at start)."""

    def __init__(self, tile_url: str = "") -> None:
        tiles = tile_source(tile_url)
        self.base = {**DIRECTIVES, "img-src": (*DIRECTIVES["img-src"], *([tiles] if tiles else []))}
        self.raw = self.headers()

    def policy(self, extra: Mapping[str, Sequence[str]] | None = None) -> str:
        """The Content-Security-Policy, with a page's `extra` sources (allow) added to their directives."""
        extra = extra or {}
        return "; ".join(
            " ".join([name, *sources, *extra.get(name, ())]) for name, sources in self.base.items()
        )

    def headers(self, extra: Mapping[str, Sequence[str]] | None = None) -> list[tuple[bytes, bytes]]:
        """The headers as ASGI raw headers."""
        headers = {
            "Content-Security-Policy": self.policy(extra),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
            # Same-origin requests keep the full URL; another host (the optional tile server) learns only our
            # origin, never a page's path or query (audit filters, grid codes). Not no-referrer: OpenStreetMap's
            # tile policy asks browsers for a Referer, and would refuse the optional tile layer without one.
            "Referrer-Policy": "strict-origin-when-cross-origin",
        }
        return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def allow(request: Request, directive: str, *sources: str) -> None:
    """Let the page this request answers also use `sources` for `directive` (a page that cannot do without:
    ReDoc's, api/routers/docs.py); every other answer keeps the policy as it is."""
    if directive not in DIRECTIVES:
        raise ValueError(f"unknown Content-Security-Policy directive {directive!r}")
    extra = request.scope.setdefault("state", {}).setdefault(EXTRA, {})
    extra.setdefault(directive, []).extend(sources)


def style_nonce(request: Request) -> str:
    """A fresh nonce the page this request answers may put on <style> elements."""
    nonce = secrets.token_urlsafe(18)
    allow(request, "style-src", f"'nonce-{nonce}'")
    return nonce


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP answer."""

    def __init__(self, app: ASGIApp, *, headers: SecurityHeaders) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = scope.get("state", {}).get(EXTRA)
                raw = self.headers.headers(extra) if extra else self.headers.raw
                MutableHeaders(scope=message).raw.extend(raw)
            await send(message)

        await self.app(scope, receive, send_wrapper)
