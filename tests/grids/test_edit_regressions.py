"""Minimal examples of bugs the property and concurrency tests of boundary edits found (tests/grids/
test_edit_properties.py, test_edit_concurrency.py), kept as plain tests."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from gisgrid.grids import changesets
from tests.grids.test_edits import RULES, _gen, _nudged_edge, _principal, _reshapable, _state


@pytest.fixture
def admin(session: Session) -> changesets.Context:
    return changesets.Context(actor=_principal(session, "admin"), rules=RULES)


def _save(session: Session, ctx: changesets.Context, operations: list[dict]) -> int:
    cs = changesets.create(session, operations=operations, reason="r", ctx=ctx)
    return _gen(changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=ctx))


def _revert(session: Session, ctx: changesets.Context, generation: int) -> int:
    cs = changesets.revert(session, generation_id=generation, reason="undo", ctx=ctx)
    return _gen(changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=ctx))


def test_two_generations_of_one_grid_revert_newest_first(session: Session, admin: changesets.Context) -> None:
    """Reverting the later generation brought its grids back as new rows, and the earlier generation then
    counted them as 'changed since' and refused, though the refusal said to revert the later one first."""
    a, b, line = _reshapable(session, admin)
    start = _state(session, [a, b])
    first = _save(session, admin, [{"op": "reshape", "a": a, "b": b, "line": line}])
    second = _save(
        session, admin, [{"op": "reshape", "a": a, "b": b, "line": _nudged_edge(session, a, b, 2.0)}]
    )
    _revert(session, admin, second)
    _revert(session, admin, first)
    assert _state(session, [a, b]) == start
