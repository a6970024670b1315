"""Grid units and the topology check."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Geometry, Schema, Timestamp


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
