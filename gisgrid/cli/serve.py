"""`gisgrid serve`: the HTTP API and the web pages. The only command that imports the HTTP layer (api) and
uvicorn, inside the function, so that every other command starts without FastAPI."""

from __future__ import annotations

from typing import Annotated

import typer

from gisgrid.cli.common import console, session
from gisgrid.config import Settings
from gisgrid.errors import GisGridError


def serve_cmd(
    host: Annotated[str | None, typer.Option(help="listen address (default GISGRID_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default GISGRID_PORT)")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="allow accounts that still have demo passwords")
    ] = False,
) -> None:
    """Serve the API and the web pages (refuses demo passwords unless --demo)."""
    import uvicorn

    from api.app import create_app
    from gisgrid.auth.demo import accounts_with_demo_passwords

    settings = Settings()
    with session() as sess:
        weak = accounts_with_demo_passwords(sess)
    if weak and not demo:
        raise GisGridError(
            f"Accounts still have their demo passwords: {', '.join(weak)}.",
            expected="change them (gisgrid users set-password USER) or disable them, or start with --demo",
        )
    host, port = host or settings.server.host, port or settings.server.port
    console.print(f"gisgrid at http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
