"""Concurrent editors against the real server (issue 11): ten planners draft edits of overlapping micro-grids
from the same versions, then save at the same instant, each over its own HTTP connection to uvicorn. Every save
either succeeds or is a 409 naming what changed meanwhile (no 500, no deadlock leaking out); no update is lost
(each success replaced exactly the versions its draft started from, and the versions of every grid form one
chain); the topology stays valid; and the final state equals the successful change sets applied one after the
other in commit order (checked by reverting them all and replaying them serially in a transaction that is rolled
back).

The saves commit, so this runs on its own copy of the test database (edits_engine in tests/conftest.py), dropped
with the others at the end of the session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from gisgrid.config import Settings
from gisgrid.grids import changesets, edits
from tests.conftest import DEMO_PASSWORDS, _free_port
from tests.grids.test_edit_properties import full_validation_errors, geom, grid_state, pushed_edge
from tests.grids.test_edits import RULES, _principal

EDITORS = 10


@pytest.fixture(scope="module")
def edits_url(settings: Settings, edits_engine: Engine) -> Iterator[str]:
    """The app served by uvicorn in a thread on the concurrent-edit test's own database."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, engine=edits_engine), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "edit test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def planner(url: str, username: str = "admin") -> httpx.Client:
    """A client with its own connection, logged in (cookie and CSRF header)."""
    client = httpx.Client(base_url=url, timeout=120)
    res = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORDS[username]})
    assert res.status_code == 200, res.text
    client.headers["X-CSRF-Token"] = res.json()["csrf_token"]
    return client


