"""The `gisgrid` command: one module per command group, assembled here.

    db          gisgrid/cli/db.py         the PostGIS cluster and the schema
    demo        gisgrid/cli/demo.py       the demo data set and the generator
    import      gisgrid/cli/files.py      layer files in (and `export` out)
    validate    gisgrid/cli/validate.py   grid topology rules
    grids       gisgrid/cli/grids.py      grid generations (who changed the grids when, and why)
    locate      gisgrid/cli/locate.py     the grid answer for one point
    audit       gisgrid/cli/audit.py      the audit trail
    serve       gisgrid/cli/serve.py      the HTTP API and the web pages (the only import of `api`)
    users       gisgrid/cli/users.py      accounts and tokens
    backup, restore, db standby  gisgrid/cli/ops.py  backups, point-in-time restore, the hot standby
    incidents   gisgrid/cli/incidents.py  incidents: list, show, statistics, hotline import
    jobs        gisgrid/cli/jobs.py       the job worker; list, show and cancel jobs
    coverage    gisgrid/cli/coverage.py   walking coverage of the service sites: summary, buildings, gaps

Shared helpers (consoles, error printing, engine and session from the settings) are in gisgrid/cli/common.py.
"""

from __future__ import annotations

import sys

import typer

from gisgrid.cli import audit, files, locate, serve, validate
from gisgrid.cli.common import print_error
from gisgrid.cli.coverage import coverage_app
from gisgrid.cli.db import db_app
from gisgrid.cli.demo import demo_app
from gisgrid.cli.grids import grids_app
from gisgrid.cli.incidents import incidents_app
from gisgrid.cli.jobs import jobs_app
from gisgrid.cli.ops import backup_cmd, restore_cmd, standby_app
from gisgrid.cli.users import users_app
from gisgrid.errors import GisGridError

app = typer.Typer(help="gisgrid — 微网实格 grid management on PostGIS.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(incidents_app, name="incidents")
app.add_typer(grids_app, name="grids")
app.add_typer(jobs_app, name="jobs")
app.add_typer(coverage_app, name="coverage")
app.command("import")(files.import_cmd)
app.command("export")(files.export_cmd)
app.command("validate")(validate.validate_cmd)
app.command("locate")(locate.locate_cmd)
app.command("audit")(audit.audit_cmd)
app.command("serve")(serve.serve_cmd)
app.command("backup")(backup_cmd)
app.command("restore")(restore_cmd)
db_app.add_typer(standby_app, name="standby")


def main() -> None:
    """Entry point: domain errors become a clear message and exit code 2, never a traceback."""
    try:
        app()
    except GisGridError as exc:
        print_error(exc)
        sys.exit(2)
