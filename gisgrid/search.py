"""Search grid units, compounds and service sites by name, alias or code."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gisgrid.db import sql
from gisgrid.errors import InvalidInput

MAX_QUERY_LENGTH = 100


SEARCH = sql.load(__file__, "search.sql")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, *, q: str, limit: int = 20) -> list[dict[str, Any]]:
    """Grid units, compounds and sites whose name, alias or code matches `q` (exact matches first)."""
    q = q.strip()
    if not q:
        raise InvalidInput(
            "The search text is empty.", field="q", value=q, expected="a name, alias or grid code"
        )
    if len(q) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            f"The search text is {len(q)} characters long.",
            field="q",
            value=q[:20] + "…",
            expected=f"at most {MAX_QUERY_LENGTH} characters",
        )
    esc = _escape_like(q)
    params = {"q": q, "pattern": f"%{esc}%", "prefix": f"{esc}%", "limit": limit}
    rows = sql.run(session, SEARCH, params).mappings().all()
    return [
        {
            "kind": r["kind"],
            "subkind": r["subkind"],
            "id": r["key"],
            "name": r["name"],
            "code": r["code"],
            "lon": r["lon"],
            "lat": r["lat"],
            "bbox": [r["minx"], r["miny"], r["maxx"], r["maxy"]],
        }
        for r in rows
    ]
