"""The long runs that are jobs today: a layer file import and a 12345-hotline import (uploads of the API).

Their parameters name a file in its own folder under the upload directory (`upload_dir`); the worker removes the
folder once the job has finished for good. The result of each is what the synchronous route used to answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gisgrid.db.engine import session_scope
from gisgrid.jobs.queue import JobRun, handler

LAYER_IMPORT = "layer_import"
INCIDENT_IMPORT = "incident_import"


@handler(LAYER_IMPORT)
def layer_import(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    """Import a layer file, all or nothing; the data derived from the layer is rebuilt by jobs of its own."""
    from gisgrid.io.importer import import_file

    path = Path(params["path"])
    with session_scope(run.engine) as session:
        result = import_file(
            session,
            layer=params["layer"],
            path=path,
            crs=params.get("crs"),
            make_valid=bool(params.get("make_valid")),
            replace=bool(params.get("replace")),
            fmt=params.get("format"),
            progress=run.step,
            actor=run.actor(session),
            ip=params.get("ip"),
            reason=params.get("reason"),
            derived="queue",
            confirm_warnings=bool(params.get("confirm_warnings")),
            dry_run=bool(params.get("dry_run")),
            roads=bool(params.get("roads")),
        )
    return {
        "layer": result.layer,
        "format": result.format,
        "file": path.name,
        "imported": result.imported,
        "added": result.added,
        "updated": result.updated,
        "removed": result.removed,
        "derived_jobs": result.derived_jobs,
        "warnings": result.warnings,
        "dry_run": result.dry_run,
        **({"network": result.network} if result.network else {}),
    }


@handler(INCIDENT_IMPORT)
def incident_import(run: JobRun, params: dict[str, Any]) -> dict[str, Any]:
    """Import a 12345-hotline export: good rows in one transaction, bad rows in the error list."""
    from gisgrid.incidents.bulk_import import import_incidents, report

    with session_scope(run.engine) as session:
        result = import_incidents(
            session,
            path=Path(params["path"]),
            crs=params.get("crs"),
            fmt=params.get("format"),
            actor=run.actor(session),
            ip=params.get("ip"),
            progress=run.step,
        )
    return report(result)
