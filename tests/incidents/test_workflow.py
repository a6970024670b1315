"""The workflow through the API: every transition allowed or refused by role, a full walk to closure with its
timeline, return, reject, escalation up to a department that reports back, and optimistic concurrency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.incidents.conftest import ROLE_USERS
from tests.incidents.helpers import make_incident

Auth = Callable[[str], dict[str, str]]
Home = tuple[str, float, float]


def act(client: TestClient, headers: dict[str, str], incident_id: int, action: str, **body: Any) -> Any:
    """POST a transition with the incident's current version (read from the database by default)."""
    return client.post(
        f"/api/incidents/{incident_id}/transitions", json={"action": action, **body}, headers=headers
    )


def version_of(session: Session, incident_id: int) -> int:
    return int(
        session.execute(text("SELECT version FROM incident WHERE id = :i"), {"i": incident_id}).scalar_one()
    )


def step(
    client: TestClient, session: Session, headers: dict[str, str], incident_id: int, action: str, **body: Any
) -> dict:
    res = act(client, headers, incident_id, action, version=version_of(session, incident_id), **body)
    assert res.status_code == 200, res.text
    return res.json()


# (action, status before, level) → roles that may take it. Written out by hand, not derived from the table.
EXPECTED = {
    ("file", "reported", "micro"): {"admin", "dispatcher"},
    ("dispatch", "filed", "micro"): {"admin", "dispatcher"},
    ("start", "dispatched", "micro"): {"admin", "grid_worker"},
    ("start", "dispatched", "department"): {"admin", "dispatcher"},
    ("report", "handling", "grid"): {"admin", "grid_worker"},
    ("report", "handling", "subdistrict"): {"admin", "dispatcher"},
    ("verify", "handled", "micro"): {"admin", "dispatcher"},
    ("close", "verified", "micro"): {"admin", "dispatcher"},
    ("return", "dispatched", "micro"): {"admin", "dispatcher"},
    ("reject", "reported", "micro"): {"admin", "dispatcher"},
    ("escalate", "handling", "micro"): {"admin", "dispatcher", "grid_worker"},
    ("escalate", "dispatched", "subdistrict"): {"admin", "dispatcher"},
}
AFTER = {
    "file": "filed",
    "dispatch": "dispatched",
    "start": "handling",
    "report": "handled",
    "verify": "verified",
    "close": "closed",
    "return": "filed",
    "reject": "rejected",
}


@pytest.mark.parametrize("role", list(ROLE_USERS))
@pytest.mark.parametrize(("action", "status", "level"), list(EXPECTED), ids=["-".join(k) for k in EXPECTED])
def test_each_transition_allowed_or_refused_by_role(
    client: TestClient,
    session: Session,
    auth: Auth,
    home: Home,
    action: str,
    status: str,
    level: str,
    role: str,
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2], status=status, level=level)
    extra: dict[str, Any] = {"comment": "理由 reason"} if action in ("return", "reject") else {}
    if action == "escalate" and level == "subdistrict":
        extra = {"level": "department", "department": "区城管局"}
    res = act(client, auth(ROLE_USERS[role]), incident_id, action, version=1, **extra)
    if role in EXPECTED[(action, status, level)]:
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["version"] == 2
        if action == "escalate":
            assert body["status"] == status and body["level"] != level
        else:
            assert body["status"] == AFTER[action]
    else:
        assert res.status_code == 403, res.text
        assert version_of(session, incident_id) == 1
        count = session.execute(
            text("SELECT count(*) FROM incident_event WHERE incident_id = :i"), {"i": incident_id}
        ).scalar()
        assert count == 1  # only the report itself


