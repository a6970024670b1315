"""Map layers, their GeoJSON pages, search and the map page's configuration."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import BBox, FeatureCollection, Lat, Lon, Schema


class LayerSummary(Schema):
    """图层 A map layer: name, titles, geometry kind and how many features it has."""

    name: str = Field(description="图层名 e.g. micro_grids, sites, bank_segments")
    title_zh: str = Field(description="中文名 Chinese title")
    title_en: str = Field(description="英文名 English title")
    geometry: str = Field(description="几何类型 polygon, line or point")
    count: int = Field(description="要素数 features in the layer")


class LayerPage(FeatureCollection):
    """图层要素 One page of a layer's features (GeoJSON FeatureCollection, WGS 84), with paging."""

    layer: str = Field(description="图层名 the layer")
    numberMatched: int = Field(description="匹配总数 features matching bbox in all")  # noqa: N815 (OGC API)
    numberReturned: int = Field(description="本页数量 features in this page")  # noqa: N815
    offset: int = Field(description="偏移 features skipped")
    limit: int = Field(description="每页上限 most features per page")
    next_offset: int | None = Field(description="下一页偏移 the next page's offset; null on the last page")


class MapConfig(Schema):
    """地图配置 What the map page needs at start."""

    tile_url: str | None = Field(description="在线底图 URL template of an online tile layer; null = offline")
    tile_attribution: str = Field(description="底图版权 the tile layer's attribution")
    default_language: str = Field(description="默认语言 zh or en")
    layer_max_features: int = Field(description="每页要素上限 the server's most features per layer page")
    extent: BBox | None = Field(description="数据范围 the data's extent; null when there are no grids")
    layers: list[LayerSummary]


class SearchHit(Schema):
    """搜索结果 A grid unit, compound or service site matching the text, with where to zoom."""

    kind: str = Field(description="类型 grid, compound or site")
    subkind: str | None = Field(description="子类 the grid level, or the site's kind")
    id: str = Field(description="标识 code or id")
    name: str = Field(description="名称 name")
    code: str | None = Field(description="编码 grid code, where there is one")
    lon: Lon
    lat: Lat
    bbox: BBox
