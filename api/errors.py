"""Map domain errors to HTTP responses: one JSON error shape, never a 500 for user input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gisgrid.errors import (
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    GisGridError,
    InvalidInput,
    NotFound,
    Unauthorized,
)

log = logging.getLogger("gisgrid.api")

STATUS = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthorized: 401,
    DatabaseUnavailable: 503,
}

ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error shape: what went wrong, the bad value and what would be accepted.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "invalid_input"},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "value": {},
                "expected": {"type": "string"},
                "details": {"type": "object"},
            },
            "required": ["code", "message"],
        }
    },
}


def error_response(status: int, body: dict[str, object]) -> JSONResponse:
    """A JSON error in the one shape."""
    return JSONResponse(status_code=status, content={"error": body})


def install(app: FastAPI) -> None:
    """Register the exception handlers on the app."""

    @app.exception_handler(GisGridError)
    async def _domain(_: Request, exc: GisGridError) -> JSONResponse:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        return error_response(status, exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", []) if p not in ("query", "body", "path")]
        value = first.get("input")
        return error_response(
            422,
            {
                "code": "invalid_input",
                "message": f"{'.'.join(loc) or 'request'}: {first.get('msg', 'invalid value')}",
                "field": ".".join(loc) or None,
                "value": value if isinstance(value, int | float | str) else str(value),
                "expected": first.get("msg"),
                "details": {"errors": [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors()]},
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, {"code": code, "message": str(exc.detail)})

    @app.exception_handler(OperationalError)
    async def _db_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return error_response(
            503,
            {
                "code": "database_unavailable",
                "message": "The database cannot be reached.",
                "expected": "a running database: `gisgrid db up`",
            },
        )
