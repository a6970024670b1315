"""What every command group shares: the two consoles, error printing, engines and sessions from the settings,
progress bars and ISO-time options."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gisgrid.config import Settings
from gisgrid.db.cluster import LocalCluster
from gisgrid.db.engine import make_engine, session_scope
from gisgrid.errors import GisGridError, InvalidInput

# No markup: names, titles and messages come from users and files, and "[/bold]x" in one would crash the
# command or restyle the output (styles go through rich Text objects instead).
console = Console(markup=False, highlight=False)
err = Console(stderr=True, markup=False, highlight=False)


def print_error(exc: GisGridError) -> None:
    """A domain error as the user reads it: message, what was expected, details (not the problem list)."""
    err.print(Text.assemble(("错误 Error: ", "bold red"), exc.message))
    if exc.expected:
        err.print(Text.assemble(("应为 Expected: ", "yellow"), str(exc.expected)))
    for key, value in exc.details.items():
        if key != "problems":
            err.print(f"  {key}: {value}")


def print_json(data: Any) -> None:
    """Machine-readable output (--json): UTF-8 text kept, times and other values as strings."""
    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


def cluster(settings: Settings) -> LocalCluster:
    """The project's own PostGIS cluster under var/ (with its WAL archive)."""
    return LocalCluster.from_settings(settings.db)


@contextmanager
def engine(settings: Settings | None = None) -> Iterator[Engine]:
    """A one-connection engine on the configured database as the app role, disposed afterwards."""
    eng = make_engine((settings or Settings()).db.url(), pool_size=1)
    try:
        yield eng
    finally:
        eng.dispose()


@contextmanager
def admin_engine(settings: Settings | None = None) -> Iterator[Engine]:
    """A one-connection engine as the admin (GISGRID_DATABASE_ADMIN_URL): migrations, status, psql."""
    eng = make_engine((settings or Settings()).db.admin_url(), pool_size=1)
    try:
        yield eng
    finally:
        eng.dispose()


@contextmanager
def session() -> Iterator[Session]:
    """A session on the configured database, committed when the block ends without an error."""
    with engine() as eng, session_scope(eng) as sess:
        yield sess


@contextmanager
def progress_bar(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar driven by progress(stage, done, total) callbacks."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(title, total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{title}: {stage}", completed=done, total=total)

        yield update


def iso_time(value: str | None, *, option: str, field: str | None = None) -> datetime | None:
    """An option's ISO time (None when not given); anything else is an InvalidInput naming the option."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{option} {value!r} is not an ISO time.",
            field=field or option,
            value=value,
            expected="e.g. 2024-05-01T09:30:00+08:00",
        ) from exc
