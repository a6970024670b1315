"""Demo accounts, one per role, with known passwords (refused by a production start)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisgrid.auth.accounts import create_user
from gisgrid.db.models import AppUser, GridUnit, Worker, WorkerGrid

# username, role, display name, scope (community name or None = whole subdistrict), password
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("admin", "admin", "演示管理员", None, "admin-demo"),
    ("planner", "planner", "演示规划员", None, "planner-demo"),
    ("planner_lh", "planner", "莲花社区规划员", "莲花社区", "planner-demo"),
    ("dispatcher", "dispatcher", "演示调度员", None, "dispatcher-demo"),
    ("auditor", "auditor", "演示审计员", None, "auditor-demo"),
    ("gridworker", "grid_worker", "演示网格员", "一心桥社区", "gridworker-demo"),
    ("patrol", "patrol", "演示巡河员", None, "patrol-demo"),
)


def ensure_demo_accounts(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo accounts that are missing; return (username, role, password) of all of them."""
    for username, role, display, community, password in DEMO_ACCOUNTS:
        if session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
            continue
        scope = []
        if community:
            code = session.scalar(
                select(GridUnit.code).where(GridUnit.name == community, GridUnit.valid_to.is_(None))
            )
            scope = [code] if code else []
        user = create_user(
            session,
            username=username,
            password=password,
            role=role,
            display_name=display,
            scope=scope,
            is_demo=True,
        )
        if role == "grid_worker" and scope:
            user.worker_id = session.scalar(
                select(Worker.id)
                .join(WorkerGrid, WorkerGrid.worker_id == Worker.id)
                .where(Worker.role == "grid_worker", WorkerGrid.grid_code.startswith(scope[0]))
                .order_by(Worker.ext_id)
                .limit(1)
            )
    return [(u, r, p) for u, r, _, _, p in DEMO_ACCOUNTS]


def accounts_with_demo_passwords(session: Session) -> list[str]:
    """Enabled accounts whose password is still a published demo password."""
    from gisgrid.auth.accounts import verify_demo_password

    known = {u: p for u, _, _, _, p in DEMO_ACCOUNTS}
    users = session.scalars(select(AppUser).where(AppUser.disabled.is_(False), AppUser.username.in_(known)))
    return [u.username for u in users if verify_demo_password(u, known[u.username])]
