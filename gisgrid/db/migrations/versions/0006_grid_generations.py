"""grid_generation: a set of grid changes saved together (an import, an edit, a revert, the demo load), with
who, when and why; grid_unit rows reference the generation that created them and the one that retired them

A grid_unit row is one version of a code, in force from valid_from to valid_to; a generation that replaces the
grids ends the old rows (valid_to, retired_generation_id) and begins new ones (generation_id). Rows that exist
before this migration get one backfilled generation.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

BACKFILL = """
WITH g AS (
    INSERT INTO grid_generation (created_at, source, reason, units_added, units_retired)
    SELECT min(valid_from), 'import', '迁移前已有的网格 grids stored before generations were recorded (0006)',
           count(*), count(valid_to)
      FROM grid_unit
    HAVING count(*) > 0
    RETURNING id
)
UPDATE grid_unit u
   SET generation_id = g.id,
       retired_generation_id = CASE WHEN u.valid_to IS NULL THEN NULL ELSE g.id END
  FROM g
"""


def upgrade() -> None:
    op.create_table(
        "grid_generation",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by_id", sa.BigInteger),
        sa.Column("created_by", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("units_added", sa.Integer, nullable=False, server_default="0"),
        sa.Column("units_retired", sa.Integer, nullable=False, server_default="0"),
        sa.Column("units_changed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("detail", JSONB),
        sa.CheckConstraint("source IN ('import', 'edit', 'revert', 'demo')", name="grid_generation_source"),
        sa.CheckConstraint(
            "units_added >= 0 AND units_retired >= 0 AND units_changed >= 0", name="grid_generation_counts"
        ),
    )
    op.create_index("ix_grid_generation_created_at", "grid_generation", ["created_at"])
    for column in ("generation_id", "retired_generation_id"):
        op.add_column("grid_unit", sa.Column(column, sa.BigInteger))
        op.create_foreign_key(f"grid_unit_{column}_fkey", "grid_unit", "grid_generation", [column], ["id"])
        op.create_index(f"ix_grid_unit_{column}", "grid_unit", [column])
    op.execute(BACKFILL)


def downgrade() -> None:
    for column in ("retired_generation_id", "generation_id"):
        op.drop_index(f"ix_grid_unit_{column}", table_name="grid_unit")
        op.drop_constraint(f"grid_unit_{column}_fkey", "grid_unit", type_="foreignkey")
        op.drop_column("grid_unit", column)
    op.drop_index("ix_grid_generation_created_at", table_name="grid_generation")
    op.drop_table("grid_generation")
