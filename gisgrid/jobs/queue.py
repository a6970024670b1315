"""The queue: procrastinate on our own PostgreSQL (no other server), one task that runs any job kind.

`submit()` writes the `job` row and procrastinate's queue entry in the caller's transaction (procrastinate's
"defer on a connection"), so a job exists exactly when the transaction that asked for it commits. The worker
(`run_worker`) runs `run_job`, which moves the row through running → succeeded | failed, records progress in
short transactions of its own, and asks procrastinate for a retry only for transient failures (a lost
connection, a database restarting) — never for bad input.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate.contrib.sqlalchemy import SQLAlchemyPsycopg2Connector
from procrastinate.jobs import Job as QueueJob
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.config import JobSettings
from gisgrid.db.engine import session_scope
from gisgrid.db.models import Job
from gisgrid.errors import DatabaseUnavailable, GisGridError, InvalidInput
from gisgrid.jobs import store

log = logging.getLogger("gisgrid.jobs")

TASK_NAME = "gisgrid.run_job"
QUEUE = "gisgrid"
# Modules whose import registers job kinds (`@handler`); the worker imports them before it starts.
KIND_MODULES = ("gisgrid.jobs.derived", "gisgrid.jobs.kinds", "gisgrid.coverage.jobs")


class TransientJobError(Exception):
    """A failure worth retrying (raise it from a handler for anything that may pass by itself)."""


class RetryLater(Exception):
    """Raised to procrastinate once `run_job` has decided on a retry (the job row says queued again)."""

    def __init__(self, wait_s: int) -> None:
        super().__init__(f"retry in {wait_s} s")
        self.wait_s = wait_s


class _RetryWhenAsked(BaseRetryStrategy):
    """Retry exactly when run_job asked for it: one place decides (run_job), the queue follows."""

    def get_retry_decision(self, *, exception: BaseException, job: QueueJob) -> RetryDecision | None:
        if isinstance(exception, RetryLater):
            return RetryDecision(retry_in={"seconds": exception.wait_s})
        return None


@dataclass
class Runtime:
    """What the worker hands every job: the engine and the job settings."""

    engine: Engine
    settings: JobSettings


@dataclass
class JobRun:
    """One run of one job, as its handler sees it."""

    runtime: Runtime
    job: Job

    @property
    def engine(self) -> Engine:
        """The worker's engine (handlers open their own transactions on it)."""
        return self.runtime.engine

    def progress(self, done: int, total: int | None, message: str | None = None) -> None:
        """Report progress (visible at once: its own short transaction)."""
        store.progress(self.engine, self.job.id, done=done, total=total, message=message)

    def step(self, message: str, done: int, total: int) -> None:
        """`progress` in the (stage, done, total) shape of the importers' callbacks."""
        self.progress(done, total, message)

    def actor(self, session: Session) -> Principal | None:
        """Who started the job, as a principal (for permissions and the audit trail), or None (the system)."""
        if self.job.created_by is None:
            return None
        from gisgrid.auth import accounts
        from gisgrid.db.models import AppUser

        user = session.get(AppUser, self.job.created_by)
        return accounts.principal_of(user) if user is not None else None


Handler = Callable[[JobRun, dict[str, Any]], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of `kind`: (run, params) → result (a JSON object)."""

    def register(func: Handler) -> Handler:
        HANDLERS[kind] = func
        return func

    return register


def handlers() -> dict[str, Handler]:
    """Every registered job kind (importing the modules that declare them)."""
    for module in KIND_MODULES:
        importlib.import_module(module)
    return HANDLERS


@cache
def queue_app() -> procrastinate.App:
    """The procrastinate app that defers on a caller's SQLAlchemy connection (never opened on its own)."""
    app = procrastinate.App(connector=SQLAlchemyPsycopg2Connector())
    app.task(name=TASK_NAME, queue=QUEUE, pass_context=True, retry=_RetryWhenAsked())(_run_task)
    return app


def submit(
    session: Session,
    *,
    kind: str,
    params: dict[str, Any],
    actor: Principal | None = None,
    max_attempts: int | None = None,
    lock: str | None = None,
) -> Job:
    """Record and enqueue a job in the caller's transaction; it runs once that transaction commits."""
    if kind not in handlers():
        raise InvalidInput(
            f"Unknown job kind {kind!r}.", field="kind", value=kind, expected=", ".join(HANDLERS)
        )
    attempts = max_attempts or JobSettings().jobs_max_attempts
    job = store.create(session, kind=kind, params=params, actor=actor, max_attempts=attempts)
    deferrer = queue_app().configure_task(TASK_NAME, connection=session.connection(), lock=lock)
    job.queue_job_id = deferrer.defer(job_id=job.id)
    session.flush()
    return job


def _run_task(context: procrastinate.JobContext, job_id: int) -> None:
    run_job(context.additional_context["gisgrid"], job_id)


def run_job(runtime: Runtime, job_id: int) -> None:
    """Run one job: mark it running, call its handler, record the result or the error (and maybe retry)."""
    job = store.start(runtime.engine, job_id)
    if job is None:
        return  # cancelled before it started, or finished by an earlier run
    try:
        func = handlers().get(job.kind)
        if func is None:
            raise InvalidInput(
                f"Unknown job kind {job.kind!r}.", field="kind", value=job.kind, expected=", ".join(HANDLERS)
            )
        result = func(JobRun(runtime, job), dict(job.params or {}))
    except Exception as exc:
        retrying = is_transient(exc) and job.attempts < job.max_attempts
        log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, exc)
        store.fail(runtime.engine, job.id, error_of(exc, job, retrying=retrying), retrying=retrying)
        if retrying:
            raise RetryLater(runtime.settings.jobs_retry_wait_s) from exc
        _clean_up(runtime, job)
        raise
    store.succeed(runtime.engine, job.id, result)
    _clean_up(runtime, job)


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may pass by itself: a lost or refused connection, a database restarting, a
    serialization failure or deadlock (psycopg2 reports all of these as OperationalError)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TransientJobError | DatabaseUnavailable | OperationalError | InterfaceError):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, GisGridError):
            return False  # bad input, refused permission, …: the same run would fail the same way
        seen = seen.__cause__
    return False


