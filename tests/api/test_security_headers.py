"""Every answer carries the security headers: a strict Content-Security-Policy, nosniff, no framing and a referrer
policy — pages, static files, API answers, errors (the input guard's 422 and an unexpected 500 too) and the API
documentation; the optional tile host is allowed for images only, and a tile URL naming no host stops the app
from starting."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.routers.docs import REDOC_LOADED_STYLES
from api.security_headers import tile_source
from gisgrid.config import MapSettings, Settings

STRICT = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy(res: Response) -> dict[str, list[str]]:
    """The Content-Security-Policy of an answer, directive -> sources."""
    directives = (d.split() for d in res.headers["content-security-policy"].split(";"))
    return {d[0]: d[1:] for d in directives if d}


def assert_secured(res: Response) -> None:
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["x-frame-options"] == "DENY"
    assert res.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "unsafe" not in res.headers["content-security-policy"]
    assert len(res.headers.get_list("content-security-policy")) == 1


@pytest.mark.parametrize(
    ("path", "status", "kind"),
    [
        ("/", 200, "text/html"),  # the map page
        ("/static/dispatch.html", 200, "text/html"),
        ("/docs", 200, "text/html"),
        ("/static/lib/app.css", 200, "text/css"),  # a static asset
        ("/vendor/leaflet/leaflet.js", 200, "text/javascript"),  # a vendor file
        ("/api/health", 200, "application/json"),  # an API answer
        ("/openapi.json", 200, "application/json"),
        ("/api/no-such-route", 404, "application/json"),  # an error
        ("/static/no-such-file.js", 404, "application/json"),
        ("/api/search?q=%00", 422, "application/json"),  # refused by the input guard, outside the routes
    ],
)
def test_every_kind_of_answer_has_the_strict_policy(
    client: TestClient, path: str, status: int, kind: str
) -> None:
    res = client.get(path)
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith(kind)
    assert policy(res) == STRICT
    assert_secured(res)


def test_an_unexpected_500_has_the_headers_too(app: FastAPI, client: TestClient) -> None:
    @app.get("/test/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    res = client.get("/test/boom")
    assert res.status_code == 500
    assert policy(res) == STRICT
    assert_secured(res)


def test_redoc_gets_a_fresh_style_nonce_and_nothing_else_does(client: TestClient) -> None:
    first, second = client.get("/redoc"), client.get("/redoc")
    nonces = []
    for res in (first, second):
        assert_secured(res)
        found = policy(res)
        nonce = re.fullmatch(r"'nonce-([\w-]{20,})'", found["style-src"][1])
        assert nonce is not None, found["style-src"]
        assert f'data-style-nonce="{nonce.group(1)}"' in res.text
        assert found["style-src"] == ["'self'", nonce.group(0), *REDOC_LOADED_STYLES]
        assert found["worker-src"] == ["'self'", "blob:"]  # ReDoc's search worker
        assert found["script-src"] == ["'self'"]
        assert {k: v for k, v in found.items() if k not in ("style-src", "worker-src")} == {
            k: v for k, v in STRICT.items() if k not in ("style-src", "worker-src")
        }
        assert res.headers["cache-control"] == "no-store"
        nonces.append(nonce.group(1))
    assert nonces[0] != nonces[1]
    # The answer after it is strict again.
    assert policy(client.get("/docs")) == STRICT


def test_the_tile_host_is_allowed_for_images_only(settings: Settings) -> None:
    tiled = Settings(
        db=settings.db,
        auth=settings.auth,
        jobs=settings.jobs,
        map=MapSettings(tile_url="https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"),
    )
    res = TestClient(create_app(tiled)).get("/static/lib/app.css")
    assert policy(res) == {**STRICT, "img-src": [*STRICT["img-src"], "https://*.tile.openstreetmap.org"]}


def test_a_tile_url_without_a_usable_host_stops_the_app(settings: Settings) -> None:
    bad = Settings(
        db=settings.db, auth=settings.auth, jobs=settings.jobs, map=MapSettings(tile_url="tiles/{z}")
    )
    with pytest.raises(ValueError, match="GISGRID_TILE_URL"):
        create_app(bad)


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("", None),
        ("/tiles/{z}/{x}/{y}.png", None),  # this origin: 'self' covers it
        ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
        ("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}", "https://*.is.autonavi.com"),
        ("http://tiles.example.org:8080/{z}/{x}/{y}.png", "http://tiles.example.org:8080"),
        ("//tiles.example.org/{z}/{x}/{y}.png", "tiles.example.org"),
    ],
)
def test_tile_source(url: str, source: str | None) -> None:
    assert tile_source(url) == source


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "tiles/{z}",
        "https://{s}/{z}.png",
        "https://a b/{z}",
        "https://x;script-src *.org/",
    ],
)
def test_tile_source_refuses_what_names_no_host(url: str) -> None:
    with pytest.raises(ValueError, match="GISGRID_TILE_URL"):
        tile_source(url)
