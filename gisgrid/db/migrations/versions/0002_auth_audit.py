"""accounts (lock-out, worker link), sessions and API tokens, append-only audit trail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    op.add_column("app_user", sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
    op.add_column("app_user", sa.Column("locked_until", sa.DateTime(timezone=True)))
    op.add_column("app_user", sa.Column("last_login_at", sa.DateTime(timezone=True)))
    op.add_column(
        "app_user", sa.Column("worker_id", sa.BigInteger, sa.ForeignKey("worker.id", ondelete="SET NULL"))
    )
    op.add_column("app_user", sa.Column("is_demo", sa.Boolean, nullable=False, server_default=sa.false()))

    op.create_table(
        "auth_session",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("csrf_hash", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("ip", sa.Text),
        sa.CheckConstraint("kind IN ('session', 'token')", name="auth_session_kind"),
    )
    op.create_index("ix_auth_session_user_id", "auth_session", ["user_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor_id", sa.BigInteger),
        sa.Column("actor", sa.Text),
        sa.Column("role", sa.Text),
        sa.Column("ip", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("entity_key", sa.Text),
        sa.Column("before", JSONB),
        sa.Column("after", JSONB),
        sa.Column("detail", JSONB),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_key"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    op.execute("DROP TABLE audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("auth_session")
    for col in ("is_demo", "worker_id", "last_login_at", "locked_until", "failed_logins"):
        op.drop_column("app_user", col)
