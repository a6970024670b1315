"""Migrations run forward from empty, every geometry column is typed and indexed, and they reverse cleanly."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from gisgrid.config import DatabaseSettings
from gisgrid.db import migrate
from gisgrid.db.engine import drop_database, ensure_database, make_engine


@pytest.fixture
def empty_engine(db_settings: DatabaseSettings) -> Iterator[Engine]:
    url = db_settings.admin_url(dbname=f"gisgrid_migrate_test_{os.getpid()}")
    drop_database(url)
    ensure_database(url)
    eng = make_engine(url, pool_size=1)
    yield eng
    eng.dispose()
    drop_database(url)


def test_upgrade_from_empty_types_and_indexes_every_geometry(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    with empty_engine.connect() as conn:
        cols = conn.execute(
            text(
                "SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns "
                "WHERE f_table_schema = 'public'"
            )
        ).all()
        assert {c.f_table_name for c in cols} >= {
            "grid_unit",
            "special_grid",
            "compound",
            "building",
            "service_site",
            "walk_node",
            "walk_edge",
            "river",
            "bank_segment",
        }
        for col in cols:
            assert col.srid == 4326 and col.type != "GEOMETRY", col
            indexed = conn.execute(
                text(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = :t AND indexdef ILIKE '%USING gist%' "
                    "AND indexdef ILIKE '%' || :c || '%'"
                ),
                {"t": col.f_table_name, "c": col.f_geometry_column},
            ).scalar()
            assert indexed, f"{col.f_table_name}.{col.f_geometry_column} has no GiST index"


def test_downgrade_to_base_and_up_again(empty_engine: Engine) -> None:
    from alembic import command

    migrate.upgrade(empty_engine)
    cfg = migrate.alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('grid_unit')")).scalar() is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()


def test_generations_of_one_code_cannot_overlap(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    poly = "SRID=4326;MULTIPOLYGON(((104.1 30.6,104.11 30.6,104.11 30.61,104.1 30.6)))"
    insert = text(
        "INSERT INTO grid_unit (code, level, name, geom, valid_from, valid_to) "
        "VALUES ('510104003', 'subdistrict', 'x', :g, :f, :t)"
    )
    with empty_engine.begin() as conn:
        conn.execute(insert, {"g": poly, "f": "2023-01-01", "t": "2024-01-01"})
        conn.execute(insert, {"g": poly, "f": "2024-01-01", "t": None})
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(insert, {"g": poly, "f": "2023-06-01", "t": "2023-07-01"})


def test_0006_backfills_one_generation_for_the_grids_already_stored(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, revision="0004")
    poly = "SRID=4326;MULTIPOLYGON(((104.1 30.6,104.11 30.6,104.11 30.61,104.1 30.6)))"
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO grid_unit (code, level, name, geom, valid_from, valid_to) VALUES "
                "('510104003', 'subdistrict', 'old', :g, '2023-01-01', '2024-01-01'), "
                "('510104003', 'subdistrict', 'new', :g, '2024-01-01', NULL)"
            ),
            {"g": poly},
        )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        generation = conn.execute(text("SELECT * FROM grid_generation")).mappings().one()
        assert generation["source"] == "import" and generation["created_by"] is None
        assert (generation["units_added"], generation["units_retired"]) == (2, 1)
        units = conn.execute(
            text("SELECT name, generation_id, retired_generation_id FROM grid_unit ORDER BY valid_from")
        ).all()
        assert units == [("old", generation["id"], generation["id"]), ("new", generation["id"], None)]


def test_a_database_made_before_the_roles_is_handed_to_the_owner(
    empty_engine: Engine, db_settings: DatabaseSettings
) -> None:
    """Migrated up to 0010 the old way (as the admin, who then owns everything), then upgraded: the owner role
    gets every table, sequence and function of ours, and the app role its rights."""
    from alembic import command

    cfg = migrate.alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
        admin = conn.execute(text("SELECT current_user")).scalar()
        assert (
            conn.execute(
                text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'incident'")
            ).scalar()
            == admin
        )
    migrate.upgrade(empty_engine)
    owner, app = db_settings.db_owner_role, db_settings.db_app_role
    with empty_engine.connect() as conn:
        owners = conn.execute(
            text(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                "AND relname IN ('incident', 'audit_log', 'alembic_version', 'procrastinate_jobs', 'incident_id_seq')"
            )
        ).scalars()
        assert set(owners) == {owner}
        assert (
            conn.execute(
                text(
                    "SELECT DISTINCT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'audit_log_append_only'"
                )
            ).scalar()
            == owner
        )
        rights = conn.execute(
            text(
                "SELECT has_table_privilege(:app, 'incident', 'UPDATE'), has_table_privilege(:app, 'audit_log', "
                "'INSERT'), has_table_privilege(:app, 'audit_log', 'DELETE'), "
                "has_table_privilege(:app, 'procrastinate_jobs', 'DELETE')"
            ),
            {"app": app},
        ).one()
        assert tuple(rights) == (True, True, False, True)
