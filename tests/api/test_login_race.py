"""Forty parallel log-ins against the real server: the failures are counted before any password is checked, so
at most `max_failed_logins` passwords are verified and the account ends locked (it used to end at 3 with all 39
wrong passwords checked and the right one let in)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import Engine, text

from gisgrid.auth import accounts
from gisgrid.config import Settings
from gisgrid.db.engine import session_scope

USER = "race_probe"
PASSWORD = "the right password"


@pytest.fixture
def probe(engine: Engine) -> Iterator[str]:
    with session_scope(engine) as session:
        accounts.create_user(session, username=USER, role="auditor", password=PASSWORD, display_name="race")
    yield USER
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM app_user WHERE username = :u"), {"u": USER})
        conn.execute(text("DELETE FROM login_throttle"))


def test_parallel_log_ins_check_at_most_the_allowed_number_of_passwords(
    live_url: str, engine: Engine, settings: Settings, probe: str
) -> None:
    attempts = [f"wrong password {i}" for i in range(40)]

    def attempt(password: str) -> int:
        # All from 127.0.0.1: the per-address throttle (tested in test_auth.py) is raised for this test.
        res = httpx.post(
            f"{live_url}/api/auth/login", json={"username": probe, "password": password}, timeout=60
        )
        return res.status_code

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM login_throttle"))
    limit = settings.auth.max_failed_logins_per_ip
    settings.auth.max_failed_logins_per_ip = 1000
    try:
        with ThreadPoolExecutor(max_workers=40) as pool:
            codes = list(pool.map(attempt, attempts))
        right = httpx.post(
            f"{live_url}/api/auth/login", json={"username": probe, "password": PASSWORD}, timeout=60
        )
    finally:
        settings.auth.max_failed_logins_per_ip = limit
    with engine.connect() as conn:
        checked = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'login_failed' AND entity_key = :u "
                "AND detail->>'reason' = 'wrong password'"
            ),
            {"u": probe},
        ).scalar_one()
        failed, locked = conn.execute(
            text("SELECT failed_logins, locked_until > now() FROM app_user WHERE username = :u"), {"u": probe}
        ).one()
    assert codes == [401] * 40
    assert checked == settings.auth.max_failed_logins  # the other 35 were refused without a check
    assert failed == settings.auth.max_failed_logins and locked
    assert right.status_code == 401  # locked: even the right password waits
