"""`gisgrid audit`: the audit trail, newest first."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gisgrid.cli.common import console, print_json, session


def audit_cmd(
    actor: Annotated[str | None, typer.Option(help="user name")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. update, login_failed, import")] = None,
    entity: Annotated[str | None, typer.Option(help="e.g. grid_unit, user")] = None,
    key: Annotated[str | None, typer.Option(help="e.g. a grid code")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the audit trail, newest first."""
    from rich.table import Table

    from gisgrid.auth import audit

    with session() as sess:
        rows, _ = audit.query(sess, actor=actor, action=action, entity=entity, key=key, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table("at", "actor", "role", "ip", "action", "entity", "key", "before", "after")
    for r in rows:
        table.add_row(
            r["at"][:19],
            r["actor"] or "",
            r["role"] or "",
            r["ip"] or "",
            r["action"],
            r["entity"],
            r["key"] or "",
            json.dumps(r["before"], ensure_ascii=False) if r["before"] else "",
            json.dumps(r["after"], ensure_ascii=False) if r["after"] else "",
        )
    console.print(table)
