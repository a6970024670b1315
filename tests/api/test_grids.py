"""GET /api/grids/{code}: a unit now or as of a time; times need their offset."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session


def _a_micro_code(session: Session) -> str:
    return str(
        session.execute(
            text(
                "SELECT code FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    )


def test_a_unit_now_and_as_of_a_time_with_offset(client: TestClient, session: Session) -> None:
    code = _a_micro_code(session)
    now = client.get(f"/api/grids/{code}")
    assert now.status_code == 200 and now.json()["code"] == code
    later = client.get(f"/api/grids/{code}", params={"at": "2099-01-01T08:00:00+08:00"})
    assert later.status_code == 200 and later.json()["code"] == code
    before = client.get(f"/api/grids/{code}", params={"at": "1999-01-01T08:00:00+08:00"})
    assert before.status_code == 404 and before.json()["error"]["field"] == "code"


def test_a_time_without_offset_is_refused_not_guessed(client: TestClient, session: Session) -> None:
    res = client.get(f"/api/grids/{_a_micro_code(session)}", params={"at": "2026-01-01T08:00:00"})
    assert res.status_code == 422
    err = res.json()["error"]
    assert err["field"] == "at" and "+08:00" in err["expected"]
