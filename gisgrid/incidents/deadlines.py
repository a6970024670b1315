"""Step deadlines and status colours, computed in SQL at read time.

The running step's due time is step_started_at + category.step_hours[step] (the step belongs to the status,
workflow.STEP_OF_STATUS). Colour: green; yellow once ≥ 80 % of the step's time is used; red when past due;
"none" for closed and rejected incidents or a category without a limit for the step. The stored column
step_due_at is a copy written at each transition for other readers; everything here reads the rule itself,
so a step clock moved in the database (or a changed limit) shows at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, DateTime, Float, case, func, literal, select
from sqlalchemy.orm import Session

from gisgrid.db.models import Incident, IncidentCategory
from gisgrid.incidents.workflow import STEP_OF_STATUS

YELLOW_SHARE = 0.8
COLOURS = ("green", "yellow", "red", "none")


def step() -> ColumnElement[str]:
    """The step whose clock runs in the incident's status (NULL when closed or rejected)."""
    return case(STEP_OF_STATUS, value=Incident.status, else_=None)


def hours() -> ColumnElement[float]:
    """Hours the category allows for the running step (needs incident_category joined)."""
    return IncidentCategory.step_hours.op("->>")(step()).cast(Float)


def _interval(h: ColumnElement[float]) -> ColumnElement[timedelta]:
    return func.make_interval(0, 0, 0, 0, 0, 0, h * 3600.0)


def due() -> ColumnElement[datetime]:
    """When the running step is due."""
    return Incident.step_started_at + _interval(hours())


def colour(now: datetime) -> ColumnElement[str]:
    """green / yellow / red / none at `now`."""
    at = literal(now, DateTime(timezone=True))
    return case(
        (hours().is_(None), "none"),
        (at > due(), "red"),
        (at >= Incident.step_started_at + _interval(hours() * YELLOW_SHARE), "yellow"),
        else_="green",
    )


def current_due(session: Session, *, incident_id: int) -> datetime | None:
    """The due time of an incident's running step."""
    return session.scalar(
        select(due())
        .select_from(Incident)
        .join(IncidentCategory, IncidentCategory.code == Incident.category_code)
        .where(Incident.id == incident_id)
    )


def due_after(step_hours: dict[str, float], *, status: str, started: datetime) -> datetime | None:
    """The due time of the step that starts now in `status` (for the stored copy step_due_at)."""
    name = STEP_OF_STATUS.get(status)
    limit = step_hours.get(name) if name else None
    return None if limit is None else started + timedelta(hours=float(limit))
