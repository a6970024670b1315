"""Server-side prepared statements for hot queries: planning a large query costs more than running it.

Each pooled connection prepares a statement on first use (PREPARE outlives transactions and roll-backs) and
then only EXECUTEs it; PostgreSQL switches to a cached generic plan after a few executions. The asyncpg path
(gisgrid.db.aio) prepares and caches on its own; both take their text from `positional`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult
from sqlalchemy.orm import Session

_PARAM = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


def positional(sql: str, types: Sequence[tuple[str, str]]) -> str:
    """`sql` with each :name replaced by its typed $n placeholder, in the order of `types`."""
    order = [p for p, _ in types]
    kinds = dict(types)

    def number(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in kinds:
            raise KeyError(f"parameter :{name} has no type")
        return f"${order.index(name) + 1}::{kinds[name]}"

    return _PARAM.sub(number, sql)


def execute_prepared(
    session: Session, *, name: str, sql: str, params: dict[str, Any], types: Sequence[tuple[str, str]]
) -> CursorResult[Any]:
    """Run `sql` (with :name parameters, typed by `types` in order) as the prepared statement `name`."""
    conn = session.connection()
    prepared: set[str] = conn.connection.info.setdefault("gisgrid_prepared", set())
    order = [p for p, _ in types]
    if name not in prepared:
        conn.exec_driver_sql(f"PREPARE {name} ({', '.join(t for _, t in types)}) AS {positional(sql, types)}")
        prepared.add(name)
    placeholders = ", ".join(f"%({p})s" for p in order)
    return conn.exec_driver_sql(f"EXECUTE {name}({placeholders})", params)
