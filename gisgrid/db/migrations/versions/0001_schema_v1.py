"""schema v1: grids with generations, sites, compounds, buildings, walking network, rivers, workers, users

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def g(kind: str) -> Geometry:
    return Geometry(geometry_type=kind, srid=4326, spatial_index=False)


def gist(table: str, column: str = "geom") -> None:
    op.create_index(f"ix_{table}_{column}", table, [column], postgresql_using="gist")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "grid_unit",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(32)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text),
        sa.Column("households", sa.Integer, nullable=False, server_default="0"),
        sa.Column("population", sa.Integer, nullable=False, server_default="0"),
        sa.Column("geom", g("MULTIPOLYGON"), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("valid_to", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint(
            "level IN ('subdistrict', 'community', 'general', 'micro')", name="grid_unit_level"
        ),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="grid_unit_validity"),
        sa.CheckConstraint("households >= 0 AND population >= 0", name="grid_unit_counts"),
    )
    gist("grid_unit")
    op.create_index("ix_grid_unit_parent_code", "grid_unit", ["parent_code"])
    op.create_index("ix_grid_unit_level", "grid_unit", ["level"])
    # One current generation per code; generations of a code never overlap in time.
    op.create_index(
        "ux_grid_unit_current_code",
        "grid_unit",
        ["code"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.execute(
        "ALTER TABLE grid_unit ADD CONSTRAINT grid_unit_generations_disjoint "
        "EXCLUDE USING gist (code WITH =, tstzrange(valid_from, valid_to) WITH &&)"
    )

    op.create_table(
        "special_grid",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("community_code", sa.String(32)),
        sa.Column("geom", g("MULTIPOLYGON"), nullable=False),
        sa.CheckConstraint("kind IN ('law', 'care', 'medical', 'veterans')", name="special_grid_kind"),
    )
    gist("special_grid")

    op.create_table(
        "compound",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("ext_id", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("aliases", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("buildings", sa.Integer, nullable=False, server_default="0"),
        sa.Column("households", sa.Integer, nullable=False, server_default="0"),
        sa.Column("population", sa.Integer, nullable=False, server_default="0"),
        sa.Column("geom", g("MULTIPOLYGON"), nullable=False),
    )
    gist("compound")
    op.create_index("ix_compound_name", "compound", ["name"])

    op.create_table(
        "building",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("ext_id", sa.String(32), nullable=False, unique=True),
        sa.Column(
            "compound_id", sa.BigInteger, sa.ForeignKey("compound.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("floors", sa.Integer),
        sa.Column("households", sa.Integer, nullable=False, server_default="0"),
        sa.Column("geom", g("POLYGON"), nullable=False),
    )
    gist("building")
    op.create_index("ix_building_compound_id", "building", ["compound_id"])

    op.create_table(
        "service_site",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("ext_id", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("brand", sa.Text),
        sa.Column("services", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("opening_hours", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("community_code", sa.String(32)),
        sa.Column("compound_id", sa.BigInteger, sa.ForeignKey("compound.id", ondelete="SET NULL")),
        sa.Column("geom", g("POINT"), nullable=False),
        sa.CheckConstraint("kind IN ('centre', 'community', 'outpost')", name="service_site_kind"),
    )
    gist("service_site")

    op.create_table(
        "walk_node",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("geom", g("POINT"), nullable=False),
    )
    gist("walk_node")
    op.create_table(
        "walk_edge",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("ext_id", sa.String(32), unique=True),
        sa.Column("source", sa.BigInteger, sa.ForeignKey("walk_node.id"), nullable=False),
        sa.Column("target", sa.BigInteger, sa.ForeignKey("walk_node.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("geom", g("LINESTRING"), nullable=False),
        sa.CheckConstraint("kind IN ('road', 'path', 'bridge', 'crossing')", name="walk_edge_kind"),
        sa.CheckConstraint("length_m >= 0", name="walk_edge_length"),
    )
    gist("walk_edge")
    op.create_index("ix_walk_edge_source", "walk_edge", ["source"])
    op.create_index("ix_walk_edge_target", "walk_edge", ["target"])

    op.create_table(
        "river",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("ext_id", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("width_m", sa.Float),
        sa.Column("geom", g("LINESTRING"), nullable=False),
    )
    gist("river")
    op.create_table(
        "bank_segment",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("river_id", sa.BigInteger, sa.ForeignKey("river.id", ondelete="CASCADE"), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("geom", g("LINESTRING"), nullable=False),
        sa.CheckConstraint("side IN ('left', 'right')", name="bank_segment_side"),
    )
    gist("bank_segment")

    op.create_table(
        "worker",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("ext_id", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("phone", sa.String(32)),
        sa.CheckConstraint(
            "role IN ('community_head', 'grid_worker', 'micro_grid_worker', 'specialist')", name="worker_role"
        ),
    )
    op.create_table(
        "worker_grid",
        sa.Column(
            "worker_id", sa.BigInteger, sa.ForeignKey("worker.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("grid_code", sa.String(32), primary_key=True),
    )
    op.create_index("ix_worker_grid_grid_code", "worker_grid", ["grid_code"])

    op.create_table(
        "app_user",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("scope_codes", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("password_hash", sa.Text),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "role IN ('admin', 'planner', 'dispatcher', 'auditor', 'grid_worker', 'patrol')",
            name="app_user_role",
        ),
    )
    op.create_table(
        "dataset_load",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("files_hash", sa.String(64), nullable=False),
        sa.Column("counts", JSONB, nullable=False, server_default="{}"),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    for table in (
        "dataset_load",
        "app_user",
        "worker_grid",
        "worker",
        "bank_segment",
        "river",
        "walk_edge",
        "walk_node",
        "service_site",
        "building",
        "compound",
        "special_grid",
        "grid_unit",
    ):
        op.drop_table(table)
