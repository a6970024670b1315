"""Alembic environment: runs on the connection handed over by gisgrid.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from gisgrid.db.models import Base
from gisgrid.jobs import models as _jobs_models  # noqa: F401  (the `job` table joins the metadata)

target_metadata = Base.metadata


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # PostGIS and pgRouting own tables (spatial_ref_sys, topology …) that are not ours.
    return not (type_ == "table" and reflected and compare_to is None)


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
    context.configure(connection=connection, target_metadata=target_metadata, include_object=_include_object)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
