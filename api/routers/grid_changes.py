"""Boundary edits: change sets (draft, preview, save, rebase, cancel), reverts, a grid's shared edges and history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status

from api.deps import PrincipalDep, SessionDep, SettingsDep, client_ip, policy
from api.schemas.grids import (
    ChangePreview,
    ChangeSetIn,
    ChangeSetOut,
    ChangeSetPage,
    GridEdges,
    GridVersion,
    PartitionProposal,
    RevertIn,
    SaveIn,
)
from gisgrid.auth.policy import Principal
from gisgrid.config import Settings
from gisgrid.grids import changesets, partition

router = APIRouter(prefix="/api/grids", tags=["grid edits"])

CodePath = Annotated[str, Path(max_length=32, pattern=r"^[0-9A-Za-z-]+$")]
IdPath = Annotated[int, Path(ge=1, le=2**62)]
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "a grid outside the caller's scope, or another planner's draft"},
    404: {"description": "no such grid, place, worker, generation or change set"},
    409: {
        "description": "a grid changed since the draft was made (details.stale: who, when, why), or the "
        "draft is no longer a draft"
    },
    422: {
        "description": "the operations break a rule (details.rule, details.location: where, "
        "details.issues) or warnings are not confirmed"
    },
}
OPS_DOC = (
    "Operations, applied in order: `reshape` (move the edge two micro-grids share), `split` (cut a micro-grid "
    "along a line; new codes), `merge` (adjacent micro-grids of one general grid), `move_place` (a compound or "
    "building into the neighbouring micro-grid), `move_grid` (a micro-grid to a neighbouring general grid, a "
    "general grid to a neighbouring community; new codes), `rename`, `assign_worker`, `restore` (a revert). "
    "Checked on the affected neighbourhood: no gap, overlap or sliver, every grid inside its parent, no compound "
    "or building cut in two; households and population follow the buildings and are conserved. Household "
    "ranges, micro-grids without a worker and workers left without a grid are warnings."
)


def _ctx(principal: Principal, settings: Settings, request: Request | None = None) -> changesets.Context:
    return changesets.Context(
        actor=principal,
        rules=settings.grid_rules,
        srid=settings.geo.metric_srid,
        ip=client_ip(request) if request is not None else None,
    )


def _ops(body: ChangeSetIn) -> list[dict[str, Any]]:
    return [op.model_dump(exclude_none=True) for op in body.operations]


@router.post(
    "/changes/preview",
    summary="预览变更 Preview boundary edits",
    description="Applies the operations in memory, checks them and answers their impact — per grid households, "
    "population and area before and after with both shapes, compounds and buildings changing grid, workers' "
    "grids and load, open incidents in the area changing grid (they keep their grid), grids whose coverage "
    "figures change, warnings — without keeping anything. " + OPS_DOC,
    response_model=ChangePreview,
    responses=REFUSALS,
    **policy("grids.edit"),
)
def preview_changes(
    body: ChangeSetIn, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return changesets.preview(session, _ops(body), _ctx(principal, settings))


@router.post(
    "/changes",
    summary="新建变更草稿 Draft boundary edits",
    description="Checks the operations (422 with the rule and where, when they break one) and keeps them as a "
    "draft with their preview and the version of every grid they change. Drafts lock nothing. " + OPS_DOC,
    response_model=ChangeSetOut,
    status_code=status.HTTP_201_CREATED,
    responses=REFUSALS,
    **policy("grids.edit"),
)
def create_change_set(
    body: ChangeSetIn, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    cs = changesets.create(session, operations=_ops(body), reason=body.reason, ctx=_ctx(principal, settings))
    return changesets.view(cs)


@router.get(
    "/changes",
    summary="变更列表 Change sets",
    description="Drafts, saved and cancelled change sets, newest first; `code` keeps those that change that grid.",
    response_model=ChangeSetPage,
    **policy("grids.history"),
)
def list_change_sets(
    session: SessionDep,
    status_: Annotated[Literal["draft", "saved", "cancelled"] | None, Query(alias="status")] = None,
    code: Annotated[str | None, Query(max_length=32, pattern=r"^[0-9A-Za-z-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    total, rows = changesets.list_change_sets(session, status=status_, code=code, limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "items": [changesets.view(r) for r in rows]}


@router.get(
    "/changes/{change_set_id}",
    summary="一个变更 One change set",
    description="A change set with its operations, the versions it started from and its preview.",
    response_model=ChangeSetOut,
    responses={404: REFUSALS[404]},
    **policy("grids.history"),
)
def get_change_set(
    change_set_id: IdPath, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return changesets.view(changesets.get(session, change_set_id, ctx=_ctx(principal, settings)))


@router.put(
    "/changes/{change_set_id}",
    summary="修改草稿 Replace a draft's operations",
    description="The whole list of operations again (the page's undo/redo), checked like a new draft; `version` "
    "is the draft's version you edited (409 when it moved on). Grids the draft already read keep the version "
    "they had then. " + OPS_DOC,
    response_model=ChangeSetOut,
    responses=REFUSALS,
    **policy("grids.edit"),
)
def update_change_set(
    change_set_id: IdPath,
    body: ChangeSetIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    cs = changesets.update_draft(
        session,
        change_set_id,
        operations=_ops(body),
        reason=body.reason,
        expected_version=body.version,
        ctx=_ctx(principal, settings),
    )
    return changesets.view(cs)


@router.post(
    "/changes/{change_set_id}/save",
    summary="保存变更 Save a draft",
    description="Locks the draft's grids, refuses (409, with who changed which grid when and why) if any changed "
    "since the draft, applies and checks the operations again, refuses errors, asks for `confirm_warnings` when "
    "there are warnings (422), and saves everything as one grid generation in one transaction (old versions "
    "stay readable with `at=`), audited with before and after.",
    response_model=ChangeSetOut,
    responses=REFUSALS,
    **policy("grids.edit"),
)
def save_change_set(
    change_set_id: IdPath,
    body: SaveIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    cs = changesets.save(
        session,
        change_set_id,
        confirm_warnings=body.confirm_warnings,
        expected_version=body.version,
        ctx=_ctx(principal, settings, request),
    )
    return changesets.view(cs)


@router.post(
    "/changes/{change_set_id}/rebase",
    summary="基于最新状态重算草稿 Rebase a draft on the current grids",
    description="After a conflict: the draft's operations are checked again on the current state and the "
    "versions it starts from are taken anew (422 when they no longer fit).",
    response_model=ChangeSetOut,
    responses=REFUSALS,
    **policy("grids.edit"),
)
def rebase_change_set(
    change_set_id: IdPath, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return changesets.view(changesets.rebase(session, change_set_id, ctx=_ctx(principal, settings)))


@router.delete(
    "/changes/{change_set_id}",
    summary="取消草稿 Cancel a draft",
    description="The draft stays listed, as cancelled.",
    response_model=ChangeSetOut,
    responses=REFUSALS,
    **policy("grids.edit"),
)
def cancel_change_set(
    change_set_id: IdPath, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return changesets.view(changesets.cancel(session, change_set_id, ctx=_ctx(principal, settings)))


@router.post(
    "/generations/{generation_id}/revert",
    summary="撤销一个网格版本 Revert a generation",
    description="A draft change set restoring the state before the generation: the grids it ended come back, "
    "the grids it began retire, attribute edits are undone, workers' grids go back. Refused (422) when a grid "
    "it began changed since (revert the later generation first). Save it like any draft.",
    response_model=ChangeSetOut,
    status_code=status.HTTP_201_CREATED,
    responses=REFUSALS,
    **policy("grids.edit"),
)
def revert_generation(
    generation_id: IdPath, body: RevertIn, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    cs = changesets.revert(
        session, generation_id=generation_id, reason=body.reason, ctx=_ctx(principal, settings)
    )
    return changesets.view(cs)


@router.get(
    "/{code}/edges",
    summary="共享边 A grid's shared edges",
    description="The grid's outline and, per neighbour of the same level, the edges they share (one line each: "
    "the map's edit handles), with whether the caller may move them.",
    response_model=GridEdges,
    responses={404: REFUSALS[404]},
    **policy("grids.history"),
)
def grid_edges(code: CodePath, session: SessionDep, principal: PrincipalDep, settings: SettingsDep) -> dict:
    return changesets.edges(session, code=code, ctx=_ctx(principal, settings))


@router.get(
    "/{code}/history",
    summary="网格历史 A grid's versions",
    description="Every version of a code, newest first: when it was in force, the generation that began it "
    "(who, source, why), its figures and its shape.",
    response_model=list[GridVersion],
    responses={404: REFUSALS[404]},
    **policy("grids.history"),
)
def grid_history(
    code: CodePath, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    return changesets.history(session, code=code, limit=limit)


@router.get(
    "/{code}/partition-proposal",
    summary="自动划分建议 Propose micro-grids for a general grid",
    description="Groups the general grid's compounds into micro-grids of GISGRID_MICRO_MIN_HOUSEHOLDS to "
    "GISGRID_MICRO_MAX_HOUSEHOLDS households by max-p-regions (spopt) on the contiguity graph of the compounds' "
    "regions (the area nearer to each compound than to any other: borders along street midlines, no compound "
    "cut), compact and contiguous. Answers the proposal with its figures beside the current division's, and the "
    "`partition` operation to draft (`POST /api/grids/changes`), possibly after moving compounds between parts. "
    "Nothing is saved. `seed` makes the heuristic repeatable.",
    response_model=PartitionProposal,
    responses={
        404: REFUSALS[404],
        403: REFUSALS[403],
        422: {"description": "not a general grid, or no compound"},
    },
    **policy("grids.edit"),
)
def partition_proposal(
    code: CodePath,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> dict[str, Any]:
    return partition.propose(
        session,
        code=code,
        actor=principal,
        rules=settings.grid_rules,
        srid=settings.geo.metric_srid,
        seed=seed,
    )
