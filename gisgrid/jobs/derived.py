"""Derived data, declared in ONE place: what is computed from which layers, and how it is rebuilt.

When a layer changes through an import, every derived data set that depends on it is rebuilt: as a job
(`enqueue_after`, in the import's own transaction, so the rebuild exists exactly when the import commits), or at
once in the caller's transaction (`rebuild_after`: the CLI, the demo loader, tests that need it fresh).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.coverage.access import build_site_access
from gisgrid.db.engine import session_scope
from gisgrid.db.models import Job
from gisgrid.errors import InvalidInput
from gisgrid.jobs.queue import JobRun, handler, submit

KIND = "derived_rebuild"


@dataclass(frozen=True)
class Derived:
    """A data set computed from layers: its name (the table it fills), the layers it reads, its builder."""

    name: str
    title: str
    depends_on: frozenset[str]
    build: Callable[[Session], int]


# Walking access to the sites: each network node's nearest sites along the walking network. Rivers are not
# read: the network already crosses them only at bridges.
DERIVED: tuple[Derived, ...] = (
    Derived(
        name="walk_site_access",
        title="步行可达服务站点 walking access to service sites",
        depends_on=frozenset({"sites", "walk_edges"}),
        build=build_site_access,
    ),
)
BY_NAME = {d.name: d for d in DERIVED}


def affected_by(layers: Iterable[str]) -> list[Derived]:
    """The derived data sets that read any of `layers`, in declaration order."""
    changed = set(layers)
    return [d for d in DERIVED if d.depends_on & changed]


def _named(names: Iterable[str]) -> list[Derived]:
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise InvalidInput(
            f"Unknown derived data {unknown[0]!r}.",
            field="names",
            value=unknown[0],
            expected=", ".join(BY_NAME),
        )
    return [BY_NAME[n] for n in names]


def rebuild(
    session: Session,
    names: Iterable[str] | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Rebuild the named derived data sets (all when None) in the session's transaction; rows written each."""
    targets = list(DERIVED) if names is None else _named(names)
    counts: dict[str, int] = {}
    for i, derived in enumerate(targets):
        if progress:
            progress(f"重算 rebuilding {derived.title}", i, len(targets))
        counts[derived.name] = derived.build(session)
    return counts


def rebuild_after(session: Session, layers: Iterable[str]) -> dict[str, int]:
    """Rebuild at once what depends on the changed `layers`."""
    return rebuild(session, [d.name for d in affected_by(layers)])


def enqueue_after(session: Session, layers: Iterable[str], *, actor: Principal | None = None) -> list[int]:
    """Enqueue a rebuild job for each data set depending on the changed `layers` (one that is still waiting
    to start is reused); return the job ids."""
    ids = []
    for derived in affected_by(layers):
        waiting = session.scalars(
            select(Job.id).where(
                Job.kind == KIND,
                Job.status == "queued",
                Job.attempts == 0,
                Job.params["name"].astext == derived.name,
            )
        ).first()
        if waiting is None:
            # One lock per data set: two rebuilds of it never run at the same time.
            job = submit(
                session, kind=KIND, params={"name": derived.name}, actor=actor, lock=f"derived:{derived.name}"
            )
            waiting = job.id
        ids.append(waiting)
    return ids


@handler(KIND)
def _rebuild_job(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    with session_scope(run.engine) as session:
        rows = rebuild(session, [str(params.get("name"))], progress=run.step)
    return {"rebuilt": rows}
