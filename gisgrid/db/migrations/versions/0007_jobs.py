"""jobs: procrastinate's queue schema (frozen copy of 3.10.0) and our `job` table of what users see

The queue (procrastinate_jobs and its functions) belongs to procrastinate; `job` holds what a person asks about
a long run: its kind, status, progress, result or error, attempts and who started it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PROCRASTINATE_SCHEMA = Path(__file__).with_name("0007_procrastinate_3_10_0.sql")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
PROCRASTINATE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
PROCRASTINATE_TYPES = (
    "procrastinate_job_to_defer_v1",
    "procrastinate_job_event_type",
    "procrastinate_job_status",
)


def upgrade() -> None:
    # The driver's own cursor runs the file as written: no bind-parameter parsing of its `::` casts and `%`s.
    cursor = op.get_bind().connection.cursor()
    try:
        cursor.execute(PROCRASTINATE_SCHEMA.read_text(encoding="utf-8"))
    finally:
        cursor.close()
    op.create_table(
        "job",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("params", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("progress_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("progress_total", sa.Integer),
        sa.Column("progress_message", sa.Text),
        sa.Column("result", JSONB),
        sa.Column("error", JSONB),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("queue_job_id", sa.BigInteger),
        sa.Column("created_by", sa.BigInteger, sa.ForeignKey("app_user.id", ondelete="SET NULL")),
        sa.Column("created_by_name", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(f"status IN {JOB_STATUSES}", name="job_status"),
    )
    op.create_index("ix_job_created_by_created_at", "job", ["created_by", "created_at"])
    op.create_index("ix_job_kind_status", "job", ["kind", "status"])


def downgrade() -> None:
    op.drop_table("job")
    bind = op.get_bind()
    functions = bind.execute(
        sa.text("SELECT oid::regprocedure::text FROM pg_proc WHERE starts_with(proname, 'procrastinate_')")
    ).scalars()
    for signature in list(functions):
        bind.execute(sa.text(f"DROP FUNCTION IF EXISTS {signature} CASCADE"))
    for table in PROCRASTINATE_TABLES:
        bind.execute(sa.text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    for type_ in PROCRASTINATE_TYPES:
        bind.execute(sa.text(f"DROP TYPE IF EXISTS {type_} CASCADE"))
