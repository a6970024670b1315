"""`gisgrid users …`: accounts, passwords and API tokens."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gisgrid.cli.common import console, session
from gisgrid.config import Settings

users_app = typer.Typer(help="Accounts: roles, scopes, passwords, API tokens.", no_args_is_help=True)
USER_COLUMNS = ("username", "display_name", "role", "scope", "disabled", "locked", "last_login_at", "demo")


def _password(password: str | None) -> str:
    return password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, planner, dispatcher, auditor, grid_worker, patrol")],
    password: Annotated[str | None, typer.Option(help="asked for when not given")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="community code (repeatable); none = all")] = None,
) -> None:
    """Create an account."""
    from gisgrid.auth import accounts

    with session() as sess:
        accounts.create_user(
            sess,
            username=username,
            password=_password(password),
            role=role,
            display_name=name,
            scope=scope or [],
        )
    console.print(f"Created {username} ({role}).")


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List accounts."""
    from rich.table import Table

    from gisgrid.auth import accounts

    with session() as sess:
        rows = accounts.list_users(sess)
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("user", "name", "role", "scope", "disabled", "locked", "last log-in", "demo")
    for r in rows:
        table.add_row(*(str(r[k]) for k in USER_COLUMNS))
    console.print(table)


@users_app.command("disable")
def users_disable(
    username: str, enable: Annotated[bool, typer.Option("--enable", help="enable again")] = False
) -> None:
    """Disable an account (ending its sessions and tokens), or enable it again."""
    from gisgrid.auth import accounts

    with session() as sess:
        accounts.set_disabled(sess, username=username, disabled=not enable)
    console.print(f"{username} {'enabled' if enable else 'disabled'}.")


@users_app.command("set-password")
def users_set_password(
    username: str, password: Annotated[str | None, typer.Option(help="asked for when not given")] = None
) -> None:
    """Set a new password (ends the account's web sessions, clears a lock-out)."""
    from gisgrid.auth import accounts

    with session() as sess:
        accounts.set_password(sess, username=username, password=_password(password))
    console.print(f"Password of {username} changed.")


@users_app.command("token")
def users_token(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    days: Annotated[int, typer.Option(help="lifetime in days", min=1, max=366)] = 90,
) -> None:
    """Create an API bearer token for an account and print it (shown once)."""
    from datetime import timedelta

    from gisgrid.auth import accounts

    settings = Settings()
    with session() as sess:
        user = accounts.get_user(sess, username)
        issued = accounts.issue(
            sess,
            user=user,
            kind="token",
            secret=accounts.load_secret(settings.auth.secret_key_file),
            ttl=timedelta(days=days),
            name=name,
        )
    console.print(issued.token, soft_wrap=True)


@users_app.command("tokens")
def users_tokens(
    username: Annotated[str | None, typer.Argument(help="one account (default: every account)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List API tokens (never the tokens themselves), newest first."""
    from rich.table import Table

    from gisgrid.auth import accounts

    with session() as sess:
        tokens = accounts.list_tokens(sess, username=username)
    if as_json:
        rows = [t.public() for t in tokens]  # the same fields as GET /api/auth/tokens
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "user", "name", "created", "expires", "last used", "state")
    for t in tokens:
        state = "active" if t.active else ("revoked" if t.revoked_at else "expired")
        table.add_row(
            t.id,
            t.username,
            t.name or "",
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.expires_at:%Y-%m-%d}",
            f"{t.last_seen_at:%Y-%m-%d %H:%M}" if t.last_seen_at else "",
            state,
        )
    console.print(table)


@users_app.command("revoke-token")
def users_revoke_token(
    token_id: Annotated[str, typer.Argument(help="the id shown by `gisgrid users tokens`")],
) -> None:
    """Revoke one API token at once."""
    from gisgrid.auth import accounts

    with session() as sess:
        token = accounts.revoke_token(sess, token_id=token_id, actor=None)
    console.print(f"Token {token.id} of {token.username} ({token.name or '—'}) revoked.")
