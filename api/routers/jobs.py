"""Jobs: the long runs (imports, rebuilds of derived data) that run in the worker, with progress and result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from api.deps import PrincipalDep, SessionDep, policy
from gisgrid.auth.policy import Principal, require
from gisgrid.errors import NotFound
from gisgrid.jobs import queue, store
from gisgrid.jobs.views import JobView, view

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
JOB_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "accepted: the job is queued; poll the Location (GET /api/jobs/{id}) until `done`"}
}


class JobList(BaseModel):
    """The newest jobs, newest first."""

    jobs: list[JobView]


def enqueue(
    request: Request, response: Response, *, kind: str, params: dict[str, Any], actor: Principal
) -> JobView:
    """Record and enqueue a job in one short transaction (after any upload has been stored); point the
    response's Location at it. Runs in a worker thread."""
    settings = request.app.state.settings
    with request.app.state.sessionmaker() as session, session.begin():
        job = queue.submit(
            session, kind=kind, params=params, actor=actor, max_attempts=settings.jobs.jobs_max_attempts
        )
        answer = view(job)
    response.headers["Location"] = f"/api/jobs/{answer.id}"
    return answer


@router.get(
    "/{job_id}",
    summary="任务进度与结果 A job's progress and result",
    description=(
        "Status (queued → running → succeeded | failed; cancelled), progress (`done` of `total` and what it is "
        "doing, Chinese first), the result of a succeeded job (e.g. an import's counts), the error of a failed "
        "one in the common error shape (an import's refused features are in `error.details.problems`), the "
        "attempts (a transient failure such as a lost database connection is retried by itself), who started "
        "it and when. Poll until `done` is true. Visible to whoever started the job, and to admins; other "
        "callers get 404."
    ),
    response_model=JobView,
    responses={404: {"description": "no such job, or not one of yours"}},
    **policy("jobs.read"),
)
def get_job(
    job_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="the job's id (from the 202 answer)")],
    session: SessionDep,
    principal: PrincipalDep,
) -> JobView:
    job = store.get(session, job_id)
    if job.created_by != principal.user_id and not principal.can("jobs.read_all"):
        raise NotFound(
            f"No job {job_id} of yours.", field="id", value=job_id, expected="the id of a job you started"
        )
    return view(job)


@router.get(
    "",
    summary="我的任务 My recent jobs",
    description="The caller's newest jobs, newest first; admins may ask for everyone's with `everyone=true`.",
    response_model=JobList,
    **policy("jobs.read"),
)
def list_jobs(
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100, description="how many")] = 20,
    kind: Annotated[str | None, Query(max_length=64, description="only jobs of this kind")] = None,
    everyone: Annotated[bool, Query(description="admins: every user's jobs")] = False,
) -> JobList:
    if everyone:
        require(principal, "jobs.read_all")
    rows = store.recent(session, created_by=None if everyone else principal.user_id, limit=limit, kind=kind)
    return JobList(jobs=[view(j) for j in rows])
