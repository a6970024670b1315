"""Grid units and the topology check."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Geometry, JsonObject, Schema, Timestamp


class GridUnit(Schema):
    """网格单元 A grid unit (subdistrict, community, general grid or micro-grid) of one generation."""

    code: str = Field(description="编码 stable code, e.g. 510104003001001001")
    level: str = Field(description="层级 subdistrict, community, general or micro")
    parent_code: str | None = Field(description="上级编码 the parent's code")
    name: str = Field(description="名称 name")
    name_en: str | None = Field(description="英文名 English name")
    households: int | None = Field(default=None, description="户数 households (logged-in callers only)")
    population: int | None = Field(default=None, description="人口 population (logged-in callers only)")
    version: int = Field(description="版本 the version (also the ETag); send it back as If-Match")
    valid_from: Timestamp = Field(description="生效 when this generation came into force")
    valid_to: Timestamp | None = Field(description="失效 when it was replaced; null = current")
    geometry: Geometry | None = Field(description="边界 the boundary")


class TopologyIssue(Schema):
    """拓扑问题 One broken rule, where and how large."""

    rule: str = Field(description="规则 e.g. overlap, gap, outside_parent, compound_not_in_one_micro")
    title: str = Field(description="规则说明 the rule in Chinese and English")
    severity: str = Field(description="级别 error or warning (slivers)")
    code: str | None = Field(description="编码 the unit (or compound) concerned")
    other: str | None = Field(description="另一方 the other unit, for overlaps")
    area_m2: float | None = Field(description="面积 m² of the overlap, gap or overhang")
    detail: str | None = Field(description="说明 more about it")
    location: Geometry | None = Field(description="位置 a point where it is")


class TopologyParameters(Schema):
    """检查参数 The tolerances the check used."""

    sliver_m2: float = Field(description="smaller overlaps, gaps and overhangs are warnings (m²)")
    micro_households: list[int] = Field(description="allowed households per micro-grid [min, max]")
    metric_srid: int = Field(description="the projected CRS areas are measured in")


class TopologyReport(Schema):
    """拓扑检查结果 Counts and every issue."""

    errors: int = Field(description="错误数 issues of severity error")
    warnings: int = Field(description="警告数 issues of severity warning")
    parameters: TopologyParameters
    issues: list[TopologyIssue]


# -- boundary edits (change sets) ------------------------------------------------------------------------------

# A line drawn on the map: [[lon, lat], …] in WGS 84 (GCJ-02 base maps convert before sending).
Line = Annotated[
    list[Annotated[list[float], Field(min_length=2, max_length=2)]],
    Field(min_length=2, max_length=10_000, description="线 [[lon, lat], …], WGS 84, not crossing itself"),
]
GridCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z-]+$")]


class OpBase(BaseModel):
    """One operation of a change set."""

    model_config = ConfigDict(extra="forbid")


class ReshapeOp(OpBase):
    """移动共享边界 Move the edge micro-grids `a` and `b` share to `line` (from one end node of the edge to the
    other; ends within GISGRID_EDIT_SNAP_M metres snap to them). The outer boundary of the pair stays."""

    op: Literal["reshape"]
    a: GridCode
    b: GridCode
    line: Line


class SplitOp(OpBase):
    """分割 Cut a micro-grid along `line` (crossing it from edge to edge). The parts get new codes: the next free
    numbers under the general grid, west to east (then north to south); `names` in the same order."""

    op: Literal["split"]
    code: GridCode
    line: Line
    names: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=50
    )


class MergeOp(OpBase):
    """合并 Merge adjacent micro-grids of one general grid into `keep` (default the first); the others retire
    and their workers go to `keep`."""

    op: Literal["merge"]
    codes: list[GridCode] = Field(min_length=2, max_length=50)
    keep: GridCode | None = None
    name: str | None = Field(default=None, min_length=1, max_length=100)


class MovePlaceOp(OpBase):
    """移交小区/楼栋 Move a compound or building into the neighbouring micro-grid `to`; the boundary follows
    the place's surroundings (the street midlines between it and the next places)."""

    op: Literal["move_place"]
    kind: Literal["compound", "building"]
    ext_id: Annotated[str, Field(min_length=1, max_length=32)]
    to: GridCode


class MoveGridOp(OpBase):
    """调整隶属 Move a micro-grid to a neighbouring general grid, or a general grid to a neighbouring community.
    It gets the next free number under the new parent; a general grid's micro-grids keep their three digits."""

    op: Literal["move_grid"]
    code: GridCode
    to_parent: GridCode


