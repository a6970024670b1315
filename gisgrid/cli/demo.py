"""`gisgrid demo …`: load the demo data set (with demo accounts and incidents) and generate data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gisgrid.cli.common import console, engine, progress_bar, session
from gisgrid.config import Settings

demo_app = typer.Typer(help="The demo data set (data/geo/) and its generator.")


@demo_app.command("load")
def demo_load(
    folder: Annotated[Path | None, typer.Option(help="data set folder (default: GISGRID_DEMO_DIR)")] = None,
    force: Annotated[bool, typer.Option("--force", help="reload even if unchanged")] = False,
    incidents: Annotated[
        bool, typer.Option("--incidents/--no-incidents", help="add demo incidents unless there are some")
    ] = True,
) -> None:
    """Load the demo data set, replacing all layers (skipped when the same files are already loaded); add the
    demo accounts and, once, demo incidents in every workflow stage."""
    from gisgrid.io.importer import load_dataset

    settings = Settings()
    with engine(settings) as eng, progress_bar("载入演示数据 Loading demo data") as update:
        result = load_dataset(
            eng, folder=folder or settings.data.demo_dir, if_changed=not force, progress=update
        )
    state = "loaded" if result.loaded else "already loaded (unchanged)"
    console.print(f"Demo data {state}: " + ", ".join(f"{k} {v}" for k, v in result.counts.items()))
    _demo_accounts()
    if incidents:
        _demo_incidents()


def _demo_incidents() -> None:
    from datetime import UTC, datetime

    from gisgrid.incidents import demo

    with session() as sess:
        made = demo.ensure(sess, now=datetime.now(UTC))
    if made is None:
        console.print("演示事件 Demo incidents: already there (kept)")
    else:
        console.print(
            f"演示事件 Demo incidents: {made} created (new, yellow, red, dispatched … closed, rejected)"
        )


def _demo_accounts() -> None:
    from gisgrid.auth.demo import ensure_demo_accounts

    with session() as sess:
        accounts = ensure_demo_accounts(sess)
    console.print("演示账户 Demo log-ins (user / password / role):")
    for username, role, password in accounts:
        console.print(f"  {username:<12} {password:<16} {role}")


@demo_app.command("generate")
def demo_generate(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("data/geo"),
    seed: Annotated[int, typer.Option(help="random seed (same seed, same files)")] = 7,
    scale: Annotated[str, typer.Option(help="niushikou (the demo) or city (benchmark scale)")] = "niushikou",
    subdistricts: Annotated[int | None, typer.Option(help="city scale: number of subdistricts")] = None,
) -> None:
    """Generate a synthetic data set deterministically."""
    from gisgrid.demo import generate

    with progress_bar("生成数据 Generating") as update:
        counts = generate(seed=seed, scale=scale, out_dir=out, subdistricts=subdistricts, progress=update)
    console.print(f"Wrote {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