def error_of(exc: BaseException, job: Job, *, retrying: bool) -> dict[str, Any]:
    """The failure in the project's error shape (code, message, field, value, expected)."""
    if isinstance(exc, GisGridError):
        return exc.to_dict()
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    if is_transient(exc):
        then = "will retry" if retrying else "no attempts left"
        return {
            "code": "database_unavailable",
            "message": f"数据库连接中断 The database connection failed (attempt {job.attempts} of "
            f"{job.max_attempts}, {then}): {first_line}",
            "expected": "a reachable database; the job is retried by itself while attempts remain",
        }
    return {
        "code": "internal_error",
        "message": f"任务意外出错 The job failed unexpectedly ({type(exc).__name__}): {first_line}",
        "expected": "a successful run; the server log has the details",
    }


def _clean_up(runtime: Runtime, job: Job) -> None:
    """Remove the job's uploaded file once it has finished for good (kept while a retry may need it)."""
    folder = (job.params or {}).get("upload_dir")
    root = runtime.settings.jobs_upload_dir.resolve()
    if folder and Path(folder).resolve().is_relative_to(root) and Path(folder).resolve() != root:
        shutil.rmtree(folder, ignore_errors=True)


def conninfo(engine: Engine) -> str:
    """The engine's database as a libpq URI (procrastinate's worker connects with psycopg 3)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def run_worker(
    engine: Engine,
    settings: JobSettings,
    *,
    name: str = "gisgrid",
    wait: bool = True,
    install_signal_handlers: bool = False,
) -> None:
    """Run a worker until cancelled (or, with wait=False, until the queue is empty)."""
    handlers()
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(engine), min_size=1, max_size=4)
    app = queue_app().with_connector(connector)
    # Not `async with app.open_async()`: a worker cancelled while its pool is still connecting (an app stopped
    # at once, a database that is down) would skip the close and leave the pool's tasks running, which hangs
    # the event loop's shutdown. The pool is closed whatever happens.
    try:
        await connector.open_async()
        await recover_stalled(app)
        await app.run_worker_async(
            queues=[QUEUE],
            name=name,
            concurrency=settings.jobs_concurrency,
            wait=wait,
            fetch_job_polling_interval=settings.jobs_poll_s,
            install_signal_handlers=install_signal_handlers,
            additional_context={"gisgrid": Runtime(engine, settings)},
            # The `job` table keeps what people see; a succeeded queue entry has nothing more to say.
            delete_jobs="successful",
        )
    finally:
        await asyncio.shield(_close(connector))


async def _close(connector: procrastinate.PsycopgConnector) -> None:
    try:
        await connector.close_async()
    except Exception:  # noqa: BLE001 - closing a pool that never connected: nothing to keep
        log.debug("job worker pool closed with an error", exc_info=True)


async def recover_stalled(app: procrastinate.App) -> int:
    """Put back in the queue the jobs a vanished worker was running (killed, machine restarted: no heartbeat
    for 30 s); their `job` rows say running until the next run starts them again."""
    stalled = list(await app.job_manager.get_stalled_jobs(queue=QUEUE))
    for entry in stalled:
        log.warning("job queue entry %s was left running by a vanished worker: retrying it", entry.id)
        await app.job_manager.retry_job(entry)
    return len(stalled)


def start_worker(engine: Engine, settings: JobSettings, *, name: str = "gisgrid-app") -> asyncio.Task[None]:
    """Start a worker on the running event loop (the app's lifespan); stop it with `stop_worker`."""
    return asyncio.create_task(run_worker(engine, settings, name=name), name=name)


async def stop_worker(task: asyncio.Task[None]) -> None:
    """Stop a worker started by `start_worker`: it finishes the running job first (procrastinate's shutdown)."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:  # a worker that died earlier: its error was logged; the app still shuts down
        log.exception("job worker ended with an error")


def submit_now(engine: Engine, **kwargs: Any) -> int:
    """`submit` in its own transaction; returns the job id."""
    with session_scope(engine) as session:
        return submit(session, **kwargs).id
