"""Walking access: for each node of the walking network, its nearest service sites along the network."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.db import sql

# Metres per degree of latitude; a box of limit_m/DEG_M degrees is always wide enough at Chengdu's latitude
# once doubled for longitude (cos 30.6° ≈ 0.86).
DEG_M = 111_000.0


SITE_ACCESS = sql.load(__file__, "site_access.sql")


def build_site_access(session: Session, *, limit_m: float = 2000.0, ranks: int = 3) -> int:
    """Recompute walk_site_access (nearest `ranks` sites per node within `limit_m`); return rows written."""
    session.execute(text("DELETE FROM walk_site_access"))
    params = {"limit_m": limit_m, "limit_deg": 2 * limit_m / DEG_M, "ranks": ranks}
    result = sql.run(session, SITE_ACCESS, params)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
