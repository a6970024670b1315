"""Errors reach the caller in the one JSON shape with the right status: every domain error class by its place in
the hierarchy, database integrity errors as 409/422 without SQL, anything unexpected as a logged 500."""

from __future__ import annotations

import importlib
import logging
import pkgutil

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import BigInteger, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import gisgrid
from api.app import create_app
from api.deps import SessionDep
from api.errors import STATUS, status_of
from gisgrid.config import Settings
from gisgrid.errors import ClusterError, GisGridError, NotFound

SQL_WORDS = ("INSERT", "app_user", "psycopg", "Traceback", "constraint", "DETAIL")


def _all_domain_errors() -> set[type[GisGridError]]:
    for module in pkgutil.walk_packages(gisgrid.__path__, "gisgrid."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: set[type[GisGridError]] = set()
    todo = [GisGridError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith(("gisgrid.", "api.")):  # not the ones these tests make
                found.add(sub)
            todo.append(sub)
    return found


def test_every_domain_error_class_maps_to_a_status_through_its_hierarchy() -> None:
    classes = _all_domain_errors()
    assert ClusterError in classes
    for cls in classes:
        mapped = next(c for c in cls.__mro__ if c in STATUS)
        assert mapped is not GisGridError, f"{cls.__module__}.{cls.__name__} has no status in api/errors.py"
        assert status_of(cls) != 400


def _raising(app: FastAPI, path: str, exc: Exception) -> None:
    @app.get(path)
    def boom() -> None:
        raise exc


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ClusterError("the cluster will not start", expected="gisgrid db up"), 503),
        (type("GoneError", (NotFound,), {})("gone"), 404),
        (type("NewDomainError", (GisGridError,), {})("a class nobody mapped"), 500),
    ],
)
def test_domain_errors_missing_from_the_map_are_not_400(
    app: FastAPI, client: TestClient, exc: GisGridError, status: int
) -> None:
    _raising(app, "/test/domain", exc)
    res = client.get("/test/domain")
    assert res.status_code == status
    assert res.json()["error"]["message"] == exc.message


def test_unexpected_exception_is_a_logged_500_in_the_error_shape(
    app: FastAPI, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    _raising(app, "/test/boom", RuntimeError("secret internals: password=hunter2"))
    with caplog.at_level(logging.ERROR, logger="gisgrid.api"):
        res = client.get("/test/boom")
    assert res.status_code == 500
    assert res.headers["content-type"] == "application/json"
    error = res.json()["error"]
    assert error["code"] == "internal_error"
    assert "服务器内部错误" in error["message"]
    assert "hunter2" not in res.text and "RuntimeError" not in res.text
    logged = [r for r in caplog.records if r.name == "gisgrid.api" and r.exc_info]
    assert logged and "/test/boom" in logged[0].getMessage()
    assert isinstance(logged[0].exc_info[1], RuntimeError)  # type: ignore[index]


INSERT_USER = "INSERT INTO app_user (username, display_name, role) VALUES (:u, :d, :r)"


@pytest.mark.parametrize(
    ("values", "status", "code", "field"),
    [
        ({"u": "admin", "d": "x", "r": "admin"}, 409, "conflict", "username"),  # unique violation
        ({"u": "new-one", "d": None, "r": "admin"}, 422, "invalid_input", "display_name"),  # not null
        ({"u": "new-two", "d": "x", "r": "emperor"}, 422, "invalid_input", None),  # check constraint
    ],
)
def test_integrity_errors_answer_in_the_error_shape_without_sql(
    app: FastAPI, client: TestClient, values: dict[str, str | None], status: int, code: str, field: str | None
) -> None:
    @app.post("/test/user")
    def insert(session: SessionDep) -> None:
        session.execute(text(INSERT_USER), values)

    res = client.post("/test/user")
    assert res.status_code == status, res.text
    error = res.json()["error"]
    assert error["code"] == code
    assert error.get("field") == field
    if code == "conflict":
        assert error["value"] == "admin"
    assert not any(word in res.text for word in SQL_WORDS), res.text


class _Base(DeclarativeBase):
    pass


class _User(_Base):
    """Just enough of app_user for a write that reaches the database only at commit."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))


def test_a_unique_violation_at_commit_is_409_too(app: FastAPI, client: TestClient) -> None:
    @app.post("/test/at-commit")
    def add(session: SessionDep) -> dict[str, str]:
        # Flushed by the commit after the handler returned (api.deps.get_session), not by the handler.
        session.add(_User(username="admin", display_name="x", role="admin"))
        return {"status": "added"}

    res = client.post("/test/at-commit")
    assert res.status_code == 409, res.text
    assert res.json()["error"] == {**res.json()["error"], "code": "conflict", "field": "username"}


def test_the_sync_pool_follows_gisgrid_db_pool_size(settings: Settings) -> None:
    own = Settings(db=settings.db.model_copy(update={"db_pool_size": 3}), auth=settings.auth)
    assert own.db.async_pool_size != 3
    app = create_app(own)
    with TestClient(app):
        assert app.state.engine.pool.size() == 3
        assert app.state.aiodb.size == own.db.async_pool_size
