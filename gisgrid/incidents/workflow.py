"""The incident workflow as one table: which action moves which status to which, and which role may take it.

    上报 reported ─file→ 立案 filed ─dispatch→ 派遣 dispatched ─start→ 处置 handling ─report→ 反馈 handled
        ─verify→ 核查 verified ─close→ 结案 closed
    return  退回: any of filed … verified goes back one step on the main line (a reason is required)
    reject  不予立案: reported or filed → rejected (a reason is required)
    escalate 升级: the status stays, the level rises micro → grid → subdistrict → department (网格呼叫、街道处置、
             部门报到); at department level a named department must be given and `start`/`report` record the
             department checking in and reporting back.

Roles: the dispatch centre (dispatcher, admin) files, dispatches, verifies, closes, returns and rejects, and
escalates to subdistrict or department. Whoever handles at the incident's level starts and reports: grid
workers at micro and grid level (only in their own grids: that is checked by visibility), the dispatch centre
at subdistrict and department level. Grid workers escalate one level at a time, micro → grid → subdistrict.
Admin may do everything. Escalation does not restart the step's clock: it is no way to buy time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gisgrid.db.models import INCIDENT_LEVELS
from gisgrid.errors import Conflict, Forbidden, InvalidInput

MAIN_LINE = ("reported", "filed", "dispatched", "handling", "handled", "verified", "closed")
FINAL = ("closed", "rejected")
OPEN = MAIN_LINE[:-1]
DISPATCH = frozenset({"admin", "dispatcher"})

STATUS_LABELS = {
    "reported": "上报 reported",
    "filed": "立案 filed",
    "dispatched": "派遣 dispatched",
    "handling": "处置中 handling",
    "handled": "已反馈 handled",
    "verified": "已核查 verified",
    "closed": "结案 closed",
    "rejected": "不予立案 rejected",
}
LEVEL_LABELS = {
    "micro": "微网格 micro-grid worker",
    "grid": "网格 grid worker",
    "subdistrict": "街道 subdistrict dispatch centre",
    "department": "部门 department",
}
# The step whose clock runs while an incident is in a status (keys of incident_category.step_hours).
STEP_OF_STATUS = {
    "reported": "file",
    "filed": "dispatch",
    "dispatched": "start",
    "handling": "handle",
    "handled": "verify",
    "verified": "close",
}
# Who handles (start, report) at each level.
HANDLERS = {
    "micro": frozenset({"admin", "grid_worker"}),
    "grid": frozenset({"admin", "grid_worker"}),
    "subdistrict": DISPATCH,
    "department": DISPATCH,
}
# Levels each role may escalate to; grid workers only to the next level up.
ESCALATE_TO = {
    "admin": INCIDENT_LEVELS[1:],
    "dispatcher": ("subdistrict", "department"),
    "grid_worker": ("grid", "subdistrict"),
}


@dataclass(frozen=True)
class Transition:
    """One row of the workflow table."""

    action: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: `return` goes one step back, `escalate` keeps the status
    roles: frozenset[str] | None  # None: whoever handles at the incident's level (HANDLERS)
    needs_reason: bool = False


TABLE: tuple[Transition, ...] = (
    Transition("file", "立案 file", ("reported",), "filed", DISPATCH),
    Transition("dispatch", "派遣 dispatch", ("filed",), "dispatched", DISPATCH),
    Transition("start", "开始处置 start handling", ("dispatched",), "handling", None),
    Transition("report", "处置反馈 report back", ("handling",), "handled", None),
    Transition("verify", "核查 verify", ("handled",), "verified", DISPATCH),
    Transition("close", "结案 close", ("verified",), "closed", DISPATCH),
    Transition("return", "退回 return one step", MAIN_LINE[1:6], None, DISPATCH, needs_reason=True),
    Transition("reject", "不予立案 reject", ("reported", "filed"), "rejected", DISPATCH, needs_reason=True),
    Transition("escalate", "升级 escalate", OPEN[:4], None, frozenset(ESCALATE_TO)),
)
TRANSITIONS = {t.action: t for t in TABLE}
ACTIONS = tuple(TRANSITIONS)


def get(action: str) -> Transition:
    """The table row of an action, or InvalidInput listing the actions."""
    if action not in TRANSITIONS:
        raise InvalidInput(
            f"未知操作 Unknown action {action!r}.", field="action", value=action, expected=", ".join(ACTIONS)
        )
    return TRANSITIONS[action]


def target_status(t: Transition, status: str) -> str:
    """The status an incident in `status` has after the transition."""
    if t.action == "return":
        return MAIN_LINE[MAIN_LINE.index(status) - 1]
    return t.target or status


def roles_for(t: Transition, level: str) -> frozenset[str]:
    """The roles that may take the transition on an incident at `level`."""
    return HANDLERS[level] if t.roles is None else t.roles


def escalation_targets(role: str, level: str) -> tuple[str, ...]:
    """The levels `role` may escalate an incident at `level` to."""
    higher = INCIDENT_LEVELS[INCIDENT_LEVELS.index(level) + 1 :]
    allowed = tuple(lv for lv in higher if lv in ESCALATE_TO.get(role, ()))
    if role == "grid_worker":
        return allowed[:1] if allowed and allowed[0] == higher[0] else ()
    return allowed


def check(t: Transition, *, status: str, level: str, role: str, to_level: str | None = None) -> None:
    """Raise Conflict when the status does not allow the action, Forbidden when the role may not take it."""
    if status not in t.sources:
        raise Conflict(
            f"当前状态 {STATUS_LABELS[status]} 不能{t.label}: the incident is {status}.",
            field="action",
            value=t.action,
            expected="an action allowed now: " + (", ".join(actions_for_status(status)) or "none"),
            details={"status": status},
        )
    roles = roles_for(t, level)
    if role not in roles:
        raise Forbidden(
            f"角色 {role} 不能{t.label} at level {level}.",
            field="role",
            value=role,
            expected="one of: " + ", ".join(sorted(roles)),
        )
    if t.action == "escalate":
        _check_escalation(role=role, level=level, to_level=to_level)


def _check_escalation(*, role: str, level: str, to_level: str | None) -> None:
    targets = escalation_targets(role, level)
    if to_level is None or to_level not in targets:
        raise (Forbidden if not targets else InvalidInput)(
            f"不能升级到 Cannot escalate from {level} to {to_level}.",
            field="level",
            value=to_level,
            expected="one of: " + (", ".join(targets) or f"none for role {role} at level {level}"),
        )


def actions_for_status(status: str) -> list[str]:
    """Actions the status allows, whoever asks."""
    return [t.action for t in TABLE if status in t.sources]


def allowed_actions(*, status: str, level: str, role: str) -> list[dict[str, Any]]:
    """What `role` may do now to an incident in `status` at `level`, for the detail page's buttons."""
    out: list[dict[str, Any]] = []
    for t in TABLE:
        if status not in t.sources or role not in roles_for(t, level):
            continue
        item: dict[str, Any] = {"action": t.action, "label": t.label, "needs_reason": t.needs_reason}
        if t.action == "escalate":
            item["levels"] = list(escalation_targets(role, level))
            if not item["levels"]:
                continue
        else:
            item["to_status"] = target_status(t, status)
        out.append(item)
    return out


def describe() -> list[dict[str, Any]]:
    """The table as data (for the API and the CLI)."""
    return [
        {
            "action": t.action,
            "label": t.label,
            "from": list(t.sources),
            "to": t.target or ("previous" if t.action == "return" else "unchanged"),
            "roles": sorted(t.roles) if t.roles is not None else {k: sorted(v) for k, v in HANDLERS.items()},
            "needs_reason": t.needs_reason,
        }
        for t in TABLE
    ]
