"""Incidents: the dictionary, lists, one incident with its timeline, duplicates, statistics and the map layer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.common import (
    Feature,
    FeatureCollection,
    JsonObject,
    LonLat,
    NamedRef,
    Number,
    Schema,
    Timestamp,
)


class Category(Schema):
    """事件类别 A category with its step time limits and duplicate rule."""

    code: str = Field(description="编码 e.g. chengguan.litter")
    parent_code: str | None = Field(description="上级类别 the parent category")
    name: str = Field(description="名称 Chinese name")
    name_en: str | None = Field(description="英文名 English name")
    step_hours: dict[str, Number] = Field(description="时限 hours per workflow step (file, dispatch, …)")
    duplicate_radius_m: float = Field(description="查重半径 metres within which a report may be a duplicate")
    duplicate_window_h: float = Field(description="查重时窗 hours back a report may be a duplicate")


class WorkflowRow(Schema):
    """流程 One action of the workflow table."""

    action: str = Field(
        description="操作 file, dispatch, start, report, verify, close, return, reject, escalate"
    )
    label: str = Field(description="名称 Chinese and English")
    from_: list[str] = Field(alias="from", description="起始状态 statuses the action starts from")
    to: str = Field(description="目标状态 the status after it ('previous' or 'unchanged' for some)")
    roles: list[str] | dict[str, list[str]] = Field(
        description="角色 roles allowed, or per incident level the roles allowed there"
    )
    needs_reason: bool = Field(description="需说明 a comment is required")


class IncidentMeta(Schema):
    """事件字典 Categories, channels, statuses, levels and the workflow table."""

    categories: list[Category]
    channels: list[str] = Field(description="来源 report channels")
    statuses: dict[str, str] = Field(description="状态 status → label")
    levels: dict[str, str] = Field(description="处置层级 level → label")
    workflow: list[WorkflowRow]


class CategoryRef(Schema):
    """类别 An incident's category."""

    code: str
    name: str = Field(description="中文名 Chinese name")
    name_en: str | None = Field(description="英文名 English name")


class WgsLocation(LonLat):
    """位置 The incident's WGS 84 point."""

    crs: Literal["wgs84"]


class IncidentGrid(Schema):
    """所属网格 The micro-grid (generation in force at the report time) and its parents' codes."""

    unit_id: int | None = Field(description="网格版本记录 id of the micro-grid generation")
    micro_code: str | None
    micro_name: str | None
    general_code: str | None
    community_code: str | None
    subdistrict_code: str | None


class Step(Schema):
    """当前环节 The running workflow step and its deadline."""

    name: str | None = Field(description="环节 the step (file, dispatch, start, …); null when finished")
    started_at: Timestamp = Field(description="开始 when the step started")
    due_at: Timestamp | None = Field(description="期限 when it is due")
    colour: str = Field(description="时限颜色 green, yellow (≥ 80 % used), red (late) or none")


class IncidentBase(Schema):
    """What the list, the map and the detail share (the list adds the location, the map the colour)."""

    id: int
    ext_id: str | None = Field(description="外部编号 an outside system's id (e.g. 12345 hotline)")
    title: str
    category: CategoryRef
    channel: str = Field(description="来源 how it was reported")
    status: str = Field(
        description="状态 reported, filed, dispatched, handling, handled, verified, closed, rejected"
    )
    status_label: str = Field(description="状态名称 Chinese and English")
    level: str = Field(description="处置层级 micro, grid, subdistrict or department")
    department: str | None = Field(description="部门 the department escalated to")
    reported_at: Timestamp
    grid: IncidentGrid
    step: Step
    dispatched_at: Timestamp | None
    closed_at: Timestamp | None
    version: int = Field(description="版本 the version (also the ETag); send it back when acting")


class IncidentSummary(IncidentBase):
    """事件 An incident as listed."""

    location: WgsLocation


class IncidentPage(Schema):
    """事件列表 One page of incidents, newest first."""

    total: int = Field(description="总数 incidents matching in all")
    limit: int
    offset: int
    items: list[IncidentSummary]


class OverdueIncident(IncidentSummary):
    """超时事件 An incident past (or near) its step's deadline."""

    overdue_minutes: float = Field(description="超时分钟 minutes past due (negative: yellow, not yet due)")


class TimelineEvent(Schema):
    """办理记录 One event on an incident's timeline."""

    at: Timestamp
    actor: str | None
    role: str | None
    action: str
    label: str
    from_status: str | None
    to_status: str | None
    comment: str | None
    attachments: list[str] = Field(description="附件 file names")
    detail: JsonObject | None = Field(description="详情 e.g. the category before and after, codes moved")


class AllowedAction(Schema):
    """可办理操作 An action the caller may take now."""

    action: str
    label: str
    needs_reason: bool
    to_status: str | None = Field(default=None, description="目标状态 (not for escalate)")
    levels: list[str] | None = Field(
        default=None, description="可升级层级 escalate: the levels to choose from"
    )


class InputCoordinates(Schema):
    """上报坐标 The coordinates as reported, in their CRS."""

    crs: str | None
    lon: float | None
    lat: float | None


class IncidentDetail(IncidentSummary):
    """事件详情 An incident with its description, timeline and the actions the caller may take."""

    description: str | None
    address: str | None
    reporter: str | None
    created_by: str | None = Field(description="录入人 the account that reported it")
    compound: NamedRef | None = Field(description="小区 when reported from a compound")
    input: InputCoordinates
    timeline: list[TimelineEvent]
    allowed_actions: list[AllowedAction]


class Duplicate(Schema):
    """疑似重复 An open incident close by, of the same category family, reported recently."""

    id: int
    ext_id: str | None
    title: str
    status: str
    category_code: str
    reported_at: Timestamp
    micro_code: str | None
    distance_m: float = Field(description="距离 metres from the point")
    radius_m: float = Field(description="查重半径 the category's radius (m)")
    window_h: float = Field(description="查重时窗 the category's window (h)")


class CreatedIncident(IncidentDetail):
    """新事件 The incident reported, with its possible duplicates."""

    duplicates: list[Duplicate]


class DuplicateCheck(Schema):
    """查重结果 Possible duplicates of a report at a point."""

    category: str
    radius_m: float
    window_h: float
    at: Timestamp
    wgs84: LonLat
    input_crs: str
    duplicates: list[Duplicate]


class StatsRow(Schema):
    """统计行 Counts and times for one group (or all together)."""

    key: str | None = Field(description="分组 code, category or period; null for all together")
    name: str | None = Field(description="名称 the group's name")
    total: int
    open: int
    closed: int
    rejected: int
    median_dispatch_min: float | None = Field(description="派遣中位分钟 median minutes report → dispatch")
    median_close_min: float | None = Field(description="结案中位分钟 median minutes report → closure")
    overdue: int = Field(description="超时 a step finished late, or red now")
    overdue_share: float | None = Field(description="超时比例 overdue / total")
    red_now: int = Field(description="当前超时 red now")


class IncidentStats(Schema):
    """事件统计 Per group, and all together."""

    by: str
    from_: Timestamp | None = Field(alias="from")
    to: Timestamp | None
    at: Timestamp = Field(description="统计时间 when computed")
    groups: list[StatsRow]
    all: StatsRow


class IncidentProperties(IncidentBase):
    """事件属性 The summary without location, plus the deadline colour and due time at the top."""

    colour: str
    due_at: Timestamp | None


class IncidentFeature(Feature):
    """事件要素 An incident as a GeoJSON Point feature."""

    id: int  # type: ignore[assignment]
    properties: IncidentProperties  # type: ignore[assignment]


class IncidentFeatureCollection(FeatureCollection):
    """事件地图 Incidents as a GeoJSON FeatureCollection (WGS 84 points)."""

    features: list[IncidentFeature]  # type: ignore[assignment]
    total: int = Field(description="总数 incidents matching in all")
