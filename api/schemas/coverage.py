"""Response models of the coverage routes (the 10-minute service circle)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import Feature, FeatureCollection


class ThresholdOut(BaseModel):
    """The walking threshold a result used."""

    metres: float
    spec: str = Field(description="as asked, e.g. 10min, 10min@adult, gb10, 500m")
    label: str = Field(description="e.g. '10 min × 0.9 m/s (older) = 540 m'")
    minutes: float | None
    speed_mps: float | None
    source: Literal["metres", "minutes", "gb50180"]


class SiteOut(BaseModel):
    """A service site as coverage sees it: where it joins the network, and a flag when that is far."""

    id: str
    kind: Literal["centre", "community", "outpost"]
    name: str
    community_code: str | None
    lon: float
    lat: float
    snap_m: float | None = Field(
        description="metres from the site to the network (null: no edge on its bank)"
    )
    on_network: bool
    far_from_network: bool = Field(description="more than GISGRID_COVERAGE_SITE_FLAG_M from every edge")


class CoverageHeader(BaseModel):
    """What every coverage answer says about how it was computed."""

    threshold: ThresholdOut
    computed_at: datetime
    data_as_of: datetime | None = Field(
        description="when the data computed from (sites, buildings, walking network, grids) last changed: a load, "
        "an import or a grid generation; figures are computed on demand, so they are never older than this"
    )
    engine: str = Field(description="the shortest-path engine (scipy: benchmarks/results/coverage.md)")
    method: str
    flagged_sites: list[SiteOut]


class Covered(BaseModel):
    """Households and population within the threshold."""

    households: int
    population: int
    share: float | None = Field(description="of the unit's households (null when it has none)")


class KindFigures(BaseModel):
    """Covered figures by any site and by each kind."""

    households: int
    population: int
    any: Covered
    outpost: Covered
    community: Covered
    centre: Covered


class UnitCoverage(BaseModel):
    """One grid unit's coverage, along the network and (for comparison) in a straight line."""

    code: str
    name: str
    level: str
    buildings: int
    households: int
    population: int
    uncovered_households: int = Field(description="households beyond the threshold from every site (network)")
    uncovered_population: int
    unreachable_households: int = Field(description="households whose building reaches no site at all")
    network: KindFigures
    straight_line: KindFigures


class WorstCompound(BaseModel):
    """A compound among the worst served."""

    id: str
    name: str
    micro_code: str | None
    households: int
    uncovered_households: int
    worst_walk_m: float | None = Field(
        description="its farthest building's walk to any site (null: unreachable)"
    )
    mean_walk_m: float | None = Field(description="households-weighted mean walk to the nearest site")


class CoverageSummary(CoverageHeader):
    """Coverage per unit of one grid level, the totals and the worst-served compounds."""

    level: Literal["subdistrict", "community", "general", "micro"]
    totals: UnitCoverage
    units: list[UnitCoverage]
    worst_compounds: list[WorstCompound]
    unreachable_buildings: int


class BuildingDistances(BaseModel):
    """One building with its walking (and straight-line) distances to the nearest site of each kind."""

    ext_id: str
    label: str
    compound_ext_id: str
    compound_name: str
    micro_code: str | None
    general_code: str | None
    community_code: str | None
    households: int
    population: int = Field(description="its compound's population shared out by households")
    lon: float
    lat: float
    snap_m: float | None
    walk_any_m: float | None = Field(description="null: no site reachable on foot (an island, the far bank)")
    walk_any_site: str | None
    walk_centre_m: float | None
    walk_centre_site: str | None
    walk_community_m: float | None
    walk_community_site: str | None
    walk_outpost_m: float | None
    walk_outpost_site: str | None
    straight_any_m: float | None
    straight_centre_m: float | None
    straight_community_m: float | None
    straight_outpost_m: float | None
    unreachable: bool
    covered: bool = Field(description="walk_any_m within the threshold")


class BuildingsOut(CoverageHeader):
    """Every building (in the caller's scope) with its distances."""

    buildings: list[BuildingDistances]


class ServiceAreasOut(CoverageHeader):
    """A FeatureCollection of service-area polygons, one per site: properties `site`, `reached_m` (network
    metres reached, edge parts included), `whole_edges_m`, `partial_edges_m` (full lengths of the edges reached
    only partly), `whole_edges`, `partial_edges`, `area_m2`, `threshold_m`."""

    type: Literal["FeatureCollection"]
    buffer_m: float
    features: list[Feature]


