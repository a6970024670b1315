"""`gisgrid incidents list|show|stats`, run through the main command on the test's session."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from gisgrid.cli import app
from gisgrid.cli import incidents as incidents_cli
from gisgrid.errors import InvalidInput, NotFound
from tests.incidents.helpers import make_incident, served_point

Home = tuple[str, float, float]
Run = Callable[..., Result]


@pytest.fixture
def run(session: Session, monkeypatch: pytest.MonkeyPatch) -> Run:
    @contextmanager
    def same_session() -> Iterator[Session]:
        yield session

    monkeypatch.setattr(incidents_cli, "session", same_session)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["incidents", *args], env={"COLUMNS": "200"})

    return invoke


@pytest.fixture
def home(session: Session) -> Home:
    """(micro code, lon, lat) inside the first micro-grid the demo grid worker serves."""
    return served_point(session)


def test_list_show_and_stats(run: Run, session: Session, home: Home) -> None:
    first = make_incident(session, lon=home[1], lat=home[2], title="井盖缺失", category="chengguan.facility")
    make_incident(session, lon=home[1], lat=home[2], title="楼道堆物", category="xiaofang.passage")
    listed = run("list", "--json")
    assert listed.exit_code == 0, listed.output
    page = json.loads(listed.output)
    assert page["total"] == 2 and {i["title"] for i in page["items"]} == {"井盖缺失", "楼道堆物"}
    table = run("list", "--category", "chengguan")
    assert table.exit_code == 0 and "井盖缺失" in table.output and "楼道堆物" not in table.output
    assert "1 of 1" in table.output
    shown = run("show", str(first))
    assert shown.exit_code == 0 and "井盖缺失" in shown.output and home[0] in shown.output
    assert "reported" in shown.output
    stats = json.loads(run("stats", "--by", "category", "--json").output)
    assert stats["all"]["total"] == 2 and {g["key"] for g in stats["groups"]} == {
        "chengguan.facility",
        "xiaofang.passage",
    }
    assert "合计" in run("stats").output


def test_errors_are_domain_errors(run: Run) -> None:
    missing = run("show", "999999")
    assert missing.exit_code != 0 and isinstance(missing.exception, NotFound)
    bad = run("list", "--from", "yesterday")
    assert isinstance(bad.exception, InvalidInput) and bad.exception.field == "--from"
    wrong = run("stats", "--by", "street")
    assert isinstance(wrong.exception, InvalidInput) and wrong.exception.field == "by"
