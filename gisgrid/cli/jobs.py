"""`gisgrid jobs …`: run a job worker, list jobs, show or cancel one."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from gisgrid.cli.common import console
from gisgrid.cli.common import session as configured_session
from gisgrid.config import Settings
from gisgrid.db.engine import make_engine
from gisgrid.jobs import store
from gisgrid.jobs.queue import run_worker
from gisgrid.jobs.views import JobView, view

jobs_app = typer.Typer(
    help="Jobs: the long runs (imports, derived data) and their worker.", no_args_is_help=True
)
T = TypeVar("T")


@jobs_app.command("worker")
def worker_cmd(
    once: Annotated[bool, typer.Option("--once", help="run the jobs waiting now, then stop")] = False,
) -> None:
    """Run a job worker beside (or instead of) the app's own; stops on Ctrl+C after the running job."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings()
    engine = make_engine(settings.db.url(), pool_size=settings.jobs.jobs_concurrency + 1)
    console.print(f"任务执行器 Job worker on {engine.url.render_as_string(hide_password=True)}")
    try:
        asyncio.run(
            run_worker(engine, settings.jobs, name="gisgrid-cli", wait=not once, install_signal_handlers=True)
        )
    finally:
        engine.dispose()


@jobs_app.command("list")
def list_cmd(
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 20,
    kind: Annotated[
        str | None, typer.Option(help="only this kind (layer_import, incident_import, …)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """The newest jobs of every user."""
    views = _read(lambda s: [view(j) for j in store.recent(s, created_by=None, limit=limit, kind=kind)])
    if as_json:
        console.print_json(json.dumps([v.model_dump(mode="json") for v in views]))
        return
    table = Table("id", "kind", "status", "progress", "attempts", "by", "created", title="任务 Jobs")
    for v in views:
        table.add_row(
            str(v.id),
            v.kind,
            v.status,
            _progress(v),
            f"{v.attempts}/{v.max_attempts}",
            v.created_by or "-",
            v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


@jobs_app.command("show")
def show_cmd(
    job_id: Annotated[int, typer.Argument(help="the job's id")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text")] = False,
) -> None:
    """One job: status, progress, result or error."""
    v = _read(lambda s: view(store.get(s, job_id)))
    if as_json:
        console.print_json(v.model_dump_json())
        return
    console.print(f"[bold]任务 Job {v.id}[/] {v.kind}: {v.status}  ({_progress(v)})")
    console.print(
        f"attempts {v.attempts}/{v.max_attempts}; by {v.created_by or 'system'}; created {v.created_at}"
    )
    console.print_json(json.dumps({"params": v.params}, ensure_ascii=False))
    if v.result is not None:
        console.print_json(json.dumps({"result": v.result}, ensure_ascii=False))
    if v.error is not None:
        console.print_json(json.dumps({"error": v.error.model_dump(exclude_none=True)}, ensure_ascii=False))


@jobs_app.command("cancel")
def cancel_cmd(job_id: Annotated[int, typer.Argument(help="the job's id")]) -> None:
    """Cancel a job that has not started yet (a running job finishes)."""
    with configured_session() as session:
        cancelled = store.cancel(session, job_id)
    if not cancelled:
        console.print(f"任务 Job {job_id} has already started or finished: not cancelled.")
        raise typer.Exit(1)
    console.print(f"任务 Job {job_id} cancelled 已取消.")


def _progress(v: JobView) -> str:
    total = "?" if v.progress.total is None else str(v.progress.total)
    return f"{v.progress.done}/{total} {v.progress.message or ''}".strip()


def _read(func: Callable[[Session], T]) -> T:
    with configured_session() as session:
        return func(session)
