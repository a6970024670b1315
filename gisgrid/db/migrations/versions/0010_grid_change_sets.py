"""grid_change_set: boundary edits as draft change sets (operations, the versions they started from, the checked
preview), saved as one grid generation each; special grids get a version and can retire (their codes are not
used again)

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grid_change_set",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by_id", sa.BigInteger),
        sa.Column("created_by", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("operations", JSONB, nullable=False),
        sa.Column("base_versions", JSONB, nullable=False, server_default="{}"),
        sa.Column("preview", JSONB),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column(
            "generation_id",
            sa.BigInteger,
            sa.ForeignKey("grid_generation.id", name="grid_change_set_generation_id_fkey"),
        ),
        sa.Column("saved_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('draft', 'saved', 'cancelled')", name="grid_change_set_status"),
    )
    op.create_index("ix_grid_change_set_status", "grid_change_set", ["status", "created_at"])
    op.create_index("ix_grid_change_set_generation_id", "grid_change_set", ["generation_id"])
    op.add_column("special_grid", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("special_grid", sa.Column("retired_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("special_grid", "retired_at")
    op.drop_column("special_grid", "version")
    op.drop_index("ix_grid_change_set_generation_id", table_name="grid_change_set")
    op.drop_index("ix_grid_change_set_status", table_name="grid_change_set")
    op.drop_table("grid_change_set")
