"""The domain (gisgrid/, except the command line in gisgrid/cli/) imports no web or CLI framework: it can be used
from a job worker, a notebook or another app without FastAPI, starlette, typer or the HTTP package."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("fastapi", "starlette", "typer", "uvicorn", "api")
# The CLI is an adapter like the HTTP package; Alembic's env.py runs migrations when imported.
SKIPPED = ("gisgrid.cli", "gisgrid.db.migrations.env")

SCRIPT = """
import importlib, json, pathlib, sys
import gisgrid
forbidden, skipped = json.loads(sys.argv[1]), tuple(json.loads(sys.argv[2]))
root = pathlib.Path(gisgrid.__file__).parent
# Module names from the files (pkgutil.walk_packages would import the skipped packages to walk into them).
names = sorted(
    ".".join(("gisgrid", *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
    for path in root.rglob("*.py")
)
found, modules = {}, []
for name in names:
    if any(name == s or name.startswith(s + ".") for s in skipped):
        continue
    importlib.import_module(name)
    modules.append(name)
    for top in forbidden:
        if top not in found and any(m == top or m.startswith(top + ".") for m in sys.modules):
            found[top] = name
print(json.dumps({"modules": modules, "found": found}))
"""


def test_the_domain_imports_no_web_or_cli_framework() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(FORBIDDEN), json.dumps(SKIPPED)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert len(result["modules"]) > 50, result["modules"]  # the walk really imported the domain
    culprits = {top: f"first seen after importing {name}" for top, name in result["found"].items()}
    assert culprits == {}, culprits


def test_the_command_line_loads_the_http_layer_only_to_serve() -> None:
    """`gisgrid` starts without FastAPI or uvicorn: only `gisgrid serve` imports them, inside the command."""
    script = (
        "import json, sys, gisgrid.cli; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(FORBIDDEN) - {'typer'}!r})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
