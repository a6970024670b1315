"""`gisgrid grids generations`: the grid generations (imports, the demo load, edits), newest first."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gisgrid.cli.common import console, print_json, session

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gisgrid.auth.policy import Principal
    from gisgrid.grids.changesets import Context

grids_app = typer.Typer(
    help="Grid boundaries: edits as change sets (edit, save, revert, changes) and their generations.",
    no_args_is_help=True,
)


@grids_app.command("generations")
def generations_cmd(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List grid generations (imports, the demo load, edits), newest first: who, when, why, counts."""
    from gisgrid.grids.generations import list_generations

    with session() as sess:
        items = [asdict(g) for g in list_generations(sess, limit=limit).items]
    if as_json:
        print_json(items)
        return
    for g in items:
        console.print(
            f"{g['id']:>5}  {g['created_at']:%Y-%m-%d %H:%M}  {g['source']:<6}  {g['created_by'] or 'system':<12}"
            f"  +{g['units_added']} ~{g['units_changed']} -{g['units_retired']}  {g['reason'] or ''}",
            markup=False,
        )


def _actor(sess: Session, username: str | None) -> Principal:
    """The account the edit is made as (its role and scope apply), or the server's operator (admin rights,
    recorded as the system)."""
    from gisgrid.auth import accounts
    from gisgrid.auth.policy import Principal

    if username is None:
        return Principal(username="cli", display_name="命令行 command line", role="admin")
    return accounts.principal_of(accounts.get_user(sess, username))


def _context(sess: Session, username: str | None) -> Context:
    from gisgrid.config import Settings
    from gisgrid.grids.changesets import Context

    settings = Settings()
    return Context(
        actor=_actor(sess, username),
        rules=settings.grid_rules,
        srid=settings.geo.metric_srid,
    )


