"""The `job` rows: created with the queue entry, moved through their states by the worker, read by callers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.db.engine import session_scope
from gisgrid.db.models import Job
from gisgrid.errors import NotFound

FINISHED = ("succeeded", "failed", "cancelled")


def create(
    session: Session, *, kind: str, params: dict[str, Any], actor: Principal | None, max_attempts: int
) -> Job:
    """A queued job row in the caller's transaction."""
    job = Job(
        kind=kind,
        status="queued",
        params=params,
        max_attempts=max_attempts,
        created_by=actor.user_id if actor else None,
        created_by_name=None if actor is None or actor.anonymous else actor.username,
        progress_message="排队等待 queued",
    )
    session.add(job)
    session.flush()
    return job


def get(session: Session, job_id: int) -> Job:
    """The job, or NotFound."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job {job_id}.", field="id", value=job_id, expected="the id of an existing job")
    return job


def recent(
    session: Session, *, created_by: int | None, limit: int = 20, kind: str | None = None
) -> list[Job]:
    """The newest jobs, of one user (created_by) or of everyone (None)."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if created_by is not None:
        query = query.where(Job.created_by == created_by)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def start(engine: Engine, job_id: int) -> Job | None:
    """Mark the job running and count the attempt; None if it is gone, cancelled or already finished."""
    with session_scope(engine) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status in FINISHED:
            return None
        job.status = "running"
        job.attempts += 1
        job.started_at = job.started_at or func.now()
        job.updated_at = func.now()
        job.progress_message = "开始 started"
        session.flush()
        session.refresh(job)
        session.expunge(job)
        return job


def progress(engine: Engine, job_id: int, *, done: int, total: int | None, message: str | None) -> None:
    """Record progress in its own short transaction, so that callers see it while the job runs."""
    with session_scope(engine) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(progress_done=done, progress_total=total, progress_message=message, updated_at=func.now())
        )


def succeed(engine: Engine, job_id: int, result: dict[str, Any]) -> None:
    """The job is done: its result, progress full."""
    with session_scope(engine) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="succeeded",
                result=result,
                error=None,
                progress_done=func.coalesce(Job.progress_total, Job.progress_done),
                progress_message="完成 done",
                finished_at=func.now(),
                updated_at=func.now(),
            )
        )


def fail(engine: Engine, job_id: int, error: dict[str, Any], *, retrying: bool) -> None:
    """The attempt failed: queued again (with the error kept) if it will be retried, else failed for good."""
    message = "出错，稍后重试 failed, will retry" if retrying else "失败 failed"
    with session_scope(engine) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="queued" if retrying else "failed",
                error=error,
                progress_message=message,
                finished_at=None if retrying else func.now(),
                updated_at=func.now(),
            )
        )


def cancel(session: Session, job_id: int) -> bool:
    """Cancel a job that has not started; False when it is already running or finished."""
    job = get(session, job_id)
    if job.status != "queued" or job.attempts:
        return False
    job.status = "cancelled"
    job.progress_message = "已取消 cancelled"
    job.finished_at = func.now()  # type: ignore[assignment]
    job.updated_at = func.now()  # type: ignore[assignment]
    session.flush()
    return True
