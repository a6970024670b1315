"""Route × role matrix: every API route declares a policy, and every role (plus anonymous and an out-of-scope
planner) gets exactly the allow/deny that policy says. A new route without a policy or a sample fails here."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from gisgrid.auth.policy import PERMISSIONS
from tests.conftest import bearer

ROLE_USERS = {
    "admin": "admin",
    "planner": "planner",
    "dispatcher": "dispatcher",
    "auditor": "auditor",
    "grid_worker": "gridworker",
    "patrol": "patrol",
    "out_of_scope": "planner_lh",
    "anonymous": None,
}
RIVER_FILE = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "R-matrix", "name": "测试河", "width_m": 5},
                "geometry": {"type": "LineString", "coordinates": [[104.10, 30.64], [104.101, 30.641]]},
            }
        ],
    }
).encode()
# A one-row 12345-hotline export (GeoJSON: WGS 84 by RFC 7946) at 牛市口 station.
HOTLINE_FILE = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"工单编号": "MATRIX-1", "类别": "垃圾堆放", "受理时间": "2024-05-01 09:30"},
                "geometry": {"type": "Point", "coordinates": [104.105206, 30.640091]},
            }
        ],
    }
).encode()
Sample = Callable[[Session, str], tuple[str, dict[str, Any] | None, dict[str, str]]]


def _grid(session: Session, community: str) -> tuple[str, str]:
    code, version = session.execute(
        text(
            "SELECT g.code, g.version FROM grid_unit g WHERE g.level='micro' AND g.valid_to IS NULL AND g.code LIKE "
            "(SELECT code FROM grid_unit WHERE name=:n AND valid_to IS NULL) || '%' ORDER BY g.code LIMIT 1"
        ),
        {"n": community},
    ).one()
    return code, f'"{version}"'


def _patch_grid(session: Session, role: str) -> tuple[str, dict[str, Any] | None, dict[str, str]]:
    # The out-of-scope planner (莲花社区) edits a grid of 一心桥社区: must be refused.
    code, etag = _grid(session, "一心桥社区")
    return f"/api/grids/{code}", {"name": f"matrix {role}"}, {"If-Match": etag}


def _get_grid(session: Session, role: str) -> tuple[str, None, dict[str, str]]:
    return f"/api/grids/{_grid(session, '莲花社区')[0]}", None, {}


def _incident(session: Session, status: str = "reported") -> int:
    # In the demo grid worker's own grid, so that every role holding the permission may act on it.
    from tests.incidents.helpers import make_incident, served_point

    _, lon, lat = served_point(session)
    return make_incident(session, lon=lon, lat=lat, status=status)


def _transition(session: Session, role: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    # A step each permitted role may take: the grid worker starts a dispatched incident, the others file.
    action, status = ("start", "dispatched") if role == "grid_worker" else ("file", "reported")
    return f"/api/incidents/{_incident(session, status)}/transitions", {"action": action, "version": 1}, {}


def _move(session: Session, role: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    from tests.incidents.helpers import served_point

    _, lon, lat = served_point(session, n=1)
    body = {"lon": lon, "lat": lat, "crs": "wgs84"}
    return f"/api/incidents/{_incident(session)}/location", body, {"If-Match": '"1"'}


def _get_generation(session: Session, role: str) -> tuple[str, None, dict[str, str]]:
    newest = session.execute(text("SELECT max(id) FROM grid_generation")).scalar_one()
    return f"/api/grids/generations/{newest}?limit=3", None, {}


def _rename_ops(session: Session) -> list[dict[str, Any]]:
    # A micro-grid of 一心桥社区: outside the out-of-scope planner's community (莲花社区).
    code, _ = _grid(session, "一心桥社区")
    return [{"op": "rename", "code": code, "name": "矩阵测试"}]


def _draft_of(session: Session, role: str) -> int:
    """A draft owned by the role's account (an admin's for roles that may not edit): each may act on its own."""
    from gisgrid.auth.policy import PERMISSIONS, Principal
    from gisgrid.config import GridRuleSettings
    from gisgrid.grids import changesets

    username = ROLE_USERS[role] or "admin"
    user_id, user_role = session.execute(
        text("SELECT id, role FROM app_user WHERE username = :u"), {"u": username}
    ).one()
    if user_role not in PERMISSIONS["grids.edit"]:
        username = "admin"
        user_id, user_role = session.execute(
            text("SELECT id, role FROM app_user WHERE username = :u"), {"u": username}
        ).one()
    actor = Principal(user_id=user_id, username=username, role=user_role)
    ctx = changesets.Context(actor=actor, rules=GridRuleSettings())
    code, _ = _grid(session, "莲花社区")
    ops = [{"op": "rename", "code": code, "name": f"矩阵 {role}"}]
    return changesets.create(session, operations=ops, reason="matrix", ctx=ctx).id


def _draft_url(suffix: str, body: dict[str, Any] | None = None) -> Sample:
    def sample(session: Session, role: str) -> tuple[str, dict[str, Any] | None, dict[str, str]]:
        return f"/api/grids/changes/{_draft_of(session, role)}{suffix}", body, {}

    return sample


def _put_draft(session: Session, role: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    url = f"/api/grids/changes/{_draft_of(session, role)}"
    code, _ = _grid(session, "莲花社区")
    return url, {"operations": [{"op": "rename", "code": code, "name": "矩阵改名"}]}, {}


def _revert(session: Session, role: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    # An edit of a 一心桥社区 grid saved first; its revert is out of the 莲花社区 planner's scope.
    from gisgrid.auth.policy import Principal
    from gisgrid.config import GridRuleSettings
    from gisgrid.grids import changesets

    admin_id = session.execute(text("SELECT id FROM app_user WHERE username = 'admin'")).scalar_one()
    ctx = changesets.Context(
        actor=Principal(user_id=admin_id, username="admin", role="admin"), rules=GridRuleSettings()
    )
    cs = changesets.create(session, operations=_rename_ops(session), reason="matrix", ctx=ctx)
    cs = changesets.save(session, cs.id, confirm_warnings=True, expected_version=None, ctx=ctx)
    return f"/api/grids/generations/{cs.generation_id}/revert", {"reason": "matrix"}, {}


def _first_site(session: Session) -> str:
    return str(session.execute(text("SELECT min(ext_id) FROM service_site")).scalar_one())


NEW_INCIDENT = {
    "category_code": "chengguan.litter",
    "title": "矩阵测试",
    "lon": 104.105206,
    "lat": 30.640091,
    "crs": "wgs84",
}


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/health"): lambda s, r: ("/api/health", None, {}),
    ("GET", "/api/layers"): lambda s, r: ("/api/layers", None, {}),
    ("GET", "/api/layers/{layer}"): lambda s, r: ("/api/layers/communities?limit=2", None, {}),
    ("GET", "/api/search"): lambda s, r: ("/api/search?q=莲花", None, {}),
    ("GET", "/api/map-config"): lambda s, r: ("/api/map-config", None, {}),
    ("GET", "/api/grids/validate"): lambda s, r: ("/api/grids/validate", None, {}),
    ("GET", "/api/grids/generations"): lambda s, r: ("/api/grids/generations?limit=2", None, {}),
    ("GET", "/api/grids/generations/{generation_id}"): _get_generation,
    ("GET", "/api/grids/{code}"): _get_grid,
    ("PATCH", "/api/grids/{code}"): _patch_grid,
    ("POST", "/api/grids/changes/preview"): lambda s, r: (
        "/api/grids/changes/preview",
        {"operations": _rename_ops(s)},
        {},
    ),
    ("POST", "/api/grids/changes"): lambda s, r: ("/api/grids/changes", {"operations": _rename_ops(s)}, {}),
    ("GET", "/api/grids/changes"): lambda s, r: ("/api/grids/changes?limit=2", None, {}),
    ("GET", "/api/grids/changes/{change_set_id}"): _draft_url(""),
    ("PUT", "/api/grids/changes/{change_set_id}"): _put_draft,
    ("POST", "/api/grids/changes/{change_set_id}/save"): _draft_url("/save", {"confirm_warnings": True}),
    ("POST", "/api/grids/changes/{change_set_id}/rebase"): _draft_url("/rebase"),
    ("DELETE", "/api/grids/changes/{change_set_id}"): _draft_url(""),
    ("POST", "/api/grids/generations/{generation_id}/revert"): _revert,
    ("GET", "/api/grids/{code}/edges"): lambda s, r: (
        f"/api/grids/{_grid(s, '莲花社区')[0]}/edges",
        None,
        {},
    ),
    ("GET", "/api/grids/{code}/partition-proposal"): lambda s, r: (
        f"/api/grids/{_grid(s, '莲花社区')[0][:-3]}/partition-proposal",
        None,
        {},
    ),
    ("GET", "/api/grids/{code}/history"): lambda s, r: (
        f"/api/grids/{_grid(s, '莲花社区')[0]}/history",
        None,
        {},
    ),
    ("POST", "/api/auth/login"): lambda s, r: (
        "/api/auth/login",
        {"username": "patrol", "password": "patrol-demo"},
        {},
    ),
    ("POST", "/api/auth/logout"): lambda s, r: ("/api/auth/logout", None, {}),
    ("GET", "/api/auth/me"): lambda s, r: ("/api/auth/me", None, {}),
    ("POST", "/api/auth/tokens"): lambda s, r: ("/api/auth/tokens", {"name": "matrix"}, {}),
    ("GET", "/api/auth/tokens"): lambda s, r: ("/api/auth/tokens", None, {}),
    # an unknown id: 404 for the roles that may revoke tokens
    ("DELETE", "/api/auth/tokens/{token_id}"): lambda s, r: ("/api/auth/tokens/abcdef123456", None, {}),
    ("GET", "/api/users"): lambda s, r: ("/api/users", None, {}),
    ("POST", "/api/users"): lambda s, r: (
        "/api/users",
        {"username": f"new_{r}", "password": "long-enough", "role": "auditor"},
        {},
    ),
    ("PUT", "/api/users/{username}/state"): lambda s, r: ("/api/users/patrol/state", {"disabled": True}, {}),
    ("GET", "/api/audit"): lambda s, r: ("/api/audit?limit=5", None, {}),
    ("GET", "/api/locate"): lambda s, r: ("/api/locate?lon=104.105206&lat=30.640091&crs=wgs84", None, {}),
    ("GET", "/api/locate/places"): lambda s, r: ("/api/locate/places?q=莲花新区3栋", None, {}),
    ("GET", "/api/io/{layer}/export"): lambda s, r: ("/api/io/rivers/export?format=geojson", None, {}),
    ("POST", "/api/io/{layer}/import"): lambda s, r: ("/api/io/rivers/import", {"__file__": RIVER_FILE}, {}),
    ("POST", "/api/incidents/import"): lambda s, r: ("/api/incidents/import", {"__file__": HOTLINE_FILE}, {}),
    ("GET", "/api/incidents/meta"): lambda s, r: ("/api/incidents/meta", None, {}),
    ("GET", "/api/jobs"): lambda s, r: ("/api/jobs?limit=5", None, {}),
    ("GET", "/api/jobs/{job_id}"): lambda s, r: ("/api/jobs/1", None, {}),  # 404 unless one's own: allowed
    ("GET", "/api/incidents/duplicates"): lambda s, r: (
        "/api/incidents/duplicates?lon=104.105206&lat=30.640091&crs=wgs84&category=chengguan.litter",
        None,
        {},
    ),
    ("GET", "/api/incidents/overdue"): lambda s, r: ("/api/incidents/overdue?yellow=true", None, {}),
    ("GET", "/api/incidents/stats"): lambda s, r: ("/api/incidents/stats?by=category", None, {}),
    ("GET", "/api/incidents"): lambda s, r: ("/api/incidents?limit=5", None, {}),
    ("GET", "/api/incidents.csv"): lambda s, r: ("/api/incidents.csv?category=chengguan", None, {}),
    ("GET", "/api/incidents.geojson"): lambda s, r: (
        "/api/incidents.geojson?bbox=104.09,30.63,104.12,30.65",
        None,
        {},
    ),
    ("POST", "/api/incidents"): lambda s, r: ("/api/incidents", NEW_INCIDENT, {}),
    ("GET", "/api/incidents/{incident_id}"): lambda s, r: (f"/api/incidents/{_incident(s)}", None, {}),
    ("POST", "/api/incidents/{incident_id}/transitions"): _transition,
    ("PATCH", "/api/incidents/{incident_id}/location"): _move,
    ("GET", "/api/coverage/summary"): lambda s, r: (
        "/api/coverage/summary?level=community&worst=2",
        None,
        {},
    ),
    ("GET", "/api/coverage/buildings"): lambda s, r: ("/api/coverage/buildings?format=csv", None, {}),
    ("GET", "/api/coverage/service-areas"): lambda s, r: (
        "/api/coverage/service-areas?kind=centre&threshold=gb5",
        None,
        {},
    ),
    ("GET", "/api/coverage/gaps"): lambda s, r: ("/api/coverage/gaps?threshold=gb5", None, {}),
    ("POST", "/api/coverage/siting"): lambda s, r: (
        "/api/coverage/siting",
        {
            "k": 1,
            "threshold": "gb5",
            "candidates": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [104.1052, 30.6401]},
                    }
                ],
            },
        },
        {},
    ),
    ("POST", "/api/coverage/reports"): lambda s, r: (
        "/api/coverage/reports",
        {"format": "html", "threshold": "gb5"},
        {},
    ),
    ("GET", "/api/coverage/reports/{job_id}/file"): lambda s, r: (
        "/api/coverage/reports/999999/file",
        None,
        {},
    ),
    ("POST", "/api/coverage/what-if"): lambda s, r: (
        "/api/coverage/what-if",
        {"threshold": "gb5", "level": "community", "close": [_first_site(s)]},
        {},
    ),
}


def _routes() -> list[tuple[str, str, str | None, list[str]]]:
    """Every operation of the OpenAPI document with the policy it declares."""
    from gisgrid.config import DatabaseSettings, Settings

    app = create_app(Settings(db=DatabaseSettings(database_url="postgresql+psycopg2://x@127.0.0.1:1/x")))
    out = []
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            out.append((method.upper(), path, op.get("x-permission"), op.get("x-roles", [])))
    assert len(out) >= 15, "the OpenAPI document lost its routes"
    return out


ROUTES = _routes()


@pytest.mark.parametrize(
    ("method", "path", "permission", "roles"), ROUTES, ids=[f"{m} {p}" for m, p, *_ in ROUTES]
)
def test_every_route_declares_a_policy_and_has_a_sample(
    method: str, path: str, permission: str | None, roles: list[str]
) -> None:
    assert permission, f"{method} {path} declares no policy: add **policy(...) to the route"
    assert (method, path) in SAMPLES, f"{method} {path} has no sample request in this matrix"


def _expected(role: str, roles: list[str], method: str, path: str) -> set[int] | None:
    """None = allowed; otherwise the statuses a refusal may have."""
    effective = "planner" if role == "out_of_scope" else role
    if effective not in roles:
        return {401} if role == "anonymous" else {403}
    if role == "out_of_scope" and (method, path) in (
        ("PATCH", "/api/grids/{code}"),
        ("POST", "/api/io/{layer}/import"),
        ("POST", "/api/grids/changes/preview"),
        ("POST", "/api/grids/changes"),
        ("POST", "/api/grids/generations/{generation_id}/revert"),
    ):
        return {403}
    return None


@pytest.mark.parametrize("role", list(ROLE_USERS))
@pytest.mark.parametrize(
    ("method", "path", "permission", "roles"), ROUTES, ids=[f"{m} {p}" for m, p, *_ in ROUTES]
)
def test_route_role_matrix(
    client: TestClient, session: Session, method: str, path: str, permission: str, roles: list[str], role: str
) -> None:
    url, body, headers = SAMPLES[(method, path)](session, role)
    username = ROLE_USERS[role]
    if username:
        headers = {**headers, "Authorization": bearer(session, client, username)}
    if body and "__file__" in body:
        res = client.request(
            method, url, files={"file": ("rivers.geojson", body["__file__"])}, headers=headers
        )
    else:
        res = client.request(method, url, json=body, headers=headers)
    refused = _expected(role, roles, method, path)
    if refused is None:
        assert res.status_code not in (401, 403) and res.status_code < 500, (role, res.status_code, res.text)
    else:
        assert res.status_code in refused, (role, res.status_code, res.text)
        assert res.json()["error"]["code"] in ("unauthorized", "forbidden")


def test_the_pages_role_table_mirrors_the_api_policies() -> None:
    """web/src/lib/session.js hides what a role may not do; its table must say what the API enforces."""
    source = (Path(__file__).resolve().parents[2] / "web" / "src" / "lib" / "session.js").read_text(
        encoding="utf-8"
    )
    table = source.split("export const ACTION_ROLES = {", 1)[1].split("};", 1)[0]
    entries = dict(re.findall(r'"([a-z.]+)":\s*\[([^\]]*)\]', table))
    assert entries, "ACTION_ROLES not found"
    for permission, roles in entries.items():
        assert set(re.findall(r'"(\w+)"', roles)) == set(PERMISSIONS[permission]), permission
