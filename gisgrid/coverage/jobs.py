"""The coverage-audit report as a job: built with progress in the worker, its file kept for download under
JobSettings.jobs_output_dir/<job id>/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gisgrid.config import CoverageSettings
from gisgrid.db.engine import session_scope
from gisgrid.jobs.queue import JobRun, handler

COVERAGE_REPORT = "coverage_report"


def output_file(root: Path, job_id: int, fmt: str) -> Path:
    """Where a report job's file is kept."""
    return root / str(job_id) / f"coverage-report-{job_id}.{fmt}"


@handler(COVERAGE_REPORT)
def coverage_report(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    """Build the report (the caller's scope, or one community in it) and write it as PDF or HTML."""
    from gisgrid.coverage import report

    fmt = params["format"]
    with session_scope(run.engine) as session:
        actor = run.actor(session)
        data = report.build(
            session,
            threshold=params["threshold"],
            settings=CoverageSettings(**params["coverage"]),
            srid=int(params["srid"]),
            community=params.get("community"),
            scope_codes=actor.scope_codes if actor is not None else (),
            progress=run.step,
        )
    path = output_file(run.runtime.settings.jobs_output_dir, run.job.id, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = report.write(path, data, fmt)
    totals = data["totals"]
    return {
        "format": fmt,
        "file": path.name,
        "bytes": size,
        "scope": data["scope_name"],
        "threshold": data["threshold"],
        "households": totals["households"],
        "covered_households": totals["network"]["any"]["households"],
        "uncovered_households": totals["uncovered_households"],
        "straight_line_households": totals["straight_line"]["any"]["households"],
        "download": f"/api/coverage/reports/{run.job.id}/file",
    }
