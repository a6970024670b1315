"""Log-in failures counted atomically in a decaying window, per account and per source address

app_user.last_failed_at starts the window of an account's failures (older failures no longer count, so a lock
that expired does not come back with the next typo); login_throttle counts log-in failures per source address.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("last_failed_at", sa.DateTime(timezone=True)))
    op.create_table(
        "login_throttle",
        sa.Column("ip", sa.Text, primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_column("app_user", "last_failed_at")
