"""Auto-partition: a general grid's compounds grouped into contiguous micro-grids of 30–100 households whose
borders follow the compounds' regions (no compound cut), saved through a change set like any edit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.auth.policy import Principal
from gisgrid.config import GridRuleSettings
from gisgrid.grids import changesets, partition, topology
from gisgrid.grids.edits import EditRefused
from tests.conftest import bearer

RULES = GridRuleSettings()


def _admin(session: Session) -> Principal:
    uid = session.execute(text("SELECT id FROM app_user WHERE username = 'admin'")).scalar_one()
    return Principal(user_id=uid, username="admin", role="admin")


def _busiest_general(session: Session) -> str:
    return str(
        session.execute(
            text(
                "SELECT parent_code FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL "
                "GROUP BY parent_code ORDER BY sum(households) DESC, parent_code LIMIT 1"
            )
        ).scalar_one()
    )


def test_a_proposal_groups_every_compound_once_into_contiguous_parts_and_saves_as_a_change_set(
    session: Session,
) -> None:
    code = _busiest_general(session)
    admin = _admin(session)
    compounds = set(
        session.execute(
            text(
                "SELECT ext_id FROM compound WHERE ST_Intersects((SELECT geom FROM grid_unit WHERE code = :c "
                "AND valid_to IS NULL), ST_PointOnSurface(geom))"
            ),
            {"c": code},
        ).scalars()
    )
    proposal = partition.propose(session, code=code, actor=admin, rules=RULES, seed=1)
    listed = [c["ext_id"] for p in proposal["parts"] for c in p["compounds"]]
    assert sorted(listed) == sorted(compounds)
    assert all(p["contiguous"] for p in proposal["parts"])
    households = sum(p["households"] for p in proposal["parts"])
    assert households == sum(c["households"] for c in proposal["current"])
    figures = proposal["figures"]
    assert figures["compounds_cut"] == 0 and figures["micro_grids"] >= 2
    assert figures["out_of_range"] == 0, proposal["warnings"]
    assert RULES.micro_min_households <= figures["households_min"] <= figures["households_max"]
    assert figures["households_max"] <= RULES.micro_max_households
    ctx = changesets.Context(actor=admin, rules=RULES)
    cs = changesets.create(session, operations=proposal["operations"], reason="auto", ctx=ctx)
    saved = changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=ctx)
    assert saved.status == "saved"
    now = (
        session.execute(
            text(
                "SELECT households FROM grid_unit WHERE parent_code = :c AND valid_to IS NULL ORDER BY code"
            ),
            {"c": code},
        )
        .scalars()
        .all()
    )
    assert len(now) == figures["micro_grids"] and sum(now) == households
    report = topology.validate(session, rules=RULES)
    assert [i for i in report["issues"] if i["severity"] == "error"] == []


def test_partition_operations_that_miss_or_repeat_compounds_or_break_contiguity_are_refused(
    session: Session,
) -> None:
    code = _busiest_general(session)
    admin = _admin(session)
    proposal = partition.propose(session, code=code, actor=admin, rules=RULES, seed=1)
    parts: list[list[str]] = proposal["operations"][0]["parts"]
    ctx = changesets.Context(actor=admin, rules=RULES)

    def rule(parts_: Any) -> str:
        with pytest.raises(EditRefused) as caught:
            changesets.preview(session, [{"op": "partition", "general": code, "parts": parts_}], ctx)
        return str(caught.value.details["rule"])

    assert rule(parts[1:]) == "bad_parts"  # compounds missing
    assert rule([*parts, [parts[0][0]]]) == "bad_parts"  # one twice
    assert rule([*parts[:-1], [*parts[-1], "C-NOT-THERE"]]) == "bad_parts"
    # The westmost and the eastmost group's first compounds together, the rest as proposed: not one piece.
    west, east = parts[0], parts[-1]
    swapped = [
        [west[0], east[0]],
        *([west[1:]] if west[1:] else []),
        *parts[1:-1],
        *([east[1:]] if east[1:] else []),
    ]
    assert rule(swapped) == "not_contiguous"


def test_the_proposal_route(client: TestClient, session: Session) -> None:
    client.headers["Authorization"] = bearer(session, client, "planner")
    code = _busiest_general(session)
    res = client.get(f"/api/grids/{code}/partition-proposal", params={"seed": 1})
    assert res.status_code == 200, res.text
    assert res.json()["operations"][0]["op"] == "partition"
    micro = code + "001"
    res = client.get(f"/api/grids/{micro}/partition-proposal")
    assert res.status_code in (404, 422) and res.json()["error"]["code"] in ("invalid_input", "not_found")