def test_full_walk_to_closure_with_timeline(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    dispatcher, worker = auth("dispatcher"), auth("gridworker")
    res = client.post(
        "/api/incidents",
        json={
            "category_code": "chengguan.litter",
            "title": "楼下垃圾堆放",
            "lon": home[1],
            "lat": home[2],
            "crs": "wgs84",
            "channel": "resident",
            "reporter": "张女士",
        },
        headers=dispatcher,
    )
    assert res.status_code == 201, res.text
    assert res.headers["ETag"] == '"1"'
    incident_id = res.json()["id"]
    walk = [
        (dispatcher, "file", {}),
        (dispatcher, "dispatch", {}),
        (worker, "start", {}),
        (worker, "report", {"comment": "已清运", "attachments": ["清运前.jpg", "清运后.jpg"]}),
        (dispatcher, "verify", {}),
        (dispatcher, "close", {}),
    ]
    for headers, action, body in walk:
        step(client, session, headers, incident_id, action, **body)
    detail = client.get(f"/api/incidents/{incident_id}", headers=dispatcher)
    assert detail.headers["ETag"] == '"7"'
    body = detail.json()
    assert body["status"] == "closed" and body["version"] == 7 and body["allowed_actions"] == []
    assert body["dispatched_at"] and body["closed_at"] and body["step"]["colour"] == "none"
    timeline = body["timeline"]
    assert [e["action"] for e in timeline] == [
        "create",
        "file",
        "dispatch",
        "start",
        "report",
        "verify",
        "close",
    ]
    assert [(e["from_status"], e["to_status"]) for e in timeline] == [
        (None, "reported"),
        ("reported", "filed"),
        ("filed", "dispatched"),
        ("dispatched", "handling"),
        ("handling", "handled"),
        ("handled", "verified"),
        ("verified", "closed"),
    ]
    assert [e["role"] for e in timeline[1:]] == [
        "dispatcher",
        "dispatcher",
        "grid_worker",
        "grid_worker",
        "dispatcher",
        "dispatcher",
    ]
    assert timeline[4]["attachments"] == ["清运前.jpg", "清运后.jpg"] and timeline[4]["comment"] == "已清运"
    audited = (
        session.execute(
            text("SELECT action FROM audit_log WHERE entity = 'incident' AND entity_key = :k ORDER BY id"),
            {"k": str(incident_id)},
        )
        .scalars()
        .all()
    )
    assert audited == ["incident_create"] + [f"incident_{a}" for _, a, _ in walk]


def test_wrong_status_is_409_and_changes_nothing(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2])
    res = act(client, auth("dispatcher"), incident_id, "close", version=1)
    assert res.status_code == 409 and res.json()["error"]["details"]["status"] == "reported"
    assert "file" in res.json()["error"]["expected"]
    assert version_of(session, incident_id) == 1


def test_stale_version_is_409_with_the_current_one(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2])
    dispatcher = auth("dispatcher")
    assert act(client, dispatcher, incident_id, "file", version=1).status_code == 200
    stale = client.post(
        f"/api/incidents/{incident_id}/transitions",
        json={"action": "dispatch"},
        headers={**dispatcher, "If-Match": '"1"'},
    )
    assert stale.status_code == 409 and stale.json()["error"]["details"]["current_version"] == 2
    missing = act(client, dispatcher, incident_id, "dispatch")
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "If-Match"
    disagree = client.post(
        f"/api/incidents/{incident_id}/transitions",
        json={"action": "dispatch", "version": 2},
        headers={**dispatcher, "If-Match": '"1"'},
    )
    assert disagree.status_code == 422
    ok = client.post(
        f"/api/incidents/{incident_id}/transitions",
        json={"action": "dispatch"},
        headers={**dispatcher, "If-Match": '"2"'},
    )
    assert ok.status_code == 200 and ok.headers["ETag"] == '"3"' and ok.json()["status"] == "dispatched"


def test_return_goes_back_one_step_with_a_reason(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2])
    dispatcher = auth("dispatcher")
    step(client, session, dispatcher, incident_id, "file")
    step(client, session, dispatcher, incident_id, "dispatch")
    no_reason = act(client, dispatcher, incident_id, "return", version=3)
    assert no_reason.status_code == 422 and no_reason.json()["error"]["field"] == "comment"
    body = step(client, session, dispatcher, incident_id, "return", comment="派错网格 wrong grid")
    assert body["status"] == "filed" and body["timeline"][-1]["comment"] == "派错网格 wrong grid"
    assert (body["timeline"][-1]["from_status"], body["timeline"][-1]["to_status"]) == ("dispatched", "filed")
    assert body["step"]["name"] == "dispatch"
    # back to dispatched, then first-dispatch time stays the first one
    first = session.execute(
        text("SELECT dispatched_at FROM incident WHERE id = :i"), {"i": incident_id}
    ).scalar()
    step(client, session, dispatcher, incident_id, "dispatch")
    again = session.execute(
        text("SELECT dispatched_at FROM incident WHERE id = :i"), {"i": incident_id}
    ).scalar()
    assert first == again


