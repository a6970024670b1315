"""The coverage answers the API and the CLI give: summary, buildings, service areas, gaps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.config import CoverageSettings
from gisgrid.coverage import areas, siting, summary, thresholds
from gisgrid.coverage.compute import Coverage, compute

METHOD = (
    "Walking distance along the walking network (a river is crossed only at bridges) from each building's point "
    "(ST_PointOnSurface) snapped to the nearest edge on its own bank, to each site's point snapped the same way; "
    "both snap legs count. Straight-line figures: the distance between the two points (EPSG metric CRS)."
)


def run(session: Session, *, threshold: str | None, settings: CoverageSettings, srid: int) -> Coverage:
    """Parse the threshold (default: the setting) and compute coverage."""
    spec = threshold if threshold is not None else settings.coverage_threshold
    parsed = thresholds.parse(spec, default_speed=settings.coverage_walk_speed)
    cov = compute(session, threshold=parsed, srid=srid, site_flag_m=settings.coverage_site_flag_m)
    cov.data_as_of = data_date(session)
    return cov


def data_date(session: Session) -> datetime | None:
    """When the data last changed: the newest data-set load, grid generation or import (sites, buildings and the
    walking network change only through those). Every answer carries it: a result is of the data as of then."""
    return session.execute(
        text(
            "SELECT greatest((SELECT max(loaded_at) FROM dataset_load), "
            "(SELECT max(created_at) FROM grid_generation), (SELECT max(at) FROM audit_log WHERE action = 'import'))"
        )
    ).scalar_one()


def _header(cov: Coverage) -> dict[str, Any]:
    flagged = cov.sites[cov.sites["far_from_network"]]
    return {
        "threshold": cov.threshold.as_dict(),
        "computed_at": datetime.now(UTC),
        "data_as_of": cov.data_as_of,
        "engine": cov.engine,
        "method": METHOD,
        "flagged_sites": [areas.site_dict(s) for s in flagged.itertuples()],
    }


def summary_answer(
    session: Session, cov: Coverage, *, level: str, worst: int, scope_codes: tuple[str, ...]
) -> dict[str, Any]:
    """Per-unit figures of one level, the totals over the caller's buildings, the worst compounds."""
    names = summary.unit_names(session)
    units = summary.per_level(cov, level=level, scope_codes=scope_codes)
    for unit in units:
        unit["name"] = names.get(unit["code"], "")
    scoped = summary.in_scope(cov.buildings, scope_codes)
    totals = _totals(cov, scope_codes)
    return {
        **_header(cov),
        "level": level,
        "totals": totals,
        "units": units,
        "worst_compounds": summary.worst_compounds(cov, limit=worst, scope_codes=scope_codes),
        "unreachable_buildings": int(scoped["walk_any_m"].isna().sum()),
    }


def _totals(cov: Coverage, scope_codes: tuple[str, ...]) -> dict[str, Any]:
    frame = summary.in_scope(cov.buildings, scope_codes)
    cov_all = Coverage(**{**cov.__dict__, "buildings": frame.assign(subdistrict_code="*")})
    rows = summary.per_level(cov_all, level="subdistrict")
    if rows:
        total = rows[0]
    else:
        zero = {k: {"households": 0, "population": 0, "share": None} for k in summary.FIGURE_KINDS}
        total = {
            "code": "*",
            "level": "subdistrict",
            "buildings": 0,
            "households": 0,
            "population": 0,
            "uncovered_households": 0,
            "uncovered_population": 0,
            "unreachable_households": 0,
            "network": {**zero, "households": 0, "population": 0},
            "straight_line": {**zero, "households": 0, "population": 0},
        }
    total["code"], total["name"] = "*", "合计 total"
    return total


def buildings_answer(cov: Coverage, *, scope_codes: tuple[str, ...]) -> dict[str, Any]:
    """Every building in scope with its distances."""
    return {**_header(cov), "buildings": summary.building_rows(cov, scope_codes=scope_codes)}


def service_areas_answer(
    session: Session, cov: Coverage, *, kinds: list[str], buffer_m: float, srid: int
) -> dict[str, Any]:
    """A FeatureCollection: one polygon per site of `kinds`, with its reached network length."""
    features = []
    for area in areas.service_areas(
        session, cov, threshold_m=cov.threshold.metres, buffer_m=buffer_m, srid=srid, kinds=kinds
    ):
        geometry = area.pop("geometry")
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {**area, "threshold_m": round(cov.threshold.metres, 1)},
            }
        )
    return {"type": "FeatureCollection", **_header(cov), "buffer_m": buffer_m, "features": features}


def gaps_answer(
    session: Session, cov: Coverage, *, merge_m: float, srid: int, scope_codes: tuple[str, ...]
) -> dict[str, Any]:
    """Uncovered buildings and the areas they form."""
    found = summary.gaps(session, cov, srid=srid, merge_m=merge_m, scope_codes=scope_codes)
    return {
        **_header(cov),
        "buildings": {"type": "FeatureCollection", "features": found["buildings"]},
        "areas": {"type": "FeatureCollection", "features": found["areas"]},
    }


def siting_answer(
    session: Session,
    cov: Coverage,
    *,
    k: int,
    against: str,
    candidates: dict[str, Any] | None,
    crs: str | None,
    srid: int,
    scope_codes: tuple[str, ...],
) -> dict[str, Any]:
    """The k new outposts that newly cover the most households in scope."""
    found = (
        siting.compound_candidates(session)
        if candidates is None
        else siting.given_candidates(candidates, crs=crs)
    )
    return {
        **_header(cov),
        **siting.recommend(
            session, cov, k=k, candidates=found, against=against, srid=srid, scope_codes=scope_codes
        ),
    }


def what_if_answer(
    session: Session,
    cov: Coverage,
    body: dict[str, Any],
    *,
    level: str,
    crs: str | None,
    srid: int,
    scope_codes: tuple[str, ...],
) -> dict[str, Any]:
    """Covered households per unit before and after closing, moving or opening sites."""
    scenario = siting.parse_scenario(body, crs=crs)
    return {
        **_header(cov),
        **siting.what_if(session, cov, scenario, level=level, srid=srid, scope_codes=scope_codes),
    }
