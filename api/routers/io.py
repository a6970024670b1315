"""Import and export of layer files for planners: upload (all-or-nothing) and download in four formats."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import AsyncPrincipalDep, SessionDep, SettingsDep, client_ip, policy
from api.routers.jobs import JOB_RESPONSES, enqueue
from api.uploads import stage_upload
from gisgrid.auth.policy import Principal
from gisgrid.errors import Forbidden, InvalidInput, NotFound
from gisgrid.io.export import export_file
from gisgrid.io.formats import ACCEPTED_FORMATS, FORMATS, detect_format, export_file_name
from gisgrid.io.spec import SPECS
from gisgrid.jobs.kinds import LAYER_IMPORT
from gisgrid.jobs.views import JobView

router = APIRouter(prefix="/api/io", tags=["import/export"])

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
LayerName = Annotated[str, Path(max_length=40, description="one of: " + ", ".join(SPECS))]
ExportFormat = Literal["geojson", "gpkg", "shp", "csv"]
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": ACCEPTED_FORMATS}
                },
                "required": ["file"],
            }
        }
    },
}


BINARY = {"type": "string", "format": "binary"}
FILE_SCHEMAS: dict[str, dict[str, Any]] = {
    "geojson": {
        "type": "object",
        "description": "GeoJSON FeatureCollection (RFC 7946, WGS 84) with the fields the import reads",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
        },
    },
    "csv": {"type": "string", "description": "UTF-8 CSV, geometry as WKT in `wkt`"},
}


def _spec_name(layer: str) -> str:
    if layer not in SPECS:
        raise NotFound(
            f"No layer {layer!r} to import or export.", field="layer", value=layer, expected=", ".join(SPECS)
        )
    return layer


def _check_upload_format(path: FilePath, fmt: str | None) -> str:
    name = detect_format(path, fmt)
    if name == "shp" and path.suffix.lower() != ".zip":
        raise InvalidInput(
            "Upload a Shapefile as one .zip holding its .shp, .shx, .dbf and .prj.",
            field="file",
            value=path.name,
            expected="a .zip holding one Shapefile",
        )
    return name


@router.post(
    "/{layer}/import",
    status_code=202,
    summary="导入图层文件 Import a layer file",
    description=(
        "Upload one file (multipart field `file`, at most 50 MB) to import into a layer: GeoJSON, GeoPackage, "
        "a Shapefile zipped with its .shx/.dbf/.prj, or CSV with a `wkt`/`geometry` or `lon`/`lat` column "
        "(workers: CSV only). The format comes from the file name's extension unless `format` is given.\n\n"
        "The upload is stored first (no database transaction is open while it streams in); the import then "
        "runs as a job: the answer is **202** with the job and a `Location` header (`/api/jobs/{id}`) to poll "
        "for its progress and result. The result holds the counts (`imported`, `added`, `updated`, "
        "`removed`) and `derived_jobs`: the jobs that rebuild what depends on the layer (walking access to "
        "the sites after sites or walk_edges).\n\n"
        "The coordinate system is read from the file (.prj, GeoPackage SRS, GeoJSON `crs`; GeoJSON without one "
        "is WGS 84). A file without one (CSV, Shapefile without .prj) needs `crs`: wgs84, cgcs2000, gcj02 "
        "(Amap/Tencent), bd09 (Baidu) or an EPSG code (projected systems such as EPSG:4544 are reprojected). "
        "`crs` overrides the file's own. It is never guessed.\n\n"
        "All or nothing: any bad feature refuses the whole file — the job fails with an `invalid_input` error "
        "whose `details.problems` lists each one with `index` (feature position from 0), `key` (its code/id), "
        "`field` and `message` — invalid geometry (retry with `make_valid=true`), wrong geometry type, missing "
        "or duplicate code, parent not found, coordinates outside the Chengdu area (swapped lat/lon is named). "
        "Without `replace`, features whose key is already in the layer are refused; with `replace=true` the "
        "file becomes the layer's whole content (grids: the current generation is retired and the file's units "
        "become the new one), saved as one generation (`GET /api/grids/generations`) with the optional `reason`.\n\n"
        "Grids go through the same gate as every boundary edit: only units whose attributes or shape changed get "
        "a new version; then the topology rules run on the result, and any error the file brings (overlap, gap, "
        "a grid outside its parent, a compound cut across micro-grids …, each with where it is) refuses it, and "
        "new warnings (household ranges, slivers) refuse it unless `confirm_warnings=true`. `dry_run=true` "
        "answers the counts and warnings and keeps nothing: the way to look first.\n\n"
        "Refused at once: an unknown layer (404), a file over 50 MB (413), an unknown "
        "format or a bare .shp (422), an account scoped to some communities (403). Roles admin and planner. "
        "Audited."
    ),
    response_model=JobView,
    responses={
        **JOB_RESPONSES,
        404: {"description": "no such layer"},
        413: {"description": "the upload is larger than 50 MB"},
        422: {"description": "an unknown format, or a Shapefile not uploaded as a .zip"},
    },
    dependencies=policy("io.import", asynchronous=True)["dependencies"],
    openapi_extra={"requestBody": UPLOAD_BODY, **policy("io.import")["openapi_extra"]},
)
async def import_upload(
    layer: LayerName,
    request: Request,
    response: Response,
    principal: AsyncPrincipalDep,
    settings: SettingsDep,
    crs: Annotated[
        str | None, Query(max_length=200, description="the file's CRS if it has none, or to override it")
    ] = None,
    make_valid: Annotated[
        bool, Query(description="repair invalid polygons instead of refusing them")
    ] = False,
    replace: Annotated[bool, Query(description="replace the layer's contents with the file's")] = False,
    reason: Annotated[
        str | None, Query(max_length=500, description="why (grids: kept with the import's generation)")
    ] = None,
    fmt: Annotated[
        ExportFormat | None, Query(alias="format", description="override the format taken from the extension")
    ] = None,
    confirm_warnings: Annotated[
        bool, Query(description="grids: import although the topology gate warns (household ranges, slivers)")
    ] = False,
    dry_run: Annotated[
        bool, Query(description="do everything, answer what would happen (with the warnings), keep nothing")
    ] = False,
    roads: Annotated[
        bool,
        Query(
            description="walk_edges only: the file is ordinary road lines (e.g. OSM-derived, any properties); "
            "two-way duplicates are dropped, ends snapped (GISGRID_ROAD_SNAP_M), lines noded where they cross "
            "except bridges and tunnels, and the network replaced; the result's `network` reports the connected "
            "components"
        ),
    ] = False,
) -> JobView:
    _spec_name(layer)
    _check_scope(principal)
    path = await stage_upload(request, settings.jobs.jobs_upload_dir)
    try:
        name = _check_upload_format(path, fmt)
        params = {
            "layer": layer,
            "file": path.name,
            "path": str(path),
            "upload_dir": str(path.parent),
            "format": name,
            "crs": crs,
            "make_valid": make_valid,
            "replace": replace,
            "ip": client_ip(request),
            "reason": reason,
            "confirm_warnings": confirm_warnings,
            "dry_run": dry_run,
            "roads": roads,
        }
        return await run_in_threadpool(
            enqueue, request, response, kind=LAYER_IMPORT, params=params, actor=principal
        )
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise


def _check_scope(principal: Principal) -> None:
    if principal.scope_codes:
        # A layer file may touch any community, so only accounts scoped to the whole subdistrict import.
        raise Forbidden(
            "Accounts scoped to some communities may not import whole layers.",
            field="scope",
            value=",".join(principal.scope_codes),
            expected="an account whose scope is the whole subdistrict",
        )


@router.get(
    "/{layer}/export",
    summary="导出图层文件 Export a layer file",
    description=(
        "Download a layer in WGS 84 (EPSG:4326) with exactly the fields its import reads, so the file "
        "re-imports unchanged: `geojson` (default; RFC 7946), `gpkg` (GeoPackage), `shp` (a .zip of the "
        "Shapefile; field names over 10 characters shortened, e.g. parent_code → parent) or `csv` (UTF-8, "
        "geometry as WKT in `wkt`; re-import it with crs=wgs84). List attributes (aliases, services, "
        "grid_codes) are JSON arrays in GeoJSON and ';'-joined text elsewhere. Grids: the current generation. "
        "Workers: CSV only."
    ),
    response_class=Response,
    responses={
        200: {
            "description": "the file, as an attachment",
            "content": {
                f.media_type: {"schema": FILE_SCHEMAS.get(name, BINARY)} for name, f in FORMATS.items()
            },
        },
        404: {"description": "no such layer"},
        422: {"description": "a format the layer cannot be written in"},
    },
    **policy("io.export"),
)
def export_download(
    layer: LayerName,
    session: SessionDep,
    fmt: Annotated[
        ExportFormat | None, Query(alias="format", description="default geojson (workers: csv)")
    ] = None,
) -> Response:
    spec = SPECS[_spec_name(layer)]
    name = fmt or ("geojson" if spec.geometry else "csv")
    file_name = export_file_name(layer, name, datetime.now(LOCAL_TZ).strftime("%Y%m%d"))
    with tempfile.TemporaryDirectory(prefix="gisgrid-export-") as tmp:
        path = FilePath(tmp) / file_name
        export_file(session, layer=layer, path=path, fmt=name)
        content = path.read_bytes()
    return Response(
        content,
        media_type=FORMATS[name].media_type,
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )
