"""Map domain errors to HTTP responses: one JSON error shape, never a 500 for user input."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from gisgrid.auth import audit
from gisgrid.errors import (
    ClusterError,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    GisGridError,
    InvalidInput,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthorized,
)

log = logging.getLogger("gisgrid.api")

# By class, looked up along each error's class hierarchy (its MRO), so a subclass answers like its nearest
# mapped ancestor. GisGridError itself is the fallback: an unmapped domain error is our bug, never the
# caller's, so it is a logged 500 rather than a silent 400 (tests/api/test_errors.py checks every subclass).
STATUS: dict[type[GisGridError], int] = {
    InvalidInput: 422,
    TooLarge: 413,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthorized: 401,
    TooManyRequests: 429,
    DatabaseUnavailable: 503,
    ClusterError: 503,
    GisGridError: 500,
}

# PostgreSQL SQLSTATEs of integrity errors: (status, code, message). The body never carries the SQL.
INTEGRITY = {
    "23505": (409, "conflict", "已存在 A record with this value already exists."),
    "23P01": (409, "conflict", "与已有记录冲突 This clashes with an existing record."),
    "23503": (409, "conflict", "关联记录不存在或仍被引用 A related record is missing or still refers to it."),
    "23502": (422, "invalid_input", "缺少必填值 A required value is missing."),
    "23514": (422, "invalid_input", "取值不符合规则 A value breaks a rule of the data."),
}
UNIQUE_DETAIL = re.compile(r"Key \((?P<field>[^)]*)\)=\((?P<value>.*)\) already exists")


def status_of(error: type[GisGridError]) -> int:
    """The HTTP status of a domain error class: that of its nearest mapped ancestor."""
    return next(STATUS[cls] for cls in error.__mro__ if cls in STATUS)


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


def refusal_is_audited(request: Request, status: int) -> bool:
    """Refusals that leave an audit row: every 403 (role, scope, CSRF) and an upload refused at once (413,
    422). A 401 does not: nobody is logged in to name, and failed log-ins are audited and counted already."""
    if status == 403:
        return True
    route_path = getattr(request.scope.get("route"), "path", "")
    return status in (413, 422) and request.method == "POST" and route_path.endswith("/import")


def _write_refusal(request: Request, status: int, body: dict[str, object]) -> None:
    # A transaction of its own: the refused request's was rolled back when its error left the route.
    with request.app.state.sessionmaker() as session, session.begin():
        audit.record_refusal(
            session,
            actor=getattr(request.state, "principal", None),
            ip=request.client.host if request.client else None,
            method=request.method,
            path=request.url.path,
            status=status,
            code=str(body.get("code")),
            field=str(body["field"]) if body.get("field") else None,
            per_minute=request.app.state.settings.auth.audit_refused_per_minute,
        )


async def refused(request: Request, status: int, body: dict[str, object]) -> JSONResponse:
    """The error response, after the audit row of a refusal that is audited (refusal_is_audited)."""
    if refusal_is_audited(request, status):
        try:
            await run_in_threadpool(_write_refusal, request, status, body)
        except Exception:  # the refusal is answered even if its audit row cannot be written
            log.exception("could not audit the refusal of %s %s", request.method, request.url.path)
    return error_response(status, body)


def install(app: FastAPI) -> None:
    """Register the exception handlers on the app."""

    @app.exception_handler(GisGridError)
    async def _domain(request: Request, exc: GisGridError) -> JSONResponse:
        status = status_of(type(exc))
        if status == 500:
            log.error("unmapped domain error on %s %s", request.method, request.url.path, exc_info=exc)
        return await refused(request, status, exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await refused(request, 422, validation_error(request, exc.errors()))

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

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc.orig)
        status, body = integrity_error(exc)
        return error_response(status, body)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after answering, so the server logs it too; ours names the request.
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(
            500,
            {
                "code": "internal_error",
                "message": "服务器内部错误 Internal server error; it has been logged.",
                "expected": "try again later; if it persists, tell the administrator the time of the request",
            },
        )


def integrity_error(exc: IntegrityError) -> tuple[int, dict[str, object]]:
    """Status and error body for a database integrity error: the kind of clash and, for a duplicate, the
    field and value named in PostgreSQL's detail, never the SQL or the constraint's internals."""
    sqlstate = getattr(exc.orig, "pgcode", None) or getattr(exc.orig, "sqlstate", None)
    status, code, message = INTEGRITY.get(
        str(sqlstate), (409, "conflict", "与已有数据冲突 The change clashes with existing data.")
    )
    body: dict[str, object] = {"code": code, "message": message}
    diag = getattr(exc.orig, "diag", None)
    found = UNIQUE_DETAIL.search(getattr(diag, "message_detail", None) or "")
    if found:
        secret = any(word in found["field"] for word in ("hash", "password", "token", "secret"))
        body.update(field=found["field"], expected="a value not used yet")
        if not secret:
            body["value"] = found["value"]
    elif column := getattr(diag, "column_name", None):
        body["field"] = column
    return status, body


# Chinese first: what kind of problem a request-validation error is (pydantic's error types).
ZH_KIND = {
    "missing": "缺少必填参数",
    "float_parsing": "不是有效数字",
    "float_type": "不是有效数字",
    "finite_number": "不是有效数字",
    "int_parsing": "不是有效整数",
    "int_type": "不是有效整数",
    "int_from_float": "不是有效整数",
    "bool_parsing": "不是有效的是/否值",
    "enum": "取值无效",
    "literal_error": "取值无效",
    "less_than": "超出范围",
    "less_than_equal": "超出范围",
    "greater_than": "超出范围",
    "greater_than_equal": "超出范围",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "string_pattern_mismatch": "格式不符",
    "datetime_parsing": "不是有效时间",
    "datetime_from_date_parsing": "不是有效时间",
    "datetime_type": "不是有效时间",
    "timezone_aware": "时间缺少时区",
    "json_invalid": "JSON 无效",
}
ISO_TIME = "an ISO 8601 time with its offset, e.g. 2026-11-27T08:00:00+08:00"
SECRET_FIELDS = {"password", "new_password", "token", "secret"}  # never echoed back
BOUNDS = {"less_than": "<", "less_than_equal": "≤", "greater_than": ">", "greater_than_equal": "≥"}


def _descriptions(request: Request) -> dict[str, str]:
    """The parameter descriptions of the matched route (query, path, header, JSON body fields), by name."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return {}
    found = {f.alias: f.field_info.description or "" for f in get_flat_params(dependant)}
    model = getattr(getattr(getattr(route, "body_field", None), "field_info", None), "annotation", None)
    for name, info in (getattr(model, "model_fields", None) or {}).items():
        found.setdefault(info.alias or name, info.description or "")
    return found


