"""Bulk import of 12345-hotline exports (CSV, XLSX, GeoJSON) into incidents, set-based in PostGIS.

The file is read and checked row by row in Python (vectorised), the good rows are converted to WGS 84 once and
COPYed into a TEMP staging table, and every row is assigned in one statement (bulk_assign.sql: the micro-grid
generation in force at reported_at, the same rule as the single-point assign.sql). Bad rows and points outside
every micro-grid go to an error list with their original row number and values; ext_ids already imported are
skipped. Everything happens in the caller's transaction: the whole import commits or nothing does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.auth import audit
from gisgrid.auth.policy import Principal, require
from gisgrid.db import copy, sql
from gisgrid.errors import Forbidden
from gisgrid.files.csvsafe import neutralise_frame
from gisgrid.incidents.bulk_read import Table, detect, read_table
from gisgrid.incidents.bulk_rows import Categories, check_rows
from gisgrid.incidents.workflow import STEP_OF_STATUS
from gisgrid.io.source_crs import SourceCRS, resolve_crs

Progress = Callable[[str, int, int], None]
Plan = Literal["auto", "polygon", "point"]
PLANS: dict[str, str] = {"polygon": "bulk_assign.sql", "point": "bulk_assign_point.sql"}
STAGES = ("读取 read", "检查 check", "写入临时表 copy", "分配网格 assign", "入库 insert")
STAGING_COLUMNS = (
    "ext_id",
    "category_code",
    "title",
    "description",
    "channel",
    "address",
    "input_crs",
    "input_lon",
    "input_lat",
    "lon",
    "lat",
    "reported_at",
)
NULLABLE = ("description", "address")
COPY_CHUNK = 200_000
# On the city-scale set (benchmarks/results/incidents.md) polygon-driven costs ~9 µs per micro-grid and compound
# plus ~8 µs per point, point-driven ~50 µs per point: the polygons win from about 0.4 points per micro-grid.
POLYGON_SHARE = 0.4
ERROR_HEAD = ("行号 row", "工单编号 ext_id", "错误原因 reason")


@cache
def _sql(name: str) -> sql.Statement:
    return sql.load(__file__, name)


@dataclass
class ImportResult:
    """What an import did: counts, the bad rows (row number, ext_id, reason, original values), timings."""

    file: str
    format: str
    crs: str
    rows: int
    plan: str = ""
    imported: int = 0
    skipped: int = 0
    errors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ERROR_HEAD)))
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The counts as a plain dict (for the CLI and the API)."""
        return {
            "file": self.file,
            "format": self.format,
            "crs": self.crs,
            "rows": self.rows,
            "imported": self.imported,
            "skipped": self.skipped,
            "errors": len(self.errors),
        }


class _Stopwatch:
    def __init__(self, progress: Progress) -> None:
        self.seconds: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, number: int) -> Iterator[None]:
        self.progress(STAGES[number], number, len(STAGES))
        start = time.perf_counter()
        yield
        self.seconds[STAGES[number].split()[-1]] = round(time.perf_counter() - start, 3)


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def import_incidents(
    session: Session,
    *,
    path: Path,
    crs: str | None = None,
    fmt: str | None = None,
    actor: Principal | None = None,
    ip: str | None = None,
    now: datetime | None = None,
    plan: Plan = "auto",
    progress: Progress | None = None,
) -> ImportResult:
    """Import a hotline export in the caller's transaction; InvalidInput refuses the whole file."""
    authorise_import(actor)
    now = now or datetime.now(UTC)
    watch = _Stopwatch(progress or _quiet)
    with watch.stage(0):
        table, source = _read(path, crs=crs, fmt=fmt)
    with watch.stage(1):
        checked = check_rows(table, categories=load_categories(session), source=source, now=now)
    result = ImportResult(file=path.name, format=table.fmt, crs=source.label, rows=len(table.raw))
    reasons = [checked.reasons]
    if len(checked.good):
        reasons.append(
            _load(session, checked.good, result=result, watch=watch, plan=plan, actor=actor, now=now)
        )
    result.errors = error_rows(table, pd.concat([r for r in reasons if len(r)] or reasons[:1]))
    result.seconds = watch.seconds
    _audit(session, result, actor=actor, ip=ip, source=source)
    (progress or _quiet)("完成 done", len(STAGES), len(STAGES))
    return result


def precheck(path: Path, *, crs: str | None, fmt: str | None) -> None:
    """Refuse at once what needs no reading: an unknown format, or CSV and XLSX (which state no coordinate
    system) without `crs`."""
    if detect(path, fmt) != "geojson":
        resolve_crs(given=crs, in_file=None, file_name=path.name)


