"""Alembic environment: runs on the connection handed over by gisgrid.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from gisgrid.db.migrate import not_ours
from gisgrid.db.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # Autogenerate sees what tests/db/test_model_drift.py sees: our schema, without extension-owned tables.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=not_ours(connection),
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