def _show(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(view)
        return
    preview = view.get("preview") or {}
    console.print(
        f"变更 change set {view['id']}: {view['status']} (version {view['version']})"
        + (f", generation {view['generation_id']}" if view.get("generation_id") else "")
    )
    for unit in preview.get("units", []):
        console.print(
            f"  {unit['change']:<8} {unit['code']}  {unit['name']}  households {unit['households_before']} → "
            f"{unit['households_after']}  area m² {unit['area_m2_before']} → {unit['area_m2_after']}"
            + (f"  → {unit['new_code']}" if unit.get("new_code") else ""),
            markup=False,
        )
    for place in preview.get("compounds", []):
        console.print(f"  小区 compound {place['ext_id']} {place['name']}: {place['from']} → {place['to']}")
    for worker in preview.get("workers", []):
        console.print(
            f"  网格员 worker {worker['ext_id']} {worker['name']}: {', '.join(worker['grids_before'])}"
            f" → {', '.join(worker['grids_after']) or '(none)'}"
        )
    if preview.get("incidents_total"):
        console.print(
            f"  案件 {preview['incidents_total']} open incident(s) in the changed area (they keep their grid)"
        )
    for warning in preview.get("warnings", []):
        console.print(f"  警告 warning: {warning['title']}: {warning['detail']}")


@grids_app.command("edit")
def edit_cmd(
    path: Annotated[Path, typer.Argument(help="JSON: a list of operations, or {operations, reason}")],
    reason: Annotated[str | None, typer.Option(help="why (kept with the generation)")] = None,
    save: Annotated[
        bool, typer.Option("--save", help="save at once (else the draft stays for the page)")
    ] = False,
    confirm_warnings: Annotated[bool, typer.Option("--confirm-warnings", help="accept the warnings")] = False,
    as_user: Annotated[
        str | None, typer.Option("--as", help="act as this account (its scope applies)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Draft boundary edits from a file (the operations of POST /api/grids/changes), show their impact, and
    with --save save them as one generation."""
    from gisgrid.files.geojson import read_json
    from gisgrid.grids import changesets

    data = read_json(
        path, expected='[{"op": "reshape", …}, …] or {"operations": [...], "reason": "…"}', kind="JSON"
    )
    operations = data.get("operations") if isinstance(data, dict) else data
    reason = reason or (data.get("reason") if isinstance(data, dict) else None)
    with session() as sess:
        ctx = _context(sess, as_user)
        cs = changesets.create(sess, operations=operations, reason=reason, ctx=ctx)
        if save:
            cs = changesets.save(
                sess, cs.id, confirm_warnings=confirm_warnings, expected_version=None, ctx=ctx
            )
        _show(changesets.view(cs), as_json)


@grids_app.command("save")
def save_cmd(
    change_set: Annotated[int, typer.Argument(help="the draft's id", min=1)],
    confirm_warnings: Annotated[bool, typer.Option("--confirm-warnings", help="accept the warnings")] = False,
    as_user: Annotated[str | None, typer.Option("--as", help="act as this account")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Save a draft change set (refused when its grids changed meanwhile: rebase it on the page or redo it)."""
    from gisgrid.grids import changesets

    with session() as sess:
        ctx = _context(sess, as_user)
        cs = changesets.save(
            sess, change_set, confirm_warnings=confirm_warnings, expected_version=None, ctx=ctx
        )
        _show(changesets.view(cs), as_json)


@grids_app.command("revert")
def revert_cmd(
    generation: Annotated[int, typer.Argument(help="the generation to undo", min=1)],
    reason: Annotated[str | None, typer.Option(help="why")] = None,
    save: Annotated[bool, typer.Option("--save", help="save at once")] = False,
    confirm_warnings: Annotated[bool, typer.Option("--confirm-warnings", help="accept the warnings")] = False,
    as_user: Annotated[str | None, typer.Option("--as", help="act as this account")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Draft (and with --save save) the change set that restores the state before a generation."""
    from gisgrid.grids import changesets

    with session() as sess:
        ctx = _context(sess, as_user)
        cs = changesets.revert(sess, generation_id=generation, reason=reason, ctx=ctx)
        if save:
            cs = changesets.save(
                sess, cs.id, confirm_warnings=confirm_warnings, expected_version=None, ctx=ctx
            )
        _show(changesets.view(cs), as_json)


@grids_app.command("changes")
def changes_cmd(
    status: Annotated[str | None, typer.Option(help="draft, saved or cancelled")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List change sets (boundary edits), newest first."""
    from gisgrid.grids import changesets

    with session() as sess:
        _, rows = changesets.list_change_sets(sess, status=status, limit=limit)
        items = [changesets.view(r) for r in rows]
    if as_json:
        print_json(items)
        return
    for cs in items:
        ops = ", ".join(str(o.get("op")) for o in cs["operations"])
        console.print(
            f"{cs['id']:>5}  {cs['created_at'][:16]}  {cs['status']:<9}  {cs['created_by'] or '':<12}"
            f"  {ops}  {cs['reason'] or ''}",
            markup=False,
        )


@grids_app.command("partition")
def partition_cmd(
    code: Annotated[str, typer.Argument(help="a general grid's code")],
    seed: Annotated[int, typer.Option(min=0, help="the heuristic's seed (repeatable proposals)")] = 0,
    save: Annotated[bool, typer.Option("--save", help="draft the proposal and save it")] = False,
    confirm_warnings: Annotated[bool, typer.Option("--confirm-warnings", help="accept the warnings")] = False,
    reason: Annotated[str | None, typer.Option(help="why (with --save)")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="act as this account")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Propose micro-grids of 30–100 households for a general grid (max-p-regions on its compounds), with the
    figures of the proposal and of the current division; --save saves it as a change set."""
    from gisgrid.grids import changesets, partition

    with session() as sess:
        ctx = _context(sess, as_user)
        proposal = partition.propose(
            sess, code=code, actor=ctx.actor, rules=ctx.rules, srid=ctx.srid, seed=seed
        )
        saved = None
        if save:
            cs = changesets.create(sess, operations=proposal["operations"], reason=reason, ctx=ctx)
            saved = changesets.view(
                changesets.save(
                    sess, cs.id, confirm_warnings=confirm_warnings, expected_version=None, ctx=ctx
                )
            )
    if as_json:
        print_json({"proposal": proposal, "change_set": saved})
        return
    for label, figures in (
        ("现状 current", proposal["current_figures"]),
        ("建议 proposed", proposal["figures"]),
    ):
        console.print(
            f"{label}: {figures['micro_grids']} micro-grids, households {figures['households_min']}–"
            f"{figures['households_max']} (sd {figures['households_stdev']}), {figures['out_of_range']} out of "
            f"range, compactness {figures['compactness_mean']}, {figures['compounds_cut']} compound(s) cut"
        )
    for i, part in enumerate(proposal["parts"], 1):
        names = ", ".join(c["name"] for c in part["compounds"])
        console.print(f"  {i:>2}. {part['households']:>4} households  {names}", markup=False)
    for warning in proposal["warnings"]:
        console.print(f"  警告 warning: {warning}", markup=False)
    if saved:
        _show(saved, False)
