"""Bulk import of 12345-hotline exports for the dispatch centre: upload a file, get the counts and the bad rows."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import PrincipalDep, SessionDep, client_ip, policy
from api.uploads import receive_upload
from gisgrid.incidents.bulk_import import error_csv, import_incidents
from gisgrid.incidents.bulk_read import ACCEPTED

router = APIRouter(prefix="/api/incidents", tags=["incidents"])

PREVIEW_ROWS = 100
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary", "description": ACCEPTED}},
                "required": ["file"],
            }
        }
    },
}


class ErrorRow(BaseModel):
    """One refused row: its number in the file (Excel row, or GeoJSON feature number), ext_id and why."""

    row: int
    ext_id: str
    reason: str


class BulkImportSummary(BaseModel):
    """What a bulk import did; `errors_csv` holds every refused row with its original values."""

    file: str
    format: str
    crs: str
    rows: int
    imported: int
    skipped: int
    errors: int
    error_rows: list[ErrorRow]
    errors_csv: str | None


@router.post(
    "/import",
    summary="批量导入12345工单 Bulk-import 12345-hotline incidents",
    description=(
        "Upload one file (multipart field `file`, at most 50 MB): CSV (UTF-8 or GB18030), XLSX (first sheet) or "
        "GeoJSON (Point features). Columns, English or Chinese: ext_id (工单编号/编号, required), category "
        "(类别/事件类别: a code or its Chinese name), title (标题/诉求标题), description (内容/诉求内容), lon (经度), "
        "lat (纬度), reported_at (上报时间/受理时间: ISO 8601, or `2024-05-01 09:30` in Beijing time), address (地址), "
        "channel (来源/渠道, default hotline).\n\n"
        "`crs` is required for CSV and XLSX (wgs84, cgcs2000, gcj02, bd09 or an EPSG code) and overrides GeoJSON's "
        "own (WGS 84 by RFC 7946); it is never guessed: without it the whole file is refused (422).\n\n"
        "Each bad row is refused on its own — missing or non-numeric coordinates (a swapped lat/lon is named), "
        "unknown category, bad or future time, unknown channel, a point outside every micro-grid in force at "
        "reported_at (the nearest one is named), an ext_id repeated in the file — and listed in `errors_csv` "
        "(row, ext_id, reason in Chinese and English, then the row's original values; add a BOM when saving it "
        "for Excel) and, the first 100, in `error_rows`. All good rows are assigned to the micro-grid generation "
        "in force at their report time (smallest code on a shared edge) and imported in one transaction; "
        "ext_ids imported before are skipped. Roles admin and dispatcher with the whole subdistrict as scope. "
        "Audited."
    ),
    response_model=BulkImportSummary,
    responses={
        413: {"description": "the upload is larger than 50 MB"},
        422: {
            "description": "the file was refused whole: no crs, unreadable, no rows or a needed column missing"
        },
    },
    dependencies=policy("incidents.import")["dependencies"],
    openapi_extra={"requestBody": UPLOAD_BODY, **policy("incidents.import")["openapi_extra"]},
)
async def import_hotline(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    crs: Annotated[
        str | None,
        Query(max_length=200, description="coordinate system of lon/lat (needed for CSV and XLSX)"),
    ] = None,
    fmt: Annotated[
        Literal["csv", "xlsx", "geojson"] | None,
        Query(alias="format", description="override the format taken from the file name's extension"),
    ] = None,
) -> Any:
    with tempfile.TemporaryDirectory(prefix="gisgrid-hotline-") as tmp:
        path = await receive_upload(request, FilePath(tmp))
        result = await run_in_threadpool(
            lambda: import_incidents(
                session, path=path, crs=crs, fmt=fmt, actor=principal, ip=client_ip(request)
            )
        )
    errors = result.errors
    preview = [
        ErrorRow(row=int(r[0]), ext_id=str(r[1]), reason=str(r[2]))
        for r in errors.iloc[:PREVIEW_ROWS, :3].itertuples(index=False)
    ]
    return BulkImportSummary(
        **result.summary(),
        error_rows=preview,
        errors_csv=error_csv(result) if len(errors) else None,
    )
