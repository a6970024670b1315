"""Writing the record of a change: the incident's timeline event and the audit row, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisgrid.auth import audit
from gisgrid.auth.policy import Principal
from gisgrid.db.models import Incident, IncidentEvent
from gisgrid.errors import NotFound
from gisgrid.incidents import visibility

SNAPSHOT = (
    "status",
    "level",
    "department",
    "category_code",
    "micro_code",
    "general_code",
    "community_code",
    "grid_unit_id",
    "version",
)


def snapshot(inc: Incident) -> dict[str, Any]:
    """The fields an audit row keeps before and after a change."""
    return {k: getattr(inc, k) for k in SNAPSHOT}


def lock(session: Session, *, incident_id: int, actor: Principal | None) -> Incident:
    """The incident, locked for update, if the actor may see it; NotFound otherwise."""
    inc = session.scalars(select(Incident).where(Incident.id == incident_id).with_for_update()).first()
    if inc is None or not visibility.sees(visibility.prefixes(session, actor), inc.micro_code):
        raise NotFound(
            f"没有事件 No incident {incident_id} (or it is outside your grids).",
            field="id",
            value=incident_id,
            expected="the id of an incident you may see",
        )
    return inc


def record(
    session: Session,
    *,
    inc: Incident,
    actor: Principal | None,
    action: str,
    at: datetime,
    before: dict[str, Any] | None,
    comment: str | None = None,
    attachments: list[str] | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Append the timeline event and the audit row of one change to `inc`."""
    after = snapshot(inc)
    session.add(
        IncidentEvent(
            incident_id=inc.id,
            at=at,
            actor=actor.username if actor else "system",
            role=actor.role if actor else "system",
            action=action,
            from_status=before["status"] if before else None,
            to_status=inc.status,
            comment=comment,
            attachments=attachments or [],
            detail=detail,
        )
    )
    audit.record(
        session,
        actor=actor,
        action=f"incident_{action}",
        entity="incident",
        key=str(inc.id),
        before=before,
        after=after,
        ip=ip,
        detail={"comment": comment, **(detail or {})} if comment or detail else None,
    )
