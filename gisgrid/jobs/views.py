"""What callers see of a job: typed views for the API and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from gisgrid.db.models import Job

# Parameters for the worker only: where the upload waits on the server's disk.
INTERNAL_PARAMS = frozenset({"path", "upload_dir"})
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobProgress(BaseModel):
    """How far a job has come: `done` of `total` steps (total unknown = null) and what it is doing now."""

    done: int = Field(description="steps done")
    total: int | None = Field(description="steps in all, when known")
    message: str | None = Field(
        description="what the job is doing, Chinese first (e.g. 写入 writing 120 feature(s))"
    )


class JobError(BaseModel):
    """Why a job failed, in the project's error shape."""

    code: str
    message: str
    field: str | None = None
    value: Any = None
    expected: str | None = None
    details: dict[str, Any] | None = None


class JobView(BaseModel):
    """One job as its creator (or an admin) sees it."""

    id: int
    kind: str = Field(description="what the job does, e.g. layer_import, incident_import, derived_rebuild")
    status: JobStatus = Field(description="queued → running → succeeded | failed (or cancelled while queued)")
    params: dict[str, Any] = Field(description="what it was asked to do (file name, layer, options)")
    progress: JobProgress
    result: dict[str, Any] | None = Field(description="what a succeeded job did (e.g. the import's counts)")
    error: JobError | None = Field(
        description="why it failed; while a transient failure waits for its retry, the last error"
    )
    attempts: int = Field(
        description="runs so far (a transient failure such as a lost connection is retried)"
    )
    max_attempts: int
    created_by: str | None = Field(description="user name of who started it (null: the system)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    done: bool = Field(description="true once succeeded, failed or cancelled: stop polling")


def view(job: Job) -> JobView:
    """The typed view of a job row."""
    return JobView(
        id=job.id,
        kind=job.kind,
        status=job.status,  # type: ignore[arg-type]
        params={k: v for k, v in (job.params or {}).items() if k not in INTERNAL_PARAMS},
        progress=JobProgress(done=job.progress_done, total=job.progress_total, message=job.progress_message),
        result=job.result,
        error=JobError(**job.error) if job.error else None,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        created_by=job.created_by_name,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        done=job.status in ("succeeded", "failed", "cancelled"),
    )
