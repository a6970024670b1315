"""Log-in, sessions, CSRF, bearer tokens, expiry, log-out, lock-out, and what anonymous callers see."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from gisgrid.auth import accounts
from gisgrid.config import Settings
from tests.conftest import as_owner, login


def _micro_code(session: Session, community: str | None = None) -> str:
    sql = "SELECT g.code FROM grid_unit g WHERE g.level='micro' AND g.valid_to IS NULL"
    params = {}
    if community:
        sql += " AND g.code LIKE (SELECT code FROM grid_unit WHERE name = :n AND valid_to IS NULL) || '%'"
        params["n"] = community
    return session.execute(text(sql + " ORDER BY g.code LIMIT 1"), params).scalar_one()


def test_login_sets_httponly_samesite_cookie_and_me_reports_role(client: TestClient) -> None:
    res = client.post("/api/auth/login", json={"username": "planner", "password": "planner-demo"})
    assert res.status_code == 200
    cookie = res.headers["set-cookie"]
    assert "gisgrid_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = client.get("/api/auth/me").json()
    assert me == {**me, "username": "planner", "role": "planner", "authenticated": True}


def test_wrong_password_is_401_and_audited(client: TestClient, session: Session) -> None:
    res = client.post("/api/auth/login", json={"username": "planner", "password": "nope-nope"})
    assert res.status_code == 401 and res.json()["error"]["code"] == "unauthorized"
    row = session.execute(
        text("SELECT action, entity_key, detail FROM audit_log ORDER BY id DESC LIMIT 1")
    ).one()
    assert row.action == "login_failed" and row.entity_key == "planner"


def test_lockout_after_repeated_failures(client: TestClient) -> None:
    for _ in range(5):
        client.post("/api/auth/login", json={"username": "auditor", "password": "wrong-password"})
    res = client.post("/api/auth/login", json={"username": "auditor", "password": "auditor-demo"})
    assert res.status_code == 401 and "cannot log in now" in res.json()["error"]["message"]


def test_unknown_disabled_and_locked_accounts_answer_alike(client: TestClient, session: Session) -> None:
    from gisgrid.auth import accounts

    accounts.set_disabled(session, username="dispatcher", disabled=True)
    session.execute(
        text("UPDATE app_user SET locked_until = now() + interval '5 minutes' WHERE username = 'auditor'")
    )
    session.flush()
    bodies = {
        name: client.post("/api/auth/login", json={"username": name, "password": password}).json()
        for name, password in (
            ("nobody-here", "whatever-pw"),
            ("dispatcher", "dispatcher-demo"),
            ("auditor", "auditor-demo"),
            ("planner", "wrong-password"),
        )
    }
    assert len({json.dumps(b, sort_keys=True) for b in bodies.values()}) == 1, bodies
    reasons = (
        session.execute(
            text(
                "SELECT detail->>'reason' FROM audit_log WHERE action = 'login_failed' ORDER BY id DESC LIMIT 4"
            )
        )
        .scalars()
        .all()
    )
    assert set(reasons) == {
        "unknown user",
        "disabled",
        "locked",
        "wrong password",
    }  # told apart only in the log


def test_failures_decay_and_an_expired_lock_does_not_come_back(client: TestClient, session: Session) -> None:
    def state() -> tuple[int, bool]:
        row = session.execute(
            text(
                "SELECT failed_logins, coalesce(locked_until > now(), false) FROM app_user WHERE username = 'auditor'"
            )
        ).one()
        return int(row[0]), bool(row[1])

    wrong = {"username": "auditor", "password": "wrong-password"}
    session.execute(
        text(
            "UPDATE app_user SET failed_logins = 4, last_failed_at = now() - interval '20 minutes' WHERE username = 'auditor'"
        )
    )
    client.post("/api/auth/login", json=wrong)
    assert state() == (1, False)  # four failures 20 minutes ago no longer count
    session.execute(
        text(
            "UPDATE app_user SET failed_logins = 5, last_failed_at = now() - interval '16 minutes', "
            "locked_until = now() - interval '1 minute' WHERE username = 'auditor'"
        )
    )
    client.post("/api/auth/login", json=wrong)
    assert state() == (1, False)  # the lock expired: one typo does not lock the account again
    ok = client.post("/api/auth/login", json={"username": "auditor", "password": "auditor-demo"})
    assert ok.status_code == 200 and state() == (0, False)


def test_failures_per_address_are_throttled(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings.auth, "max_failed_logins_per_ip", 3)
    for name in ("planner", "auditor", "gridworker"):  # one address trying several accounts
        assert (
            client.post("/api/auth/login", json={"username": name, "password": "wrong-pw-1"}).status_code
            == 401
        )
    res = client.post("/api/auth/login", json={"username": "dispatcher", "password": "dispatcher-demo"})
    assert res.status_code == 429 and res.json()["error"]["code"] == "too_many_requests"


def test_cookie_write_without_csrf_is_refused_and_changes_nothing(
    client: TestClient, session: Session
) -> None:
    csrf = login(client, "planner")
    code = _micro_code(session)
    etag = client.get(f"/api/grids/{code}").headers["etag"]
    res = client.patch(f"/api/grids/{code}", json={"name": "CSRF"}, headers={"If-Match": etag})
    assert res.status_code == 403 and res.json()["error"]["field"] == "X-CSRF-Token"
    forged = client.patch(
        f"/api/grids/{code}", json={"name": "CSRF"}, headers={"If-Match": etag, "X-CSRF-Token": "forged"}
    )
    assert forged.status_code == 403
    assert session.execute(text("SELECT name FROM grid_unit WHERE code=:c"), {"c": code}).scalar() != "CSRF"
    ok = client.patch(f"/api/grids/{code}", json={"name": "新名称"}, headers={"If-Match": etag, **csrf})
    assert ok.status_code == 200 and ok.json()["name"] == "新名称"


def test_edit_is_audited_with_before_and_after(client: TestClient, session: Session) -> None:
    csrf = login(client, "planner")
    code = _micro_code(session)
    old = session.execute(text("SELECT households FROM grid_unit WHERE code=:c"), {"c": code}).scalar_one()
    etag = client.get(f"/api/grids/{code}").headers["etag"]
    res = client.patch(f"/api/grids/{code}", json={"households": old + 1}, headers={"If-Match": etag, **csrf})
    assert res.status_code == 200 and res.headers["etag"] == f'"{int(etag.strip(chr(34))) + 1}"'
    row = session.execute(
        text(
            "SELECT actor, action, before, after, ip FROM audit_log WHERE entity='grid_unit' "
            "AND entity_key=:c ORDER BY id DESC LIMIT 1"
        ),
        {"c": code},
    ).one()
    assert row.actor == "planner" and row.action == "update"
    assert row.before == {"households": old} and row.after["households"] == old + 1 and row.ip


def test_stale_version_is_409_with_current_version(client: TestClient, session: Session) -> None:
    csrf = login(client, "planner")
    code = _micro_code(session)
    etag = client.get(f"/api/grids/{code}").headers["etag"]
    assert (
        client.patch(
            f"/api/grids/{code}", json={"name": "一"}, headers={"If-Match": etag, **csrf}
        ).status_code
        == 200
    )
    stale = client.patch(f"/api/grids/{code}", json={"name": "二"}, headers={"If-Match": etag, **csrf})
    assert stale.status_code == 409
    assert stale.json()["error"]["details"]["current_version"] == int(etag.strip('"')) + 1
    missing = client.patch(f"/api/grids/{code}", json={"name": "三"}, headers=csrf)
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "If-Match"


def test_scoped_planner_cannot_edit_another_community(client: TestClient, session: Session) -> None:
    csrf = login(client, "planner_lh")
    inside, outside = _micro_code(session, "莲花社区"), _micro_code(session, "一心桥社区")
    for code, status in ((outside, 403), (inside, 200)):
        etag = client.get(f"/api/grids/{code}").headers["etag"]
        res = client.patch(f"/api/grids/{code}", json={"name": "x"}, headers={"If-Match": etag, **csrf})
        assert res.status_code == status, res.text


def test_bearer_token_works_without_csrf_and_forged_token_is_401(
    client: TestClient, session: Session
) -> None:
    csrf = login(client, "planner")
    token = client.post("/api/auth/tokens", json={"name": "script"}, headers=csrf).json()["token"]
    client.cookies.clear()
    code = _micro_code(session)
    etag = client.get(f"/api/grids/{code}").headers["etag"]
    ok = client.patch(
        f"/api/grids/{code}",
        json={"name": "脚本"},
        headers={"If-Match": etag, "Authorization": f"Bearer {token}"},
    )
    assert ok.status_code == 200
    bad = client.get("/api/auth/me", headers={"Authorization": "Bearer " + token[:-2] + "xx"})
    assert bad.status_code == 401


def test_expired_session_says_so(client: TestClient, session: Session) -> None:
    login(client, "auditor")
    session.execute(text("UPDATE auth_session SET expires_at = now() - interval '1 minute'"))
    res = client.get("/api/audit")
    assert res.status_code == 401 and "expired" in res.json()["error"]["message"]


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = login(client, "admin")
    cookie = client.cookies.get("gisgrid_session")
    assert client.post("/api/auth/logout", headers=csrf).status_code == 200
    client.cookies.set("gisgrid_session", cookie or "")
    assert client.get("/api/users").status_code == 401


def test_disabled_account_cannot_log_in_and_its_tokens_stop(client: TestClient, session: Session) -> None:
    user = accounts.get_user(session, "dispatcher")
    secret = client.app.state.secret  # type: ignore[attr-defined]
    issued = accounts.issue(session, user=user, kind="token", secret=secret, ttl=timedelta(days=1))
    accounts.set_disabled(session, username="dispatcher", disabled=True)
    session.flush()
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {issued.token}"}).status_code == 401
    res = client.post("/api/auth/login", json={"username": "dispatcher", "password": "dispatcher-demo"})
    assert res.status_code == 401 and "cannot log in now" in res.json()["error"]["message"]


def test_anonymous_sees_no_households_or_phones(client: TestClient) -> None:
    anon = client.get("/api/layers/micro_grids?limit=5").json()["features"][0]["properties"]
    assert "households" not in anon and all("phone" not in w for w in anon["workers"])
    login(client, "dispatcher")
    props = client.get("/api/layers/micro_grids?limit=5").json()["features"][0]["properties"]
    assert "households" in props and any("phone" in w for w in props["workers"])


def test_audit_rows_cannot_be_altered(connection: Connection, session: Session) -> None:
    """The app role has no right to change them; the owner has, and the trigger refuses it."""
    from sqlalchemy.exc import DBAPIError

    session.execute(text("INSERT INTO audit_log (action, entity) VALUES ('test', 'x')"))
    for sql in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError, match="permission denied for table audit_log"):
            session.execute(text(sql))
        nested.rollback()
        with as_owner(connection):
            nested = session.begin_nested()
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(text(sql))
            nested.rollback()


def test_secret_key_is_generated_once_with_private_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "var" / "secret_key"
    first = accounts.load_secret(path)
    assert accounts.load_secret(path) == first and len(first) == 64
    assert path.stat().st_mode & 0o777 == 0o600


def test_session_expiry_is_in_the_future(client: TestClient) -> None:
    res = client.post("/api/auth/login", json={"username": "patrol", "password": "patrol-demo"})
    expires = datetime.fromisoformat(res.json()["expires_at"])
    assert datetime.now(UTC) + timedelta(hours=7) < expires < datetime.now(UTC) + timedelta(hours=9)


def test_dead_cookie_does_not_block_public_pages_or_a_new_log_in(
    client: TestClient, session: Session
) -> None:
    login(client, "planner")
    session.execute(text("UPDATE auth_session SET revoked_at = now()"))
    assert client.get("/api/map-config").status_code == 200
    assert client.get("/api/audit").json()["error"]["code"] == "unauthorized"
    res = client.post("/api/auth/login", json={"username": "planner", "password": "planner-demo"})
    assert res.status_code == 200
    assert client.get("/api/auth/me").json()["authenticated"] is True


def test_committed_before_the_answer(client: TestClient, session: Session) -> None:
    # The session row must exist when the log-in answer arrives (the commit precedes the response).
    res = client.post("/api/auth/login", json={"username": "auditor", "password": "auditor-demo"})
    assert res.status_code == 200
    assert client.get("/api/audit?limit=1").status_code == 200


@pytest.mark.parametrize(
    "body", [{"name": None}, {"name": "   "}, {"households": None}, {"population": None}]
)
def test_required_attributes_cannot_be_emptied(client: TestClient, session: Session, body: dict) -> None:
    csrf = login(client, "planner")
    code = _micro_code(session)
    etag = client.get(f"/api/grids/{code}").headers["etag"]
    res = client.patch(f"/api/grids/{code}", json=body, headers={"If-Match": etag, **csrf})
    assert res.status_code == 422 and res.json()["error"]["field"] == next(iter(body))


def test_audit_total_count_header(client: TestClient) -> None:
    login(client, "admin")
    res = client.get("/api/audit?limit=1")
    assert res.status_code == 200 and len(res.json()) == 1 and int(res.headers["x-total-count"]) >= 1


def test_weak_passwords_are_refused_without_echoing_them() -> None:
    from gisgrid.auth.accounts import check_password
    from gisgrid.errors import InvalidInput

    for weak in (" " * 8, " " * 12 + "ab", "aaaaaaaa", "abababab", "pass\x00word"):
        try:
            check_password(weak)
        except InvalidInput as exc:
            assert weak not in str(exc.value) and weak not in exc.message
        else:
            raise AssertionError(f"accepted {weak!r}")
    check_password("correct horse")


def _who(client: TestClient, headers: dict[str, str]) -> str | None:
    """The account a request with `headers` acts for (None: refused or anonymous)."""
    res = client.get("/api/auth/me", headers=headers)
    return res.json()["username"] if res.status_code == 200 and res.json()["authenticated"] else None


def test_tokens_are_listed_revoked_and_die_with_a_password_change(
    client: TestClient, session: Session
) -> None:
    headers = {
        "X-CSRF-Token": client.post(
            "/api/auth/login", json={"username": "planner", "password": "planner-demo"}
        ).json()["csrf_token"]
    }
    made = client.post("/api/auth/tokens", json={"name": "script", "days": 30}, headers=headers).json()
    too_long = client.post("/api/auth/tokens", json={"name": "x", "days": 365}, headers=headers)
    assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "days"
    (row,) = client.get("/api/auth/tokens").json()
    assert row["name"] == "script" and row["active"] and made["token"] not in str(row)
    bearer_headers = {"Authorization": f"Bearer {made['token']}"}
    assert _who(client, bearer_headers) == "planner"
    # other accounts' tokens are for admins only
    assert client.get("/api/auth/tokens", params={"all": "true"}).status_code == 403
    revoked = client.delete(f"/api/auth/tokens/{row['id']}", headers=headers)
    assert revoked.status_code == 200 and not revoked.json()["active"]
    client.cookies.clear()
    assert _who(client, bearer_headers) is None
    # a password change revokes every token of the account
    from gisgrid.auth import accounts

    second = accounts.issue(
        session,
        user=accounts.get_user(session, "planner"),
        kind="token",
        secret=client.app.state.secret,  # type: ignore[attr-defined]
        ttl=timedelta(days=1),
        name="second",
    )
    session.flush()
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {second.token}"}).json()[
        "authenticated"
    ]
    accounts.set_password(session, username="planner", password="a new password")
    session.flush()
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {second.token}"}).status_code in (
        200,
        401,
    )
    assert (
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {second.token}"})
        .json()
        .get("authenticated")
        is not True
    )
