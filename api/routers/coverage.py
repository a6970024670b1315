"""The 10-minute service circle: walking coverage of the service sites (computed on demand)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from api.deps import PrincipalDep, SessionDep, SettingsDep, policy
from api.routers.jobs import JOB_RESPONSES, enqueue
from api.schemas.coverage import (
    BuildingsOut,
    CoverageSummary,
    GapsOut,
    ReportIn,
    ServiceAreasOut,
    SitingIn,
    SitingOut,
    WhatIfIn,
    WhatIfOut,
)
from gisgrid.coverage import answers, compute, report, thresholds
from gisgrid.coverage.export import to_csv, to_geojson
from gisgrid.coverage.jobs import COVERAGE_REPORT, output_file
from gisgrid.errors import NotFound
from gisgrid.jobs import store
from gisgrid.jobs.views import JobView

router = APIRouter(prefix="/api/coverage", tags=["coverage"])

THRESHOLD = Annotated[
    str | None,
    Query(
        max_length=40,
        description="walking threshold: metres (`500m`), minutes at a speed (`10min`, `10min@older` 0.9 m/s, "
        "`10min@adult` 1.3 m/s, `10min@1.1`) or GB 50180-2018 life circles (`gb5` 300 m, `gb10` 500 m, `gb15` "
        "800 m); default GISGRID_COVERAGE_THRESHOLD. Every answer says which threshold it used.",
    ),
]
PRIVATE = (
    "Households are private data: only auditors, planners and admins may call it, each within their scope."
)


@router.get(
    "/summary",
    summary="服务圈覆盖 Coverage of the 10-minute service circle",
    description="Per unit of `level` (subdistrict, community, general, micro): households and population within "
    "the walking threshold of any site, of an outpost, of a community site and of the centre, the uncovered and "
    "the unreachable households, beside the straight-line (circle) figures; the totals; the worst-served "
    "compounds; sites flagged as far from the network. " + PRIVATE,
    response_model=CoverageSummary,
    **policy("coverage.read"),
)
def get_summary(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    threshold: THRESHOLD = None,
    level: Annotated[Literal["subdistrict", "community", "general", "micro"], Query()] = "community",
    worst: Annotated[int, Query(ge=0, le=200, description="how many worst-served compounds")] = 10,
) -> dict[str, Any]:
    cov = answers.run(session, threshold=threshold, settings=settings.coverage, srid=settings.geo.metric_srid)
    return answers.summary_answer(session, cov, level=level, worst=worst, scope_codes=principal.scope_codes)


@router.get(
    "/buildings",
    summary="楼栋步行距离 Every building's walking distances",
    description="Every building with its walking distance to the nearest site of each kind (null: unreachable, "
    "e.g. on an island or a bank without a bridge), the nearest site's id, the straight-line distances and "
    "whether it is covered. `format=json` (default), `csv` (UTF-8 with a BOM, formula-like cells neutralised) "
    "or `geojson` (points). " + PRIVATE,
    response_model=BuildingsOut,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}},
            }
        }
    },
    **policy("coverage.read"),
)
def get_buildings(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    threshold: THRESHOLD = None,
    format: Annotated[Literal["json", "csv", "geojson"], Query(description="answer format")] = "json",
) -> Any:
    cov = answers.run(session, threshold=threshold, settings=settings.coverage, srid=settings.geo.metric_srid)
    answer = answers.buildings_answer(cov, scope_codes=principal.scope_codes)
    if format == "csv":
        return Response(
            to_csv(answer["buildings"]),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="coverage-buildings.csv"',
                "X-Threshold": answer["threshold"]["spec"],
            },
        )
    if format == "geojson":
        return JSONResponse(to_geojson(answer), media_type="application/geo+json")
    return answer


@router.get(
    "/service-areas",
    summary="服务范围 Walking service areas",
    description="One polygon per site (of `kind`, default all): the buffer (GISGRID_COVERAGE_BUFFER_M each side) "
    "of the walking network it reaches within the threshold — edges reached partly count up to the point "
    "reached — with the reached network length. The river is crossed only at bridges.",
    response_model=ServiceAreasOut,
    **policy("coverage.read"),
)
def get_service_areas(
    session: SessionDep,
    settings: SettingsDep,
    threshold: THRESHOLD = None,
    kind: Annotated[
        list[str] | None, Query(max_length=3, description="site kinds: centre, community, outpost")
    ] = None,
) -> dict[str, Any]:
    kinds = compute.parse_kinds(kind)
    cov = answers.run(session, threshold=threshold, settings=settings.coverage, srid=settings.geo.metric_srid)
    return answers.service_areas_answer(
        session, cov, kinds=kinds, buffer_m=settings.coverage.coverage_buffer_m, srid=settings.geo.metric_srid
    )


@router.get(
    "/gaps",
    summary="覆盖盲区 Coverage gaps",
    description="Buildings beyond the threshold from every site (or unreachable), as footprints with their "
    "distances, and the areas they form (footprints within GISGRID_COVERAGE_BUFFER_M of each other unioned), "
    "each with its buildings and households. " + PRIVATE,
    response_model=GapsOut,
    **policy("coverage.read"),
)
def get_gaps(
    session: SessionDep, settings: SettingsDep, principal: PrincipalDep, threshold: THRESHOLD = None
) -> dict[str, Any]:
    cov = answers.run(session, threshold=threshold, settings=settings.coverage, srid=settings.geo.metric_srid)
    return answers.gaps_answer(
        session,
        cov,
        merge_m=settings.coverage.coverage_buffer_m,
        srid=settings.geo.metric_srid,
        scope_codes=principal.scope_codes,
    )


@router.post(
    "/siting",
    summary="新站点选址 Where to open new outposts",
    description="The `k` candidates that newly cover the most households within the threshold, the existing "
    "sites fixed (`against=any`: every site covers; `outpost`: only outposts do) — the maximal covering location "
    "problem solved exactly (spopt's MCLP with CBC). Candidates: every compound without an outpost (default) or "
    "a FeatureCollection of points drawn or uploaded by the auditor. Each recommendation has its marginal gain, "
    "its reach and the households only it covers; fewer than `k` come back when fewer suffice. Nothing is saved. "
    + PRIVATE,
    response_model=SitingOut,
    **policy("coverage.read"),
)
def post_siting(
    body: SitingIn, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> dict[str, Any]:
    cov = answers.run(
        session, threshold=body.threshold, settings=settings.coverage, srid=settings.geo.metric_srid
    )
    return answers.siting_answer(
        session,
        cov,
        k=body.k,
        against=body.against,
        candidates=body.candidates,
        crs=body.crs,
        srid=settings.geo.metric_srid,
        scope_codes=principal.scope_codes,
    )


@router.post(
    "/what-if",
    summary="情景分析 What if sites close, move or open",
    description="Covered households (network, within the threshold) before and after closing sites (`close`: "
    "their ids), moving them (`move`: site and point) or opening new ones (`open`: kind, name, point), in total "
    "and per unit of `level` — only the units that change, losses first, by any site and by each kind. Only the "
    "moved and new points are routed; nothing is saved. " + PRIVATE,
    response_model=WhatIfOut,
    **policy("coverage.read"),
)
def post_what_if(
    body: WhatIfIn, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> dict[str, Any]:
    cov = answers.run(
        session, threshold=body.threshold, settings=settings.coverage, srid=settings.geo.metric_srid
    )
    return answers.what_if_answer(
        session,
        cov,
        body.model_dump(include={"close", "move", "open"}),
        level=body.level,
        crs=body.crs,
        srid=settings.geo.metric_srid,
        scope_codes=principal.scope_codes,
    )


@router.post(
    "/reports",
    status_code=202,
    summary="生成覆盖审计报告 Make the coverage-audit report",
    description="Starts a job that writes the coverage-audit report as `pdf` (default) or `html`: title page "
    "with the data date and threshold, summary figures beside the straight-line ones, the coverage map (micro-grids "
    "shaded by share covered, sites, uncovered buildings), the distance distribution, per-community and per-grid "
    "tables, the gaps and worst-served compounds, siting recommendations (3 new outposts), method and sources. "
    "Chinese first, bilingual headings. The caller's scope, or one `community` in it. Poll the Location "
    "(GET /api/jobs/{id}: progress by stage), then download from the result's `download` "
    "(GET /api/coverage/reports/{id}/file). A bad threshold or community is refused at once (422/404/403). "
    + PRIVATE,
    response_model=JobView,
    responses=JOB_RESPONSES,
    **policy("coverage.read"),
)
def post_report(
    body: ReportIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> JobView:
    spec = body.threshold if body.threshold is not None else settings.coverage.coverage_threshold
    thresholds.parse(spec, default_speed=settings.coverage.coverage_walk_speed)
    report.check_scope(session, body.community, principal.scope_codes)
    params = {
        "format": body.format,
        "threshold": spec,
        "community": body.community,
        "srid": settings.geo.metric_srid,
        "coverage": settings.coverage.model_dump(),
    }
    return enqueue(request, response, kind=COVERAGE_REPORT, params=params, actor=principal)


@router.get(
    "/reports/{job_id}/file",
    summary="下载覆盖审计报告 Download a coverage-audit report",
    description="The file of a finished report job (PDF or HTML) — only to whoever started it, and to admins; "
    "404 while it runs, when it failed, or for anyone else's job.",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/pdf": {}, "text/html": {}}},
        404: {"description": "no finished report job of yours"},
    },
    **policy("coverage.read"),
)
def get_report_file(
    job_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="the report job's id")],
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> FileResponse:
    def missing(why: str) -> NotFound:
        return NotFound(
            f"没有可下载的报告 No report to download: {why}.",
            field="job_id",
            value=job_id,
            expected="the id of a succeeded coverage_report job you started",
        )

    try:
        job = store.get(session, job_id)
    except NotFound as exc:
        raise missing("no such job") from exc
    if job.kind != COVERAGE_REPORT or (
        job.created_by != principal.user_id and not principal.can("jobs.read_all")
    ):
        raise missing("not a report job of yours")
    if job.status != "succeeded":
        raise missing(f"the job is {job.status}")
    fmt = str((job.params or {}).get("format"))
    path = output_file(settings.jobs.jobs_output_dir, job.id, fmt)
    if not path.is_file():
        raise missing("its file was removed")
    return FileResponse(
        path,
        media_type="application/pdf" if fmt == "pdf" else "text/html; charset=utf-8",
        filename=path.name,
        # An attachment: the browser saves it (the HTML report is then opened as a file, outside our pages).
        content_disposition_type="attachment",
        headers={"Cache-Control": "private, no-store"},
    )
