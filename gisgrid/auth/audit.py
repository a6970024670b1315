"""The append-only audit trail: who, when, from where, what, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.db.models import AuditLog


def record(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    entity: str,
    key: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction."""
    session.add(
        AuditLog(
            actor_id=actor.user_id if actor else None,
            actor=actor.username if actor else "system",
            role=actor.role if actor else "system",
            ip=ip,
            action=action,
            entity=entity,
            entity_key=key,
            before=before,
            after=after,
            detail=detail,
        )
    )


def query(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    key: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Audit rows, newest first, filtered, and how many rows match in all."""
    stmt = select(AuditLog)
    for column, value in (
        (AuditLog.actor, actor),
        (AuditLog.action, action),
        (AuditLog.entity, entity),
        (AuditLog.entity_key, key),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AuditLog.at >= since)
    if until is not None:
        stmt = stmt.where(AuditLog.at < until)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = stmt.order_by(AuditLog.id.desc()).limit(limit).offset(offset)
    rows = [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "role": r.role,
            "ip": r.ip,
            "action": r.action,
            "entity": r.entity,
            "key": r.entity_key,
            "before": r.before,
            "after": r.after,
            "detail": r.detail,
        }
        for r in session.scalars(page)
    ]
    return rows, int(total)
