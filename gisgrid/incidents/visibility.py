"""Which incidents a caller may see: grid workers those of the grids they serve, scoped accounts their scope.

A grid worker linked to a worker record sees the incidents whose micro-grid code starts with one of that
worker's grid codes (worker_grid); without a link, the account's scope codes; with neither, nothing. Other roles
see their scope (an empty scope is the whole subdistrict, as everywhere in gisgrid). The CLI (no principal)
sees everything.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.db.models import Incident, WorkerGrid

Prefixes = tuple[str, ...] | None  # None: everything


def prefixes(session: Session, principal: Principal | None) -> Prefixes:
    """The grid-code prefixes whose incidents the principal may see (None: all)."""
    if principal is None:
        return None
    if not principal.can("incidents.read"):
        return ()  # e.g. patrol accounts report incidents but read none (not even as duplicate suggestions)
    if principal.role == "grid_worker":
        served: tuple[str, ...] = ()
        if principal.worker_id is not None:
            served = tuple(
                session.scalars(
                    select(WorkerGrid.grid_code)
                    .where(WorkerGrid.worker_id == principal.worker_id)
                    .order_by(WorkerGrid.grid_code)
                )
            )
        return served or principal.scope_codes
    return principal.scope_codes or None


def clause(allowed: Prefixes) -> ColumnElement[bool]:
    """A WHERE clause keeping the incidents inside `allowed`."""
    if allowed is None:
        return true()
    if not allowed:
        return false()
    return or_(*(Incident.micro_code.startswith(p, autoescape=True) for p in allowed))


def sees(allowed: Prefixes, micro_code: str | None) -> bool:
    """Whether an incident with this micro-grid code is inside `allowed`."""
    if allowed is None:
        return True
    return micro_code is not None and any(micro_code.startswith(p) for p in allowed)


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching codes that start with `prefix` (wildcards in it escaped)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
