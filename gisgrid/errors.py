"""The one exception hierarchy of gisgrid; api/errors.py maps it to HTTP status codes."""

from __future__ import annotations

from typing import Any


class GisGridError(Exception):
    """Base of all domain errors: a message, the bad value and what would be accepted."""

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.expected = expected
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON error shape shared by the API and the CLI."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.value is not None:
            out["value"] = self.value if isinstance(self.value, int | float | bool) else str(self.value)
        if self.expected is not None:
            out["expected"] = self.expected
        if self.details:
            out["details"] = self.details
        return out


class InvalidInput(GisGridError):
    """The caller sent a value we cannot accept (HTTP 422)."""

    code = "invalid_input"


class TooLarge(GisGridError):
    """An upload over the size limit (HTTP 413)."""

    code = "too_large"


class NotFound(GisGridError):
    """The thing asked for does not exist (HTTP 404)."""

    code = "not_found"


class Conflict(GisGridError):
    """A stale version or a clash with existing data (HTTP 409)."""

    code = "conflict"


class Unauthorized(GisGridError):
    """Not logged in, or the log-in failed or expired (HTTP 401)."""

    code = "unauthorized"


class TooManyRequests(GisGridError):
    """Too many attempts from one place in a short time (HTTP 429)."""

    code = "too_many_requests"


class Forbidden(GisGridError):
    """The caller may not do this (HTTP 403)."""

    code = "forbidden"


class DatabaseUnavailable(GisGridError):
    """The database cannot be reached (HTTP 503)."""

    code = "database_unavailable"


class ClusterError(GisGridError):
    """The project's own PostgreSQL cluster cannot be managed as asked."""

    code = "cluster_error"
