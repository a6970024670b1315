"""Who may do what: roles, permissions and community scopes."""

from __future__ import annotations

from dataclasses import dataclass, field

from gisgrid.errors import Forbidden

ROLES = ("admin", "planner", "dispatcher", "auditor", "grid_worker", "patrol")
ROLE_TITLES = {
    "admin": "管理员 administrator",
    "planner": "规划员 planner",
    "dispatcher": "调度员 dispatcher",
    "auditor": "审计员 auditor",
    "grid_worker": "网格员 grid worker",
    "patrol": "巡河员 patrol",
}

# Permission → roles that hold it. "public" needs no log-in; "user" any logged-in account.
PERMISSIONS: dict[str, frozenset[str]] = {
    "public": frozenset({"anonymous", *ROLES}),
    "user": frozenset(ROLES),
    "grids.edit": frozenset({"admin", "planner"}),
    "grids.validate": frozenset({"admin", "planner", "auditor"}),
    # Who changed the grids when, and why (grid generations).
    "grids.history": frozenset({"admin", "planner", "auditor"}),
    "io.import": frozenset({"admin", "planner"}),
    "io.export": frozenset({"admin", "planner", "auditor"}),
    "audit.read": frozenset({"admin", "auditor"}),
    # Walking coverage of the service sites: per-building households are private data.
    "coverage.read": frozenset({"admin", "planner", "auditor"}),
    "users.manage": frozenset({"admin"}),
    "contacts.read": frozenset(ROLES),
    # Full phone numbers (the rest see them masked, gisgrid/auth/contacts.py): the people who call workers.
    "contacts.full": frozenset({"admin", "dispatcher"}),
    # Grid workers read only the incidents of the grids they serve (gisgrid/incidents/visibility.py).
    "incidents.read": frozenset({"admin", "planner", "dispatcher", "auditor", "grid_worker"}),
    "incidents.create": frozenset({"admin", "dispatcher", "grid_worker", "patrol"}),
    # Which role may take which transition is checked per transition (gisgrid/incidents/workflow.py).
    "incidents.act": frozenset({"admin", "dispatcher", "grid_worker"}),
    # Bulk import of 12345-hotline exports (the dispatch centre's page; they cover the whole subdistrict).
    "incidents.import": frozenset({"admin", "dispatcher"}),
    # Jobs (long runs such as imports): everyone reads the jobs they started, admins every job.
    "jobs.read": frozenset(ROLES),
    "jobs.read_all": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account (with role and scope) or anonymous."""

    user_id: int | None = None
    username: str = "anonymous"
    display_name: str = "匿名 anonymous"
    role: str = "anonymous"
    scope_codes: tuple[str, ...] = ()
    via: str = "none"  # none | cookie | bearer
    session_hash: str | None = None
    worker_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        """True when nobody is logged in."""
        return self.user_id is None

    def can(self, permission: str) -> bool:
        """Whether the role holds the permission."""
        return self.role in PERMISSIONS[permission]

    def in_scope(self, code: str | None) -> bool:
        """Whether a grid code lies in the account's scope (empty scope = the whole subdistrict)."""
        if not self.scope_codes:
            return True
        return code is not None and any(code.startswith(s) for s in self.scope_codes)


ANONYMOUS = Principal()


def require(principal: Principal, permission: str) -> None:
    """Raise Forbidden unless the principal holds the permission."""
    if not principal.can(permission):
        allowed = ", ".join(sorted(PERMISSIONS[permission] - {"anonymous"}))
        raise Forbidden(
            f"Role {principal.role!r} may not do this ({permission}).",
            field="role",
            value=principal.role,
            expected=f"one of: {allowed}",
        )


def require_scope(principal: Principal, code: str | None) -> None:
    """Raise Forbidden unless the grid code lies in the principal's scope."""
    if not principal.in_scope(code):
        raise Forbidden(
            f"Grid {code!r} is outside your scope.",
            field="code",
            value=code,
            expected="a grid inside " + ", ".join(principal.scope_codes),
        )
