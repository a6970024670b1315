"""The ORM models describe the schema the migrations build: autogenerate against the migrated test database
finds nothing to change. A migration without its model (or a model without its migration) fails here."""

from __future__ import annotations

from pprint import pformat

from sqlalchemy import Engine, text

from gisgrid.db import migrate


def test_models_match_the_migrated_database(engine: Engine) -> None:
    with engine.connect() as conn:
        assert migrate.current_revision(engine) == migrate.head_revision()
        drift = migrate.model_drift(conn)
    assert drift == [], "models and migrations differ:\n" + pformat(drift, width=110)


def test_extension_tables_are_left_out_but_a_stray_table_is_drift(admin_engine: Engine) -> None:
    with admin_engine.connect() as conn:
        include = migrate.not_ours(conn)
        assert not include("spatial_ref_sys", "table", {})  # PostGIS's, found through pg_depend
        assert include("grid_unit", "table", {})
        conn.execute(text("CREATE TABLE stray_table (id int)"))  # rolled back with the connection
        drift = migrate.model_drift(conn)
    assert [(op, table.name) for op, table, *_ in drift if op == "remove_table"] == [
        ("remove_table", "stray_table")
    ]


def test_check_constraints_are_named_alike(engine: Engine) -> None:
    """Alembic does not compare CHECK constraints: their names, table by table, at least must agree."""
    from sqlalchemy import CheckConstraint

    from gisgrid.db.models import Base

    in_models = {
        (table.name, c.name)
        for table in Base.metadata.tables.values()
        for c in table.constraints
        if isinstance(c, CheckConstraint)
    }
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint "
                "WHERE contype = 'c' AND conrelid = ANY(CAST(:tables AS regclass[]))"
            ),
            {"tables": sorted(Base.metadata.tables)},
        )
        in_database = {(table, name) for table, name in rows}
    assert in_models == in_database