class RenameOp(OpBase):
    """命名 Name a grid (e.g. a part a split made)."""

    op: Literal["rename"]
    code: GridCode
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=200)


class AssignWorkerOp(OpBase):
    """网格员调整 Give a worker grids or take them away."""

    op: Literal["assign_worker"]
    worker: Annotated[str, Field(min_length=1, max_length=32)]
    add: list[GridCode] = Field(default_factory=list, max_length=50)
    remove: list[GridCode] = Field(default_factory=list, max_length=50)


class RestoreOp(OpBase):
    """恢复 Bring back the state before a generation (a revert)."""

    op: Literal["restore"]
    generation: int = Field(ge=1, le=2**62)


class PartitionOp(OpBase):
    """重新划分 Re-divide a general grid into new micro-grids, each the area of a list of its compounds (borders
    along the street midlines, no compound cut); every compound of the general grid in exactly one part. The
    old micro-grids retire (their workers go to the new part covering most of their grid); new codes west to
    east, then north to south."""

    op: Literal["partition"]
    general: GridCode
    parts: list[list[Annotated[str, Field(min_length=1, max_length=32)]]] = Field(
        min_length=1, max_length=500
    )
    names: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=500
    )


Area = Annotated[
    JsonObject | list[Annotated[list[float], Field(min_length=2, max_length=2)]],
    Field(description="范围 a GeoJSON Polygon/MultiPolygon or one ring [[lon, lat], …], WGS 84"),
]


class SpecialCreateOp(OpBase):
    """新建特色网格 A special grid (法治格 law, 关爱格 care, 医疗格 medical, 退役军人格 veterans) overlaying the
    hierarchy, inside its community (or the subdistrict); code: subdistrict-letters-next number."""

    op: Literal["special_create"]
    kind: Literal["law", "care", "medical", "veterans"]
    name: str = Field(min_length=1, max_length=100)
    geometry: Area
    community_code: GridCode | None = None


class SpecialReshapeOp(OpBase):
    """修改特色网格 A special grid's new area (and name)."""

    op: Literal["special_reshape"]
    code: Annotated[str, Field(min_length=1, max_length=32)]
    geometry: Area
    name: str | None = Field(default=None, min_length=1, max_length=100)


class SpecialRetireOp(OpBase):
    """撤销特色网格 End a special grid (its code is not used again; its workers lose it)."""

    op: Literal["special_retire"]
    code: Annotated[str, Field(min_length=1, max_length=32)]


Operation = Annotated[
    ReshapeOp
    | SplitOp
    | MergeOp
    | MovePlaceOp
    | MoveGridOp
    | PartitionOp
    | RenameOp
    | AssignWorkerOp
    | RestoreOp,
    Field(discriminator="op"),
]


class ChangeSetIn(BaseModel):
    """A draft: the operations in order and why."""

    model_config = ConfigDict(extra="forbid")
    operations: list[Operation] = Field(min_length=1, max_length=200)
    reason: str | None = Field(
        default=None, max_length=500, description="原因 why (kept with the generation)"
    )
    version: int | None = Field(default=None, ge=1, description="the draft's version you edited (updates)")


class SaveIn(BaseModel):
    """Saving a draft."""

    model_config = ConfigDict(extra="forbid")
    confirm_warnings: bool = Field(default=False, description="确认警告 the warnings were read and accepted")
    version: int | None = Field(default=None, ge=1, description="the draft's version you saw")


