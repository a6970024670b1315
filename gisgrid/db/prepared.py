"""Server-side prepared statements for hot queries: planning a large query costs more than running it.

Each pooled connection prepares a statement on first use (PREPARE outlives transactions and roll-backs) and
then only EXECUTEs it; PostgreSQL switches to a cached generic plan after a few executions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult
from sqlalchemy.orm import Session

_PARAM = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


def execute_prepared(
    session: Session, *, name: str, sql: str, params: dict[str, Any], types: Sequence[tuple[str, str]]
) -> CursorResult[Any]:
    """Run `sql` (with :name parameters, typed by `types` in order) as the prepared statement `name`."""
    conn = session.connection()
    prepared: set[str] = conn.connection.info.setdefault("gisgrid_prepared", set())
    order = [p for p, _ in types]
    if name not in prepared:
        positional = _PARAM.sub(lambda m: f"${order.index(m.group(1)) + 1}", sql)
        conn.exec_driver_sql(f"PREPARE {name} ({', '.join(t for _, t in types)}) AS {positional}")
        prepared.add(name)
    placeholders = ", ".join(f"%({p})s" for p in order)
    return conn.exec_driver_sql(f"EXECUTE {name}({placeholders})", params)
