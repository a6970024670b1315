"""Health check: the database answers, with which versions and schema revision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.db.migrate import head_revision


def check(session: Session) -> dict[str, Any]:
    """Versions of PostgreSQL, PostGIS, pgRouting and the schema revision."""
    row = session.execute(
        text(
            "SELECT current_setting('server_version') AS pg, postgis_lib_version() AS postgis, "
            "(SELECT extversion FROM pg_extension WHERE extname = 'pgrouting') AS pgr, "
            "(SELECT version_num FROM alembic_version LIMIT 1) AS rev"
        )
    ).one()
    head = head_revision()
    return {
        "status": "ok" if row.rev == head else "schema_outdated",
        "database": "ok",
        "postgres_version": row.pg,
        "postgis_version": row.postgis,
        "pgrouting_version": row.pgr or "missing",
        "schema_revision": row.rev,
        "schema_head": head,
    }
