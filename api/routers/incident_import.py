"""Bulk import of 12345-hotline exports for the dispatch centre: upload a file; a job imports it and its result
holds the counts and the bad rows."""

from __future__ import annotations

import shutil
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import AsyncPrincipalDep, SettingsDep, client_ip, policy
from api.routers.jobs import JOB_RESPONSES, enqueue
from api.uploads import stage_upload
from gisgrid.incidents.bulk_import import authorise_import, precheck
from gisgrid.incidents.bulk_read import ACCEPTED
from gisgrid.jobs.kinds import INCIDENT_IMPORT
from gisgrid.jobs.views import JobView

router = APIRouter(prefix="/api/incidents", tags=["incidents"])

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
        "Audited.\n\n"
        "The upload is stored first (no database transaction is open while it streams in) and imported by a "
        "job: the answer is **202** with the job and a `Location` header (`/api/jobs/{id}`); poll it for the "
        "progress, then the result: `file`, `format`, `crs`, `rows`, `imported`, `skipped`, `errors`, "
        "`error_rows` (the first 100 refused rows: `row`, `ext_id`, `reason`) and `errors_csv`. A file refused "
        "whole (no rows, a needed column missing) fails the job with that error; a missing `crs` for CSV or "
        "XLSX and an unknown format are refused at once (422)."
    ),
    status_code=202,
    response_model=JobView,
    responses={
        **JOB_RESPONSES,
        413: {"description": "the upload is larger than 50 MB"},
        422: {
            "description": "the file was refused whole: no crs, unreadable, no rows or a needed column missing"
        },
    },
    dependencies=policy("incidents.import", asynchronous=True)["dependencies"],
    openapi_extra={"requestBody": UPLOAD_BODY, **policy("incidents.import")["openapi_extra"]},
)
async def import_hotline(
    request: Request,
    response: Response,
    principal: AsyncPrincipalDep,
    settings: SettingsDep,
    crs: Annotated[
        str | None,
        Query(max_length=200, description="coordinate system of lon/lat (needed for CSV and XLSX)"),
    ] = None,
    fmt: Annotated[
        Literal["csv", "xlsx", "geojson"] | None,
        Query(alias="format", description="override the format taken from the file name's extension"),
    ] = None,
) -> JobView:
    authorise_import(principal)
    path = await stage_upload(request, settings.jobs.jobs_upload_dir)
    try:
        precheck(path, crs=crs, fmt=fmt)
        params = {
            "file": path.name,
            "path": str(path),
            "upload_dir": str(path.parent),
            "crs": crs,
            "format": fmt,
            "ip": client_ip(request),
        }
        return await run_in_threadpool(
            enqueue, request, response, kind=INCIDENT_IMPORT, params=params, actor=principal
        )
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