class RevertIn(BaseModel):
    """Reverting a generation."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)


class EditIssue(Schema):
    """规则问题 A rule the edited state breaks (error) or should be looked at (warning)."""

    rule: str
    title: str
    severity: Literal["error", "warning"]
    code: str | None
    other: str | None
    detail: str
    location: Geometry | None = Field(description="位置 a point where it is")


class UnitImpact(Schema):
    """One grid the change set changes: figures before and after, and both shapes."""

    code: str
    level: str
    name: str
    parent_code: str | None
    change: Literal["added", "changed", "retired", "recoded", "restored"]
    new_code: str | None = Field(description="新编码 for a recoded grid, its new code")
    version_before: int | None
    households_before: int | None
    households_after: int | None
    population_before: int | None
    population_after: int | None
    area_m2_before: float | None
    area_m2_after: float | None
    geometry_before: Geometry | None
    geometry_after: Geometry | None


class SpecialImpact(Schema):
    """A special grid the change set creates, reshapes or retires."""

    code: str
    kind: str
    name: str
    change: Literal["added", "changed", "retired"]
    version_before: int | None
    area_m2_before: float | None
    area_m2_after: float | None
    geometry_before: Geometry | None
    geometry_after: Geometry | None


class PlaceMove(Schema):
    """A compound or building that changes micro-grid."""

    ext_id: str
    name: str
    households: int
    from_: str | None = Field(alias="from")
    to: str | None


class WorkerImpact(Schema):
    """A worker whose grids or load change."""

    ext_id: str
    name: str
    grids_before: list[str]
    grids_after: list[str]
    households_before: int
    households_after: int


class IncidentInArea(Schema):
    """An open incident inside the area that changes micro-grid (it keeps its grid)."""

    id: int
    title: str
    status: str
    micro_code: str | None


class ChangePreview(Schema):
    """影响预览 What a change set does, before it is saved."""

    results: list[JsonObject] = Field(description="per operation: the codes it created")
    units: list[UnitImpact]
    specials: list[SpecialImpact] = Field(description="特色网格 special grids created, reshaped or retired")
    compounds: list[PlaceMove] = Field(description="小区 compounds changing micro-grid (first 200)")
    compounds_total: int
    buildings_moved: int
    workers: list[WorkerImpact] = Field(description="网格员 workers whose grids or load change")
    incidents: list[IncidentInArea] = Field(
        description="案件 open incidents in the area changing grid (first 200)"
    )
    incidents_total: int
    incidents_note: str
    coverage_changed: list[str] = Field(description="10-minute coverage figures of these micro-grids change")
    errors: list[EditIssue]
    warnings: list[EditIssue]
    notes: list[str]
    changed_area: Geometry | None = Field(description="the area that changes micro-grid")


class ChangeSetOut(Schema):
    """变更集 A change set: a draft, saved (with its generation) or cancelled."""

    id: int
    status: Literal["draft", "saved", "cancelled"]
    version: int = Field(description="the draft's version (send it back when updating or saving)")
    created_at: Timestamp
    updated_at: Timestamp
    created_by: str | None
    reason: str | None
    operations: list[JsonObject]
    base_versions: dict[str, int] = Field(
        description="the version of each grid the draft changes, when drafted"
    )
    generation_id: int | None
    saved_at: Timestamp | None
    preview: ChangePreview | None


class ChangeSetPage(Schema):
    """Change sets, newest first."""

    total: int
    limit: int
    offset: int
    items: list[ChangeSetOut]


class SharedEdge(Schema):
    """An edge a grid shares with one neighbour."""

    neighbour: str
    neighbour_name: str
    same_parent: bool
    editable: bool = Field(description="the caller may move it (both grids micro-grids in their scope)")
    length_m: float
    line: Geometry


class GridEdges(Schema):
    """共享边 A grid's outline and the edges it shares with each neighbour."""

    code: str
    name: str
    level: str
    parent_code: str | None
    version: int
    geometry: Geometry
    edges: list[SharedEdge]


class GridVersion(Schema):
    """One version of a grid code."""

    version: int
    name: str
    parent_code: str | None
    households: int
    population: int
    valid_from: Timestamp
    valid_to: Timestamp | None
    generation_id: int | None
    retired_generation_id: int | None
    created_by: str | None
    source: str | None
    reason: str | None
    geometry: Geometry


class PartitionCompound(Schema):
    """A compound of a proposed micro-grid."""

    ext_id: str
    name: str
    households: int


class ProposedPart(Schema):
    """One proposed micro-grid."""

    compounds: list[PartitionCompound]
    households: int
    population: int
    compactness: float = Field(description="Polsby-Popper 4πA/P² (1 = a circle)")
    contiguous: bool
    geometry: Geometry


class CurrentPart(Schema):
    """One current micro-grid of the general grid."""

    code: str
    name: str
    households: int
    population: int
    compactness: float
    geometry: Geometry


class PartitionFigures(Schema):
    """How a division scores."""

    micro_grids: int
    households_min: int
    households_max: int
    households_stdev: float
    out_of_range: int = Field(description="micro-grids outside the household range")
    compactness_mean: float
    compounds_cut: int


class PartitionProposal(Schema):
    """自动划分建议 A proposed division of a general grid, beside the current one (nothing saved)."""

    general: str
    method: str
    parts: list[ProposedPart]
    figures: PartitionFigures
    current: list[CurrentPart]
    current_figures: PartitionFigures
    warnings: list[str]
    operations: list[JsonObject] = Field(description="the change set's operations that would save it")
