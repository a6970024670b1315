"""Engine, sessions and database creation (for the project's own cluster or an external server)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gisgrid.config import DatabaseSettings
from gisgrid.db.cluster import REQUIRED_EXTENSIONS
from gisgrid.errors import DatabaseUnavailable


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create the SQLAlchemy engine for one database URL."""
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True, future=True
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to the engine."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def ensure_database(url: str) -> bool:
    """Create the database of `url` if missing, with PostGIS and pgRouting; return True if created."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    created = False
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{_ident(target.database)}"'))
                created = True
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"Cannot connect to the database server: {exc.orig}".strip(),
            value=target.render_as_string(hide_password=True),
            expected="a running PostGIS server: `gisgrid db up`, or a correct GISGRID_DATABASE_URL",
        ) from exc
    finally:
        admin.dispose()
    db = create_engine(target, isolation_level="AUTOCOMMIT")
    try:
        with db.connect() as conn:
            for ext in REQUIRED_EXTENSIONS:
                conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {ext}"))
    finally:
        db.dispose()
    return created


def create_empty_database(url: str) -> None:
    """Create the database of `url` with no extensions (a restore brings its own)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{_ident(target.database)}"'))
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    """Drop the database of `url` (closing other connections to it first)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": target.database},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{_ident(target.database)}"'))
    finally:
        admin.dispose()


def clone_database(url: str, name: str) -> None:
    """Create database `name` as a copy of the database of `url` (which must have no open connections)."""
    target = make_url(url)
    drop_database(target.set(database=name).render_as_string(hide_password=False))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{_ident(name)}" TEMPLATE "{_ident(target.database)}"'))
    finally:
        admin.dispose()


def _ident(name: str | None) -> str:
    # Database names come from settings, never from request input; still refuse anything odd.
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"unsupported database name {name!r}: letters, digits, '_' and '-' only")
    return name


def database_url(settings: DatabaseSettings) -> str:
    """The URL the app uses."""
    return settings.url()
