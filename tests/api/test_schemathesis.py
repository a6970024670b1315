"""Property-based run (schemathesis) of every operation in the OpenAPI document, authenticated as the demo
admin, bounded in examples: no 5xx."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session

from api.app import create_app
from gisgrid.config import DatabaseSettings, Settings
from tests.conftest import bearer

MAX_EXAMPLES = 15


def _operations() -> list[tuple[str, str]]:
    app = create_app(Settings(db=DatabaseSettings(database_url="postgresql+psycopg2://x@127.0.0.1:1/x")))
    return [(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops]


OPERATIONS = _operations()


@pytest.fixture
def admin_token(client: TestClient, session: Session) -> Callable[[], str]:
    """Issues bearer tokens of the demo admin, inside the test's transaction."""

    def issue() -> str:
        return bearer(session, client, "admin").removeprefix("Bearer ")

    return issue


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_errors(
    app: FastAPI, client: TestClient, admin_token: Callable[[], str], method: str, path: str
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        # A fresh token per example: a log-out or a disabled account must not starve the examples after it.
        response = case.call(headers={"Authorization": f"Bearer {admin_token()}"})
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"

    check()
