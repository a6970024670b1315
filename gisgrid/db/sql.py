"""The one SQL runner: SQL with `:name` placeholders (usually a .sql file beside the module that runs it), read
and rewritten once for each driver, and run on a SQLAlchemy session/connection (psycopg2) or the asyncpg pool.

    LOCATE = sql.load(__file__, "locate.sql", types=LOCATE_TYPES)   # nothing is read at import time
    sql.run(session, LOCATE, params)                                  # psycopg2: %(name)s
    await db.fetchrow(LOCATE, params)                                 # asyncpg: $1::float8 … (gisgrid.db.aio)
    sql.run_prepared(session, LOCATE, params)                         # server-side PREPARE / EXECUTE

One rewriter serves both drivers. It leaves string literals, quoted identifiers, comments, `::` casts and `:=`
alone, so a placeholder name in a comment or a string is never substituted (psycopg2 would otherwise put a
value, newlines and all, into a `--` comment), and doubles every `%` for psycopg2 (`c.name % :name`, format()).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.util.typing import TupleAny

_TOKEN = re.compile(
    r"""
      (?P<keep>'(?:[^']|'')*'            # a string literal
             |"(?:[^"]|"")*"            # a quoted identifier
             |--[^\n]*                  # a line comment
             |/\*.*?\*/                 # a block comment
             |::)                       # a cast
    | :(?P<param>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<percent>%)                    # an operator (pg_trgm similarity, modulo): %% for psycopg2
    """,
    re.VERBOSE | re.DOTALL,
)


def rewrite(text: str, types: Mapping[str, str] | None = None) -> tuple[tuple[str, ...], str, str]:
    """(parameter names in order of first use, the psycopg2 text, the asyncpg/PREPARE text) of `text`.

    With `types`, every parameter must have one and the asyncpg text casts it ($1::float8): PREPARE needs the
    types, and `:label IS NULL` alone would leave the server guessing."""
    names: list[str] = []

    def number(name: str) -> int:
        if types is not None and name not in types:
            raise KeyError(f"parameter :{name} has no type")
        if name not in names:
            names.append(name)
        return names.index(name) + 1

    def pyformat(m: re.Match[str]) -> str:
        if m.group("param") is None:
            return m.group(0).replace("%", "%%")
        number(m.group("param"))
        return f"%({m.group('param')})s"

    def dollar(m: re.Match[str]) -> str:
        name = m.group("param")
        if name is None:
            return m.group(0)
        n = number(name)
        return f"${n}::{types[name]}" if types is not None else f"${n}"

    py = _TOKEN.sub(pyformat, text)
    return tuple(names), py, _TOKEN.sub(dollar, text)


class Statement:
    """SQL with `:name` placeholders, from a text or a file read on first use, rewritten once per driver."""

    def __init__(
        self,
        source: str | Path,
        *,
        name: str | None = None,
        types: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
    ) -> None:
        self.source = source
        self.name = name or (source.name if isinstance(source, Path) else "sql")
        self.types: dict[str, str] | None = dict(types) if types is not None else None

    @cached_property
    def text(self) -> str:
        """The SQL as written."""
        if isinstance(self.source, Path):
            return self.source.read_text(encoding="utf-8")
        return self.source

    @cached_property
    def _rewritten(self) -> tuple[tuple[str, ...], str, str]:
        return rewrite(self.text, self.types)

    @property
    def names(self) -> tuple[str, ...]:
        """The parameters, in the order of their $n."""
        return self._rewritten[0]

    @property
    def pyformat(self) -> str:
        """The text for psycopg2 (%(name)s; every other % doubled)."""
        return self._rewritten[1]

    @property
    def dollar(self) -> str:
        """The text for asyncpg and PREPARE ($1, or $1::type where types were given)."""
        return self._rewritten[2]

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The parameters in the order of the $n placeholders."""
        return tuple(params[name] for name in self.names)

    def __repr__(self) -> str:
        return f"Statement({self.name!r})"


def load(
    anchor: str | Path, file_name: str, *, types: Sequence[tuple[str, str]] | Mapping[str, str] | None = None
) -> Statement:
    """The .sql file `file_name` beside the module `anchor` (pass `__file__`); read on first use."""
    return Statement(Path(anchor).with_name(file_name), types=types)


def _connection(db: Session | Connection) -> Connection:
    return db.connection() if isinstance(db, Session) else db


def run(
    db: Session | Connection, statement: Statement, params: Mapping[str, Any] | None = None
) -> CursorResult[*TupleAny]:
    """Run a statement in the session's (or connection's) transaction."""
    return _connection(db).exec_driver_sql(statement.pyformat, dict(params or {}))


def run_prepared(
    db: Session | Connection, statement: Statement, params: Mapping[str, Any]
) -> CursorResult[*TupleAny]:
    """Run a statement as a server-side prepared statement: planning a large query costs more than running it.

    Each pooled connection PREPAREs it on first use (a prepared statement outlives transactions and roll-backs)
    and then only EXECUTEs it; PostgreSQL switches to a cached generic plan after a few executions. The
    statement needs `types`."""
    if statement.types is None:
        raise TypeError(f"{statement!r} needs types to be prepared")
    conn = _connection(db)
    prepared: set[str] = conn.connection.info.setdefault("gisgrid_prepared", set())
    name = "gisgrid_" + re.sub(r"\W", "_", statement.name.removesuffix(".sql"))
    if name not in prepared:
        kinds = ", ".join(statement.types[n] for n in statement.names)
        conn.exec_driver_sql(f"PREPARE {name} ({kinds}) AS {statement.dollar.replace('%', '%%')}", {})
        prepared.add(name)
    placeholders = ", ".join(f"%({n})s" for n in statement.names)
    return conn.exec_driver_sql(f"EXECUTE {name}({placeholders})", dict(params))
