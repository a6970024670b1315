"""Fixtures for incident tests: bearer headers per demo account, points in known grids."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.incidents.helpers import bearer, served_point

ROLE_USERS = {
    "admin": "admin",
    "dispatcher": "dispatcher",
    "grid_worker": "gridworker",
    "planner": "planner",
    "auditor": "auditor",
    "patrol": "patrol",
}


@pytest.fixture
def auth(client: TestClient, session: Session) -> Callable[[str], dict[str, str]]:
    """Bearer headers of a demo account by username (one token per account per test)."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = bearer(client, session, username)
        return cache[username]

    return headers


@pytest.fixture
def home(session: Session) -> tuple[str, float, float]:
    """(micro code, lon, lat) inside the first micro-grid the demo grid worker serves."""
    return served_point(session)
