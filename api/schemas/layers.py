"""Map layers, their GeoJSON pages, search and the map page's configuration."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import BBox, FeatureCollection, Lat, Lon, Schema


class Labels(Schema):
    """中英文名称 A label in Chinese and English."""

    zh: str
    en: str


class LayerField(Schema):
    """字段 A property of the layer's features, as the map shows it."""

    name: str = Field(description="字段名 property name")
    type: str = Field(description="类型 str, int, float, list or json")
    label: Labels
    private: bool = Field(description="仅登录可见 only callers who may read contacts see it")
    values: dict[str, Labels] | None = Field(default=None, description="取值名称 labels of coded values")


class MapLabel(Schema):
    """标注 Which property labels the features, from which zoom."""

    field: str
    min_zoom: int
    offset: list[int] = Field(description="[x, y] pixels")


class StyleBy(Schema):
    """分类样式 Leaflet style options per value of one property."""

    field: str
    values: dict[str, dict[str, Any]]


class LegendEntry(Schema):
    """图例 One legend entry."""

    label: Labels
    style: dict[str, Any] = Field(description="Leaflet path options of the swatch")
    area: bool = Field(description="面 drawn as an area swatch")
    symbol: str | None = Field(description="CSS symbol instead of a swatch, e.g. site-centre")


class MapHints(Schema):
    """地图样式 How the map draws the layer (style hints as Leaflet options)."""

    z_index: int = Field(description="叠放次序 higher is drawn on top")
    visible: bool = Field(description="默认显示 shown at start")
    interactive: bool = Field(description="可点击 answers clicks")
    min_zoom: int = Field(description="最小级别 features are asked for from this zoom on")
    label: MapLabel | None
    identify_rank: int | None = Field(description="识别次序 'what is here?' order, finest first")
    style: dict[str, Any] = Field(description="Leaflet path options")
    style_by: StyleBy | None
    symbol: str | None = Field(description="CSS symbol of point features by their kind")
    legend: list[LegendEntry]


class LayerSummary(Schema):
    """图层 A map layer: name, titles, geometry kind, feature count, fields and style hints."""

    name: str = Field(description="图层名 e.g. micro_grids, sites, bank_segments")
    title_zh: str = Field(description="中文名 Chinese title")
    title_en: str = Field(description="英文名 English title")
    title: Labels
    geometry: str = Field(description="几何类型 polygon, line or point")
    key: str = Field(description="标识字段 the property that identifies a feature")
    count: int = Field(description="要素数 features in the layer")
    history: bool = Field(description="有历史版本 the layer answers `at` (the features in force at a time)")
    map: MapHints
    fields: list[LayerField]


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
