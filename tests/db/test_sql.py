"""The one SQL runner: :name placeholders rewritten once for psycopg2 and asyncpg, never inside strings,
comments or casts; statements run plainly, prepared, and through the async interface on the same server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from gisgrid.db import sql
from gisgrid.db.aio import ConnectionDB

TRICKY = """-- :a in a comment stays, 100% of it
SELECT :a::text AS a, :b + 1 AS b, ':a'' %' AS s, 7 % 4 AS m, "col:a" FROM (SELECT 1 AS "col:a") t
 WHERE :a IS NOT NULL /* :b here too */"""


def test_typed_statements_number_in_order_of_use_and_refuse_untyped_parameters() -> None:
    statement = sql.Statement("SELECT :a::text, :b + 1 WHERE x = :a", types=(("b", "int4"), ("a", "text")))
    assert statement.names == ("a", "b")
    assert statement.dollar == "SELECT $1::text::text, $2::int4 + 1 WHERE x = $1::text"
    assert statement.args({"b": 2, "a": "x", "unused": 0}) == ("x", 2)
    with pytest.raises(KeyError, match=":b"):
        _ = sql.Statement("SELECT :a, :b", types={"a": "text"}).dollar


def test_strings_comments_casts_and_percent_signs_are_left_alone() -> None:
    statement = sql.Statement(TRICKY)
    assert statement.names == ("a", "b")
    assert "-- :a in a comment stays, 100%% of it" in statement.pyformat
    assert "%(a)s::text AS a, %(b)s + 1 AS b, ':a'' %%' AS s, 7 %% 4" in statement.pyformat
    assert "/* :b here too */" in statement.pyformat and '"col:a"' in statement.pyformat
    assert "$1::text AS a, $2 + 1 AS b, ':a'' %' AS s, 7 % 4" in statement.dollar
    assert "directed := false" in sql.Statement("SELECT f(x, directed := false, :y)").pyformat


def test_run_run_prepared_and_the_async_interface_agree(session: Session, connection: Connection) -> None:
    plain = sql.Statement(TRICKY)
    expected = {"a": "x", "b": 42, "s": ":a' %", "m": 3, "col:a": 1}
    assert dict(sql.run(session, plain, {"a": "x", "b": 41}).mappings().one()) == expected
    typed = sql.Statement(TRICKY, name="test_tricky", types={"a": "text", "b": "int4"})
    for b in (41, 41, 41, 41, 41, 41):  # past the server's switch to a generic plan
        assert dict(sql.run_prepared(session, typed, {"a": "x", "b": b}).mappings().one()) == expected
    row = asyncio.run(ConnectionDB(connection).fetchrow(typed, {"a": "x", "b": 41}))
    assert row is not None and dict(row) == expected


def test_a_value_in_a_comment_position_is_never_substituted(session: Session) -> None:
    """psycopg2 would write a value with a newline into a `--` comment and end it: the rewriter skips comments."""
    statement = sql.Statement("SELECT 1 AS one -- :evil\n")
    assert dict(sql.run(session, statement, {"evil": "x\n; SELECT 2"}).mappings().one()) == {"one": 1}


def test_load_reads_a_file_beside_the_module_once(tmp_path: Path) -> None:
    anchor = tmp_path / "module.py"
    (tmp_path / "q.sql").write_text("SELECT :x", encoding="utf-8")
    statement = sql.load(anchor, "q.sql")
    assert statement.dollar == "SELECT $1"
    (tmp_path / "q.sql").write_text("SELECT :y", encoding="utf-8")
    assert statement.dollar == "SELECT $1" and statement.names == ("x",) and statement.name == "q.sql"