def candidates(session: Session) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Edits of one general grid's micro-grids that overlap each other (reshapes of the same edges both ways,
    merges of the same grids), then one far away that overlaps none of them."""
    general = session.execute(
        text(
            "SELECT parent_code FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL GROUP BY parent_code "
            "HAVING count(*) >= 5 ORDER BY parent_code LIMIT 1"
        )
    ).scalar_one()
    pairs = session.execute(
        text(
            "SELECT a.code, b.code FROM grid_unit a JOIN grid_unit b ON b.parent_code = a.parent_code "
            "AND a.code < b.code AND b.valid_to IS NULL AND ST_Relate(a.geom, b.geom, '****1****') "
            "WHERE a.parent_code = :p AND a.valid_to IS NULL ORDER BY a.code, b.code"
        ),
        {"p": general},
    ).all()
    out: list[list[dict[str, Any]]] = []
    for metres in (2.5, -2.5, 4.0):
        for a, b in pairs:
            shared = edits.shared_edges(geom(session, a), geom(session, b))
            if len(shared) == 1:
                out.append(
                    [{"op": "reshape", "a": a, "b": b, "line": pushed_edge(shared[0], at=0, metres=metres)}]
                )
        out.extend([{"op": "merge", "codes": [a, b]}] for a, b in pairs[:3])
    far = session.execute(
        text(
            "SELECT a.code, b.code FROM grid_unit a JOIN grid_unit b ON b.parent_code = a.parent_code "
            "AND a.code < b.code AND b.valid_to IS NULL AND ST_Relate(a.geom, b.geom, '****1****') "
            "WHERE a.valid_to IS NULL AND a.level = 'micro' AND a.parent_code <> :p AND NOT ST_DWithin(a.geom, "
            "(SELECT geom FROM grid_unit WHERE code = :p AND valid_to IS NULL), 0.005) ORDER BY a.code LIMIT 1"
        ),
        {"p": general},
    ).one()
    out.insert(3, [{"op": "merge", "codes": list(far)}])
    return out, [{"op": "merge", "codes": list(far)}]


def race(url: str, ids: list[int]) -> list[tuple[int, int, dict[str, Any]]]:
    """Save the drafts `ids` at the same instant, one editor (thread, connection) each."""
    clients = [planner(url) for _ in ids]
    start = threading.Barrier(len(ids))
    results: list[tuple[int, int, dict[str, Any]]] = []
    lock = threading.Lock()

    def save(client: httpx.Client, cs_id: int) -> None:
        start.wait()
        res = client.post(f"/api/grids/changes/{cs_id}/save", json={"confirm_warnings": True})
        with lock:
            results.append((cs_id, res.status_code, res.json()))

    threads = [threading.Thread(target=save, args=(c, i)) for c, i in zip(clients, ids, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for c in clients:
        c.close()
    assert len(results) == len(ids), "an editor hung"
    return results


def test_concurrent_editors_lose_no_update_and_end_in_a_serial_state(
    edits_url: str, edits_engine: Engine
) -> None:
    with Session(edits_engine) as session:
        start_state = grid_state(session)
        ops, far = candidates(session)
    first = planner(edits_url)
    drafts: dict[int, list[dict[str, Any]]] = {}
    for operations in ops:
        res = first.post("/api/grids/changes", json={"operations": operations, "reason": "race"})
        if res.status_code == 201:
            drafts[res.json()["id"]] = operations
        else:
            assert res.status_code == 422, res.text
        if len(drafts) == EDITORS:
            break
    assert len(drafts) == EDITORS
    # Drafts lock nothing and all start from the same versions.
    assert first.get("/api/grids/changes", params={"status": "draft"}).json()["total"] == EDITORS

    results = race(edits_url, list(drafts))
    # The losers rebase on the new state and race again (those whose edit no longer fits are refused, 422).
    rebased = []
    for cs_id, status, _ in results:
        if status == 409:
            res = first.post(f"/api/grids/changes/{cs_id}/rebase")
            assert res.status_code in (200, 422), res.text
            if res.status_code == 200:
                rebased.append(cs_id)
    if rebased:
        results += race(edits_url, rebased)
    first.close()

    statuses = [s for _, s, _ in results]
    print("saves:", [(cs_id, s, body.get("error", {}).get("message", "")[:60]) for cs_id, s, body in results])
    assert set(statuses) <= {200, 409}, results
    wins = [body for _, s, body in results if s == 200]
    assert len(wins) >= 2 and statuses.count(409) >= 1, statuses
    for _, status, body in results:
        if status == 409:
            assert body["error"]["code"] == "conflict", body
    # The edit far from the others has no reason to conflict; the others wait for each other (each save locks its
    # neighbourhood in code order) and a stale one is told which grids changed. Before that, most of them ended
    # in a database deadlock: a 409 "try again" that said nothing of what changed.
    assert any(body["operations"] == far for body in wins)
    assert all(body["error"]["details"].get("stale") for _, s, body in results if s == 409), results
    with Session(edits_engine) as session:
        check_no_lost_update(session, wins)
        assert full_validation_errors(session) == []
        check_serial_equivalence(session, wins, start_state)


def check_no_lost_update(session: Session, wins: list[dict[str, Any]]) -> None:
    """Each saved change set replaced exactly the versions its draft started from (so no two replaced the same
    one), and every code's versions form one chain, each row ended by the generation that began the next."""
    replaced: dict[tuple[str, int], int] = {}
    for cs in wins:
        for code, version in cs["base_versions"].items():
            assert (code, version) not in replaced, f"{code} v{version} replaced twice"
            replaced[(code, version)] = cs["generation_id"]
            ended_by = session.execute(
                text("SELECT retired_generation_id FROM grid_unit WHERE code = :c AND version = :v"),
                {"c": code, "v": version},
            ).scalar_one()
            assert ended_by == cs["generation_id"], (code, version, ended_by, cs["generation_id"])
    broken = session.execute(
        text(
            "SELECT a.code, a.version FROM grid_unit a LEFT JOIN grid_unit b ON b.code = a.code "
            "AND b.version = a.version + 1 WHERE a.valid_to IS NOT NULL AND ("
            "  (b.id IS NOT NULL AND (b.generation_id <> a.retired_generation_id OR b.valid_from <> a.valid_to))"
            "  OR (b.id IS NULL AND a.retired_generation_id IS NULL))"
        )
    ).all()
    assert broken == []
    assert (
        session.execute(
            text("SELECT count(*) FROM grid_unit WHERE generation_id = ANY(:g)"),
            {"g": [cs["generation_id"] for cs in wins]},
        ).scalar_one()
        > 0
    )


def check_serial_equivalence(session: Session, wins: list[dict[str, Any]], start: dict[str, Any]) -> None:
    """In a transaction rolled back at the end: revert the saved change sets newest first (back to the start,
    exactly), then apply their operations one after the other in commit order: the state must be the one the
    race left."""
    final = grid_state(session)
    ctx = changesets.Context(actor=_principal(session, "admin"), rules=RULES)
    ordered = sorted(wins, key=lambda cs: cs["generation_id"])
    try:
        for cs in reversed(ordered):
            undo = changesets.revert(session, generation_id=cs["generation_id"], reason="undo", ctx=ctx)
            changesets.save(session, undo.id, confirm_warnings=True, expected_version=None, ctx=ctx)
        assert grid_state(session) == start
        for cs in ordered:
            again = changesets.create(session, operations=cs["operations"], reason="serial", ctx=ctx)
            changesets.save(session, again.id, confirm_warnings=True, expected_version=None, ctx=ctx)
        assert grid_state(session) == final
    finally:
        session.rollback()
