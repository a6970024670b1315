"""Locate a point in the grid, and find compounds and buildings to locate."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Lat, Lon, NamedRef, Schema, Timestamp


class InputPoint(Schema):
    """输入坐标 The coordinates as sent, in their CRS."""

    lon: float = Field(description="经度 longitude in `crs`")
    lat: float = Field(description="纬度 latitude in `crs`")
    crs: str = Field(description="坐标系 wgs84, cgcs2000, gcj02 or bd09")


class Wgs84Point(Schema):
    """WGS 84 坐标 The point converted to WGS 84 and how far the conversion moved it."""

    lon: Lon
    lat: Lat
    shift_m: float = Field(description="偏移 metres between the input and WGS 84 (about 300 m for gcj02)")


class MicroGrid(Schema):
    """微网格 The micro-grid the point lies in (the generation in force)."""

    code: str = Field(description="编码 the micro-grid's code")
    name: str = Field(description="名称 name")
    unit_id: int = Field(description="记录 id of the grid unit row in force at `at` (incidents keep it)")
    version: int = Field(description="版本 the code's version in force at `at`")
    generation_id: int | None = Field(
        description="批次 the grid generation that began that version (GET /api/grids/generations/{id})"
    )


class PathStep(Schema):
    """上级 One level of the hierarchy, subdistrict first."""

    level: str = Field(description="层级 subdistrict, community, general or micro")
    code: str
    name: str


class Candidate(Schema):
    """候选网格 A micro-grid touched by the accuracy circle."""

    code: str
    name: str
    covers: bool = Field(description="包含该点 the micro-grid covers the point itself")
    distance_m: float = Field(description="距离 metres from the point")


class Responsible(Schema):
    """责任人 A worker responsible for the point's grids."""

    name: str
    role: str = Field(description="职责 micro_grid_worker, grid_worker or community_head")
    title: str | None = Field(description="职务 title")
    phone: str | None = Field(
        default=None, description="电话 masked phone number (callers with contacts.read)"
    )
    grid_code: str = Field(description="网格 the grid they are responsible for")


class BuildingRef(Schema):
    """楼栋 The building the point is in."""

    id: str
    label: str = Field(description="楼栋号 e.g. 3栋")


class NearestSite(Schema):
    """最近服务阵地 A service site by walking distance along the network (bridges only across rivers)."""

    rank: int = Field(description="名次 1 = nearest")
    id: str
    kind: str = Field(description="类型 centre, community or outpost")
    name: str
    brand: str | None = Field(description="品牌 the site's brand, if any")
    opening_hours: str | None = Field(description="开放时间 opening hours")
    address: str | None = Field(description="地址 address")
    walk_m: float | None = Field(description="步行距离 metres along the walking network")
    straight_m: float = Field(description="直线距离 straight-line metres")
    lon: Lon
    lat: Lat


class LocateAnswer(Schema):
    """定位结果 Where a point lies in the grid, who is responsible and the nearest service sites."""

    input: InputPoint
    wgs84: Wgs84Point
    at: Timestamp = Field(description="时间 the time whose grid generation answered")
    accuracy_m: float = Field(description="精度 the accuracy radius used (m)")
    micro_grid: MicroGrid
    path: list[PathStep] = Field(description="层级路径 subdistrict → community → general grid → micro-grid")
    ambiguous: bool = Field(description="不确定 the accuracy circle touches several micro-grids")
    candidates: list[Candidate] = Field(description="候选 every micro-grid within the accuracy circle")
    owner_rule: str = Field(description="归属规则 which candidate owns a point on a shared edge")
    workers: list[Responsible] = Field(description="责任人 micro-grid worker, grid worker, community head")
    compound: NamedRef | None = Field(description="小区 the compound the point is in")
    building: BuildingRef | None = Field(description="楼栋 the building the point is in")
    nearest_sites: list[NearestSite] = Field(description="最近的三个服务阵地 the three nearest sites on foot")


class Place(Schema):
    """地点候选 A compound (and building) matching the typed place, with a point to locate."""

    compound_id: str = Field(description="小区编号 compound id")
    compound: str = Field(description="小区 compound name")
    aliases: list[str] | None = Field(description="别名 the compound's other names")
    building_id: str | None = Field(description="楼栋编号 building id, when a building matched")
    building: str | None = Field(description="楼栋 building label, e.g. 3栋")
    unit: str | None = Field(description="单元 the unit typed, e.g. 1 in 2-1")
    building_not_found: str | None = Field(
        description="未找到的楼栋 the building asked for, when none matched"
    )
    score: float = Field(description="相似度 name similarity, 1 = exact")
    lon: Lon
    lat: Lat
    crs: str = Field(description="坐标系 always wgs84: pass lon/lat to /api/locate with crs=wgs84")