def _expected(err: Any, description: str) -> str:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return f"one of {ctx['expected']}"
    if kind in BOUNDS:
        limit = next(iter(v for k, v in ctx.items() if k in ("lt", "le", "gt", "ge")), "?")
        return f"a value {BOUNDS[kind]} {limit}"
    if kind.startswith("datetime") or kind == "timezone_aware":
        return ISO_TIME
    if kind.startswith("float") or kind == "finite_number":
        return "a number" + (f" ({description})" if description else "")
    if kind.startswith("int"):
        return "a whole number" + (f" ({description})" if description else "")
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"at least {ctx.get('min_length')} characters"
    if kind == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern')}"
    if kind == "missing":
        return description or "a value"
    return str(err.get("msg", "a valid value"))


def _echo(field: str | None, kind: str, value: Any) -> object:
    """The bad value as sent, except nothing for a missing one and never a password."""
    if kind == "missing":
        return None
    if field and field.split(".")[-1] in SECRET_FIELDS:
        return "***"
    return value if isinstance(value, int | float | str) else str(value)


def validation_error(request: Request, errors: Sequence[Any]) -> dict[str, object]:
    """The one error shape for FastAPI's request validation: Chinese first, the field, the value sent and
    what would be accepted (for a missing parameter, its description from the route)."""
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("query", "body", "path", "header")]
    field = ".".join(loc) or None
    kind = str(first.get("type", ""))
    value = first.get("input")
    msg = f"{field} is required" if kind == "missing" and field else first.get("msg", "invalid value")
    return {
        "code": "invalid_input",
        "message": f"{ZH_KIND.get(kind, '输入无效')} {field or 'request'}: {msg}",
        "field": field,
        "value": _echo(field, kind, value),
        "expected": _expected(first, _descriptions(request).get(loc[-1] if loc else "", "")),
        "details": {"errors": [{"loc": e.get("loc"), "msg": e.get("msg")} for e in errors]},
    }
