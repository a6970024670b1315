"""Taking a workflow action on an incident: checked against the table (workflow.py), versioned, recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal, require
from gisgrid.db.models import Incident, IncidentCategory
from gisgrid.errors import InvalidInput
from gisgrid.incidents import checks, deadlines, events, queries, workflow


@dataclass(frozen=True)
class Step:
    """One action as asked: what, with which version seen, why, and for escalation to which level."""

    action: str
    version: int | None
    comment: str | None = None
    attachments: list[str] = field(default_factory=list)
    level: str | None = None
    department: str | None = None
    category: str | None = None  # file only: reclassify while filing (立案时改类别)


def _reclassify(session: Session, inc: Incident, step: Step) -> dict[str, Any]:
    """Filing may correct the category; the deadlines from then on follow the new category's hours."""
    if step.category is None:
        return {}
    if step.action != "file":
        raise InvalidInput(
            "只有立案时可改类别 category goes with `file` only.",
            field="category",
            value=step.category,
            expected="no category for this action (the category is confirmed when filing)",
        )
    cat = checks.category(session, step.category, field="category")
    if cat.code == inc.category_code:
        return {}
    change = {"category": {"from": inc.category_code, "to": cat.code}}
    inc.category_code = cat.code
    return change


def _escalation(step: Step, *, role: str, level: str) -> tuple[str | None, str | None]:
    """The target level (default: the first the role may reach) and the department, checked."""
    if step.action != "escalate":
        if step.level is not None or step.department is not None:
            raise InvalidInput(
                "只有升级需要层级/部门 level and department go with `escalate` only.",
                field="level" if step.level is not None else "department",
                expected="no level or department for this action",
            )
        return None, None
    targets = workflow.escalation_targets(role, level)
    to_level = step.level or (targets[0] if targets else None)
    department = checks.text(step.department, field="department", max_len=100)
    if to_level == "department" and department is None:
        raise InvalidInput(
            "升级到部门须写明部门 Escalating to a department needs the department's name.",
            field="department",
            expected="the department that will report back, e.g. 区城管局 / 区水务局",
        )
    return to_level, department


def _apply(
    inc: Incident, t: workflow.Transition, *, to_level: str | None, department: str | None, now: datetime
) -> None:
    if t.action == "escalate":
        inc.level = to_level or inc.level
        inc.department = department if to_level == "department" else inc.department
        return
    inc.status = workflow.target_status(t, inc.status)
    inc.step_started_at = now
    if inc.status == "dispatched" and inc.dispatched_at is None:
        inc.dispatched_at = now  # time to dispatch counts to the first dispatch
    if inc.status == "closed":
        inc.closed_at = now


def _restamp(session: Session, inc: Incident) -> None:
    """A new version, and the stored copy of the running step's due time."""
    cat = session.get(IncidentCategory, inc.category_code)
    hours = cat.step_hours if cat else {}
    inc.step_due_at = deadlines.due_after(hours, status=inc.status, started=inc.step_started_at)
    inc.version += 1


def _detail(
    session: Session,
    inc: Incident,
    t: workflow.Transition,
    *,
    to_level: str | None,
    department: str | None,
    now: datetime,
) -> dict[str, Any]:
    """What the timeline keeps besides the statuses: levels, department, and whether the step ended late."""
    detail: dict[str, Any] = {"level": {"from": inc.level, "to": to_level}} if to_level else {}
    if department:
        detail["department"] = department
    if t.action == "report" and inc.level == "department":
        detail["department_report"] = inc.department  # 部门报到: the department reports back
    if t.action != "escalate":
        due = deadlines.current_due(session, incident_id=inc.id)
        detail.update(due_at=due.isoformat() if due else None, late=due is not None and now > due)
    return detail


def transition(
    session: Session,
    *,
    incident_id: int,
    step: Step,
    actor: Principal | None,
    ip: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Take a workflow action; Conflict for a stale version or a status that does not allow it."""
    now = now or datetime.now(UTC)
    role = actor.role if actor else "admin"
    if actor is not None:
        require(actor, "incidents.act")
    t = workflow.get(step.action)
    comment = checks.text(step.comment, field="comment", max_len=2000, required=t.needs_reason)
    files = checks.attachments(step.attachments)
    inc = events.lock(session, incident_id=incident_id, actor=actor)
    checks.version(inc, step.version)
    to_level, department = _escalation(step, role=role, level=inc.level)
    workflow.check(t, status=inc.status, level=inc.level, role=role, to_level=to_level)
    before = events.snapshot(inc)
    detail = _detail(session, inc, t, to_level=to_level, department=department, now=now)
    detail.update(_reclassify(session, inc, step))
    _apply(inc, t, to_level=to_level, department=department, now=now)
    _restamp(session, inc)
    session.flush()
    events.record(
        session,
        inc=inc,
        actor=actor,
        action=t.action,
        at=now,
        before=before,
        comment=comment,
        attachments=files,
        detail=detail,
        ip=ip,
    )
    return queries.detail(session, incident_id=inc.id, principal=actor, now=now)