def test_reject_only_early_and_with_a_reason(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    dispatcher = auth("dispatcher")
    late = make_incident(session, lon=home[1], lat=home[2], status="dispatched")
    assert act(client, dispatcher, late, "reject", version=1, comment="x").status_code == 409
    incident_id = make_incident(session, lon=home[1], lat=home[2])
    assert act(client, dispatcher, incident_id, "reject", version=1).status_code == 422
    body = step(client, session, dispatcher, incident_id, "reject", comment="不属于受理范围")
    assert body["status"] == "rejected" and body["allowed_actions"] == [] and body["step"]["colour"] == "none"
    assert act(client, dispatcher, incident_id, "file", version=2).status_code == 409


def test_escalation_up_to_a_department_that_reports_back(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    dispatcher, worker = auth("dispatcher"), auth("gridworker")
    incident_id = make_incident(session, lon=home[1], lat=home[2], status="dispatched")
    # 网格呼叫: the grid worker calls up one level at a time
    assert step(client, session, worker, incident_id, "escalate", comment="无法处置")["level"] == "grid"
    too_far = act(
        client, worker, incident_id, "escalate", version=2, level="department", department="区城管局"
    )
    assert too_far.status_code == 422 and too_far.json()["error"]["expected"] == "one of: subdistrict"
    assert step(client, session, worker, incident_id, "escalate")["level"] == "subdistrict"
    assert act(client, worker, incident_id, "escalate", version=3).status_code == 403
    # at subdistrict level the dispatch centre handles: the grid worker may no longer start
    assert act(client, worker, incident_id, "start", version=3).status_code == 403
    nameless = act(client, dispatcher, incident_id, "escalate", version=3, level="department")
    assert nameless.status_code == 422 and nameless.json()["error"]["field"] == "department"
    body = step(
        client, session, dispatcher, incident_id, "escalate", level="department", department="区城管局"
    )
    assert (
        body["level"] == "department" and body["department"] == "区城管局" and body["status"] == "dispatched"
    )
    assert body["timeline"][-1]["detail"]["level"] == {"from": "subdistrict", "to": "department"}
    step(client, session, dispatcher, incident_id, "start", comment="部门报到")
    reported = step(client, session, dispatcher, incident_id, "report", comment="已修复")
    assert reported["status"] == "handled"
    assert reported["timeline"][-1]["detail"]["department_report"] == "区城管局"
    assert [e["action"] for e in reported["timeline"]] == [
        "create",
        "escalate",
        "escalate",
        "escalate",
        "start",
        "report",
    ]


def test_level_and_department_only_with_escalate(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2])
    res = act(client, auth("dispatcher"), incident_id, "file", version=1, level="grid")
    assert res.status_code == 422 and res.json()["error"]["field"] == "level"


def test_allowed_actions_follow_role_status_and_level(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2])

    def actions(username: str) -> dict[str, Any]:
        body = client.get(f"/api/incidents/{incident_id}", headers=auth(username)).json()
        return {a["action"]: a for a in body["allowed_actions"]}

    assert set(actions("dispatcher")) == {"file", "reject", "escalate"}
    assert actions("dispatcher")["escalate"]["levels"] == ["subdistrict", "department"]
    assert set(actions("gridworker")) == {"escalate"} and actions("gridworker")["escalate"]["levels"] == [
        "grid"
    ]
    assert actions("auditor") == {} and actions("planner") == {}
    session.execute(text("UPDATE incident SET status = 'dispatched' WHERE id = :i"), {"i": incident_id})
    assert set(actions("gridworker")) == {"start", "escalate"}
    assert actions("dispatcher")["return"]["to_status"] == "filed"


def test_attachment_names_must_be_bare_file_names(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2])
    res = act(client, auth("dispatcher"), incident_id, "file", version=1, attachments=["../etc/passwd"])
    assert res.status_code == 422 and res.json()["error"]["field"] == "attachments"
    assert version_of(session, incident_id) == 1


def test_filing_may_correct_the_category_and_later_deadlines_follow_it(
    client: TestClient, session: Session, auth: Auth, home: Home
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2], category="chengguan.litter")
    dispatcher = auth("dispatcher")
    body = step(
        client, session, dispatcher, incident_id, "file", category="xiaofang", comment="实为消防通道堵塞"
    )
    assert body["category"]["code"] == "xiaofang" and body["status"] == "filed"
    started = datetime.fromisoformat(body["step"]["started_at"])
    hours = session.execute(
        text("SELECT step_hours ->> 'dispatch' FROM incident_category WHERE code = 'xiaofang'")
    ).scalar_one()
    assert datetime.fromisoformat(body["step"]["due_at"]) == started + timedelta(hours=float(hours))
    filed = [e for e in body["timeline"] if e["action"] == "file"]
    assert filed[0]["detail"]["category"] == {"from": "chengguan.litter", "to": "xiaofang"}
    before, after = session.execute(
        text(
            "SELECT before ->> 'category_code', after ->> 'category_code' FROM audit_log "
            "WHERE entity = 'incident' AND entity_key = :k AND action = 'incident_file'"
        ),
        {"k": str(incident_id)},
    ).one()
    assert (before, after) == ("chengguan.litter", "xiaofang")


@pytest.mark.parametrize(("action", "category"), [("reject", "xiaofang"), ("file", "no.such.category")])
def test_category_only_when_filing_and_only_a_known_one(
    client: TestClient, session: Session, auth: Auth, home: Home, action: str, category: str
) -> None:
    incident_id = make_incident(session, lon=home[1], lat=home[2])
    res = act(client, auth("dispatcher"), incident_id, action, version=1, category=category, comment="理由")
    assert res.status_code == 422 and res.json()["error"]["field"] == "category", res.text
    code, version = session.execute(
        text("SELECT category_code, version FROM incident WHERE id = :i"), {"i": incident_id}
    ).one()
    assert (code, version) == ("chengguan.litter", 1)
