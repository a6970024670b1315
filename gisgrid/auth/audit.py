"""The append-only audit trail: who, when, from where, what, before and after."""

from __future__ import annotations

from datetime import datetime, timedelta
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


REFUSED = "refused"
# pg_advisory_xact_lock(class, key): the class keeps these locks apart from other advisory locks of the app.
REFUSED_LOCK_CLASS = 10_601
ENTITY_MAX_CHARS = 300


def record_refusal(
    session: Session,
    *,
    actor: Principal | None,
    ip: str | None,
    method: str,
    path: str,
    status: int,
    code: str,
    field: str | None = None,
    per_minute: int,
) -> bool:
    """Append a `refused` row for a refused request — who, from where, method and path, status and error code,
    never the request's body or values — unless this account (or anonymous caller) from this address already has
    `per_minute` of them within the last minute. Return whether the row was written.

    Run it in a transaction of its own (the refused request's is rolled back). Concurrent refusals of one caller
    wait for each other on an advisory lock, so parallel requests cannot get past the limit."""
    who = actor.username if actor else "anonymous"
    session.execute(
        select(func.pg_advisory_xact_lock(REFUSED_LOCK_CLASS, func.hashtext(f"{who}\x1f{ip or ''}")))
    )
    recent = session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(
            AuditLog.action == REFUSED,
            AuditLog.actor == who,
            AuditLog.ip.is_not_distinct_from(ip),
            AuditLog.at > func.clock_timestamp() - timedelta(minutes=1),
        )
    )
    if (recent or 0) >= per_minute:
        return False
    detail: dict[str, Any] = {"status": status, "code": code}
    if field:
        detail["field"] = field[:100]
    session.add(
        AuditLog(
            actor_id=actor.user_id if actor else None,
            actor=who,
            role=actor.role if actor else "anonymous",
            ip=ip,
            action=REFUSED,
            entity=f"{method} {path}"[:ENTITY_MAX_CHARS],
            detail=detail,
        )
    )
    return True


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