def _read(path: Path, *, crs: str | None, fmt: str | None) -> tuple[Table, SourceCRS]:
    precheck(path, crs=crs, fmt=fmt)
    table = read_table(path, fmt=fmt)
    source = resolve_crs(given=crs, in_file=table.crs_in_file, file_name=path.name, default=table.default_crs)
    return table, source


def _load(
    session: Session,
    good: pd.DataFrame,
    *,
    result: ImportResult,
    watch: _Stopwatch,
    plan: Plan,
    actor: Principal | None,
    now: datetime,
) -> pd.Series:
    """Stage, assign and insert the good rows (counting skipped ones); return the reasons of rows outside."""
    with watch.stage(2):
        stage_rows(session, good)
        result.skipped = drop_existing(session)
    with watch.stage(3):
        result.plan = assign_staged(session, plan=plan)
        outside = outside_reasons(session)
    with watch.stage(4):
        staged = session.execute(text("SELECT count(*) FROM bulk_assigned")).scalar_one()
        result.imported = insert_assigned(session, actor=actor, now=now, file=result.file)
        result.skipped += staged - result.imported  # inserted meanwhile by a concurrent import
        session.execute(text("DROP TABLE bulk_staging, bulk_assigned"))
    return outside


def authorise_import(actor: Principal | None) -> None:
    """Forbidden unless the actor may bulk-import incidents (the role, and the whole subdistrict as scope)."""
    if actor is None:
        return
    require(actor, "incidents.import")
    if actor.scope_codes:
        # A hotline export covers the whole subdistrict: only accounts scoped to all of it import one.
        raise Forbidden(
            "范围受限的账户不能批量导入 Accounts scoped to some communities may not bulk-import incidents.",
            field="scope",
            value=",".join(actor.scope_codes),
            expected="an account whose scope is the whole subdistrict",
        )


def load_categories(session: Session) -> Categories:
    """Active categories by code, Chinese and English name (lower case)."""
    rows = session.execute(text("SELECT code, name_zh, name_en FROM incident_category WHERE active")).all()
    lookup: dict[str, str] = {}
    for code, zh, en in rows:
        lookup.update({str(en).lower(): code, str(zh).lower(): code})
    lookup.update({str(code).lower(): code for code, _, _ in rows})  # a code beats a name
    return Categories(lookup=lookup, names={code: zh for code, zh, _ in rows})


def stage_rows(session: Session, good: pd.DataFrame) -> int:
    """COPY the checked rows into a fresh TEMP table bulk_staging (dropped at commit) and index it."""
    session.execute(text("DROP TABLE IF EXISTS bulk_staging, bulk_assigned"))
    sql.run(session, _sql("bulk_staging.sql"))
    for start in range(0, len(good), COPY_CHUNK):
        copy.copy_text(
            session,
            "bulk_staging",
            ("row_no", *STAGING_COLUMNS),
            frame_text(good.iloc[start : start + COPY_CHUNK]),
        )
    session.execute(text("CREATE INDEX ON bulk_staging USING gist (geom)"))
    return len(good)


def frame_text(frame: pd.DataFrame) -> str:
    """Rows in COPY's text format (pandas.to_csv is 3x slower for a million rows)."""
    columns = [[str(i) for i in frame.index.tolist()]]
    for name in STAGING_COLUMNS:
        values = frame[name]
        if name == "reported_at":
            utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
            columns.append(list(np.datetime_as_string(utc, unit="us", timezone="UTC")))
        elif pd.api.types.is_float_dtype(values):
            columns.append([repr(v) if v == v else copy.NULL for v in values.tolist()])
        else:
            columns.append(_escaped(values, nullable=name in NULLABLE))
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


def _escaped(values: pd.Series, *, nullable: bool) -> list[str]:
    """copy.escape for a whole column at once (vectorised: a million rows in well under a second)."""
    text_values = values.astype(str)
    if text_values.str.contains(r"[\\\t\n\r]", regex=True).any():
        for char, esc in copy.ESCAPES:
            text_values = text_values.str.replace(char, esc, regex=False)
    out = text_values.tolist()
    return [v or copy.NULL for v in out] if nullable else out


def drop_existing(session: Session) -> int:
    """Remove staged rows whose ext_id was imported before; return how many (they count as skipped)."""
    return int(
        session.execute(
            text(
                "WITH gone AS (DELETE FROM bulk_staging s USING incident i WHERE i.ext_id = s.ext_id RETURNING 1) "
                "SELECT count(*) FROM gone"
            )
        ).scalar_one()
    )


