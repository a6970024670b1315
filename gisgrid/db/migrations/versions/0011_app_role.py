"""the app's own least-privilege role: rows of every table, audit_log INSERT and SELECT only; default privileges
for the tables of later migrations (the roles themselves are created by gisgrid.db.roles before migrating)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from alembic import context, op

from gisgrid.db import roles

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _roles() -> tuple[str, str]:
    names = context.config.attributes.get("roles")
    if names is None:
        from gisgrid.config import DatabaseSettings

        db = DatabaseSettings()
        names = (db.db_owner_role, db.db_app_role)
    return str(names[0]), str(names[1])


def upgrade() -> None:
    owner, app = _roles()
    roles.grant_app(op.get_bind(), owner=owner, app=app)


def downgrade() -> None:
    owner, app = _roles()
    roles.revoke_app(op.get_bind(), owner=owner, app=app)
