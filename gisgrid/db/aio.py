"""Asynchronous database access for the hot read routes (GET /api/locate): an asyncpg pool.

The rest of the API runs synchronous SQLAlchemy sessions in FastAPI's thread pool; that path costs ~2 ms of
Python per request and its threads contend for the GIL, which held GET /api/locate at ~300 requests/s on two
cores. With asyncpg the same SQL answers ~4× as many (benchmarks/results/locate.md). Statements are prepared
and cached per connection by asyncpg; `json` columns arrive already parsed (orjson). Statements come from
gisgrid.db.sql, rewritten for both drivers once: asyncpg gets their $n text, psycopg2 their %(name)s text.

Two implementations of one small interface, both running the same SQL on the real server:
- `PoolDB`: the asyncpg pool the app opens in its lifespan (what production and the live-server tests use);
- `ConnectionDB`: the same statements on a SQLAlchemy connection in a worker thread (asyncio.to_thread: the
  domain does not import starlette), so that tests whose data lives in an uncommitted test transaction see it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any, Protocol

import asyncpg
import orjson
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from gisgrid.db.sql import Statement
from gisgrid.errors import DatabaseUnavailable

APPLICATION_NAME = "gisgrid-async"
# A pooled connection that died under us (server restarted, backend terminated; a FATAL message that arrived
# while the connection sat idle leaves asyncpg's protocol in an error state): close it, try once more.
LOST = (asyncpg.ConnectionDoesNotExistError, asyncpg.AdminShutdownError, asyncpg.InternalClientError)
# What a dead or unreachable server looks like through asyncpg.
UNAVAILABLE = (OSError, asyncio.TimeoutError, asyncpg.PostgresConnectionError, *LOST)


class AioDB(Protocol):
    """The interface the async routes use: a statement and its parameters by name, rows as mappings."""

    async def fetchrow(self, sql: Statement, params: Mapping[str, Any]) -> Mapping[str, Any] | None: ...

    async def execute(self, sql: Statement, params: Mapping[str, Any]) -> None: ...


def connect_kwargs(url: str) -> dict[str, Any]:
    """asyncpg.connect arguments for a SQLAlchemy URL (host or ?host= socket folder, port, user, password,
    database, ?sslmode=), including a multi-host URL (?host=h1:p1&host=h2:p2&target_session_attrs=read-write,
    or ?host=h1,h2&port=p1,p2: libpq's forms) for failover to a promoted standby."""
    u = make_url(url)
    kwargs: dict[str, Any] = {"user": u.username, "password": u.password, "database": u.database}
    kwargs["host"] = u.host
    kwargs["port"] = u.port
    if not u.host and u.query.get("host"):
        kwargs["host"], kwargs["port"] = _hosts(u.query.get("host"), u.query.get("port"), u.port)
    sslmode = u.query.get("sslmode")  # libpq's names are asyncpg's too (disable … verify-full)
    kwargs["ssl"] = sslmode if isinstance(sslmode, str) else None
    attrs = u.query.get("target_session_attrs")  # read-write, primary, any … (asyncpg's names too)
    kwargs["target_session_attrs"] = attrs if isinstance(attrs, str) else None
    return {k: v for k, v in kwargs.items() if v is not None}


def _hosts(
    host: str | tuple[str, ...] | None, port: str | tuple[str, ...] | None, default_port: int | None
) -> tuple[str | list[str], int | list[int] | None]:
    """One host (and port) stays a value; several become asyncpg's lists of hosts and ports."""
    items = [host] if isinstance(host, str) else list(host or ())
    parts = [part for item in items for part in item.split(",")]
    port_parts = [
        p for item in ([port] if isinstance(port, str) else list(port or ())) for p in item.split(",")
    ]
    hosts: list[str] = []
    ports: list[int | None] = []
    for i, part in enumerate(parts):
        name, sep, num = part.rpartition(":")
        if sep and num.isdigit() and not part.startswith("/"):
            hosts.append(name)
            ports.append(int(num))
        else:
            hosts.append(part)
            given = port_parts[i] if i < len(port_parts) else ""
            ports.append(int(given) if given.isdigit() else default_port)
    if len(hosts) == 1:
        return hosts[0], ports[0]
    return hosts, [p or 5432 for p in ports]


async def _init(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )


async def _keep(_: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (RESET ALL, UNLISTEN, CLOSE ALL, unlock advisory locks): a
    second round trip per statement, and these routes change no session state. An open transaction is still
    rolled back by the pool."""


class PoolDB:
    """An asyncpg pool; connections are opened lazily, so the app starts even while the database is down."""

    def __init__(self, url: str, *, size: int) -> None:
        self.url = url
        self.size = size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def _get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        **connect_kwargs(self.url),
                        min_size=0,
                        max_size=self.size,
                        init=_init,
                        reset=_keep,
                        timeout=10,
                        command_timeout=60,
                        server_settings={"application_name": APPLICATION_NAME},
                    )
        return self._pool

    async def fetchrow(self, sql: Statement, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return await self._run("fetchrow", sql.dollar, sql.args(params))  # type: ignore[no-any-return]

    async def execute(self, sql: Statement, params: Mapping[str, Any]) -> None:
        await self._run("execute", sql.dollar, sql.args(params))

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        # Reads and the idempotent last-seen update only: a statement that failed on a lost connection is run
        # again on another one, so a database restart costs no request an error. Every pooled connection may
        # have died at once: up to one try per connection the pool can hold, then one on a fresh connection.
        attempts = self.size + 1
        for attempt in range(1, attempts + 1):
            try:
                pool = await self._get()
                async with pool.acquire() as conn:
                    try:
                        return await getattr(conn, method)(sql, *args)
                    except LOST:
                        _discard(conn)
                        raise
            except LOST as exc:
                if attempt == attempts:
                    raise _down(exc) from exc
            except UNAVAILABLE as exc:
                raise _down(exc) from exc
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _discard(conn: Any) -> None:
    """Close a dead pooled connection so the pool opens a fresh one instead of handing it out again. asyncpg
    may already have released it back to the pool as closed (when the FATAL message came first): nothing to do."""
    try:
        if not conn.is_closed():
            conn.terminate()
    except asyncpg.InterfaceError:
        pass


def _down(exc: BaseException) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"数据库无法连接 The database cannot be reached: {exc}".strip(),
        expected="a running database: `gisgrid db up`",
    )


class ConnectionDB:
    """The same interface on one SQLAlchemy connection (its transaction included), one statement at a time."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._lock = threading.Lock()

    def _run(self, sql: Statement, params: Mapping[str, Any], *, rows: bool) -> Mapping[str, Any] | None:
        with self._lock:
            result = self.connection.exec_driver_sql(sql.pyformat, dict(params))
            row = result.mappings().first() if rows else None
        return dict(row) if row is not None else None

    async def fetchrow(self, sql: Statement, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return await asyncio.to_thread(self._run, sql, params, rows=True)

    async def execute(self, sql: Statement, params: Mapping[str, Any]) -> None:
        await asyncio.to_thread(self._run, sql, params, rows=False)