def assign_staged(session: Session, *, plan: Plan = "auto") -> str:
    """Assign every staged row in one statement into TEMP table bulk_assigned; return the plan used.

    "auto" drives the join from the polygons once there are POLYGON_SHARE points per micro-grid generation
    that may apply; a few thousand rows are faster point by point than by visiting 100,000 grids.
    """
    session.execute(text("ANALYZE bulk_staging"))
    session.execute(text("DROP TABLE IF EXISTS bulk_assigned"))
    session.execute(text("SET LOCAL work_mem = '256MB'"))  # the DISTINCT ON sorts of 1M rows stay in memory
    staged, first_at, last_at = session.execute(
        text("SELECT count(*), min(reported_at), max(reported_at) FROM bulk_staging")
    ).one()
    window = {"first_at": first_at or "infinity", "last_at": last_at or "-infinity"}
    if plan == "auto":
        grids = sql.run(session, _sql("bulk_grid_count.sql"), window).scalar_one()
        plan = "polygon" if staged >= POLYGON_SHARE * grids else "point"
    sql.run(session, _sql(PLANS[plan]), window if plan == "polygon" else {})
    session.execute(text("ALTER TABLE bulk_assigned ADD PRIMARY KEY (row_no)"))
    return plan


def outside_reasons(session: Session) -> pd.Series:
    """Reasons for the staged rows outside every micro-grid in force at their time (naming the nearest)."""
    rows = sql.run(session, _sql("bulk_outside.sql")).all()
    reasons = {
        row_no: (
            f"不在任何微网格内，最近的是 {code}（{distance} 米） outside every micro-grid in force at reported_at; "
            f"the nearest is {code}, {distance} m away"
            if code is not None
            else "该时间没有生效的微网格 no micro-grid was in force at reported_at"
        )
        for row_no, code, distance in rows
    }
    return pd.Series(reasons, dtype=object)


def insert_assigned(session: Session, *, actor: Principal | None, now: datetime, file: str) -> int:
    """Insert the assigned rows as incidents with their `create` event; return how many were inserted."""
    params = {
        "actor": actor.username if actor else "system",
        "role": actor.role if actor else "system",
        "step": STEP_OF_STATUS["reported"],
        "now": now.isoformat(),
        "file": file,
    }
    return int(sql.run(session, _sql("bulk_insert.sql"), params).scalar_one())


def error_rows(table: Table, reasons: pd.Series) -> pd.DataFrame:
    """One row per bad input row: row number, ext_id, reason, then the file's own columns."""
    reasons = reasons.sort_index()
    original = table.raw.loc[reasons.index]
    head = pd.DataFrame(
        {
            ERROR_HEAD[0]: reasons.index,
            ERROR_HEAD[1]: table.fields["ext_id"].loc[reasons.index],
            ERROR_HEAD[2]: reasons,
        },
        index=reasons.index,
    )
    return pd.concat([head, original], axis=1).reset_index(drop=True)


def error_csv(result: ImportResult) -> str:
    """The error rows as CSV text (no BOM)."""
    return neutralise_frame(result.errors).to_csv(index=False, lineterminator="\r\n")


def report(result: ImportResult, *, preview_rows: int = 100) -> dict[str, Any]:
    """The counts, the first `preview_rows` refused rows and the whole error CSV (the API's answer)."""
    preview = [
        {"row": int(r[0]), "ext_id": str(r[1]), "reason": str(r[2])}
        for r in result.errors.iloc[:preview_rows, :3].itertuples(index=False)
    ]
    return {
        **result.summary(),
        "error_rows": preview,
        "errors_csv": error_csv(result) if len(result.errors) else None,
    }


def default_errors_path(path: Path) -> Path:
    """Where the error file goes by default: `<name>.errors.csv` next to the input."""
    return path.with_name(f"{path.stem}.errors.csv")


def write_errors(result: ImportResult, path: Path) -> Path:
    """Write the error rows as CSV in UTF-8 with a BOM (so that Excel shows the Chinese text)."""
    path.write_text(error_csv(result), encoding="utf-8-sig", newline="")
    return path


def _audit(
    session: Session, result: ImportResult, *, actor: Principal | None, ip: str | None, source: SourceCRS
) -> None:
    # One audit row for the whole import; each incident's own `create` event names the file.
    audit.record(
        session,
        actor=actor,
        action="incident_import",
        entity="incident",
        key=result.file,
        after=result.summary(),
        ip=ip,
        detail={"crs": source.label, "plan": result.plan, "seconds": result.seconds},
    )
    session.flush()