class GapsOut(CoverageHeader):
    """Uncovered buildings (beyond the threshold, or unreachable) and the areas they form."""

    buildings: FeatureCollection
    areas: FeatureCollection


class SitingIn(BaseModel):
    """Where to open k new outposts."""

    k: int = Field(default=3, ge=1, le=50, description="how many new outposts")
    threshold: str | None = Field(default=None, max_length=40, description="as in GET /api/coverage/summary")
    against: Literal["any", "outpost"] = Field(
        default="any",
        description="which existing sites already cover a household: any site, or only outposts (to place "
        "outposts where only the centre or a community site is near)",
    )
    candidates: dict[str, object] | None = Field(
        default=None,
        description="a GeoJSON FeatureCollection of Point candidates (optional property `name`) drawn or "
        "uploaded by the auditor; default: every compound without an outpost (a point inside it)",
    )
    crs: str = Field(
        default="wgs84", max_length=20, description="of the candidates: wgs84, cgcs2000, gcj02, bd09"
    )


class SolverOut(BaseModel):
    """How the siting model was solved."""

    name: str
    status: str = Field(description="optimal; no_gain when no candidate reaches an uncovered household")
    time_limit_s: int


class Recommendation(BaseModel):
    """A recommended new outpost, in the order of its marginal gain."""

    rank: int
    key: str = Field(description="the compound's id, or C1… for a given candidate")
    name: str
    source: Literal["compound", "given"]
    lon: float
    lat: float
    snap_m: float | None = Field(description="metres from the point to the walking network")
    gain_households: int = Field(description="households it newly covers after the ones ranked before it")
    reach_households: int = Field(description="uncovered households within the threshold of it")
    only_here_households: int = Field(description="uncovered households no other recommendation covers")
    micro_codes: list[str] = Field(description="micro-grids of the households it newly covers")


class SitingOut(CoverageHeader):
    """The k new outposts that newly cover the most households (maximal covering location, exact)."""

    k: int
    against: Literal["any", "outpost"]
    solver: SolverOut
    candidates: int
    candidates_reaching_uncovered: int
    uncovered_households_before: int
    newly_covered_households: int
    uncovered_households_after: int
    recommendations: list[Recommendation] = Field(
        description="fewer than k when fewer suffice to cover every household the candidates can reach"
    )


class MoveIn(BaseModel):
    """A site moved to a point."""

    site: str = Field(max_length=32)
    lon: float
    lat: float


class OpenIn(BaseModel):
    """A new site at a point."""

    kind: Literal["centre", "community", "outpost"] = "outpost"
    name: str | None = Field(default=None, max_length=200)
    lon: float
    lat: float


class WhatIfIn(BaseModel):
    """A scenario: sites closed, moved or opened."""

    threshold: str | None = Field(default=None, max_length=40)
    level: Literal["subdistrict", "community", "general", "micro"] = "micro"
    close: list[str] = Field(default_factory=list, max_length=200, description="ids of sites that close")
    move: list[MoveIn] = Field(default_factory=list, max_length=200)
    open: list[OpenIn] = Field(default_factory=list, max_length=200)
    crs: str = Field(
        default="wgs84", max_length=20, description="of the points: wgs84, cgcs2000, gcj02, bd09"
    )


class KindChange(BaseModel):
    """Change in covered households by any site and by each kind."""

    any: int
    outpost: int
    community: int
    centre: int


class UnitChange(BaseModel):
    """A grid unit whose covered households change."""

    code: str
    name: str
    households: int
    covered_before: int
    covered_after: int
    change: KindChange


class ScenarioOut(BaseModel):
    """The scenario as understood (points in WGS 84)."""

    close: list[str]
    move: list[MoveIn]
    open: list[OpenIn]


class WhatIfOut(CoverageHeader):
    """Covered households before and after a scenario, and every unit of `level` that changes (losses first)."""

    level: Literal["subdistrict", "community", "general", "micro"]
    scenario: ScenarioOut
    covered_households_before: int
    covered_households_after: int
    change: int
    units: list[UnitChange]


class ReportIn(BaseModel):
    """A coverage-audit report to make."""

    format: Literal["pdf", "html"] = Field(default="pdf", description="PDF (WeasyPrint) or one HTML file")
    threshold: str | None = Field(default=None, max_length=40, description="as in GET /api/coverage/summary")
    community: str | None = Field(
        default=None, max_length=32, description="one community's code (default: the caller's whole scope)"
    )
