"""TEMP map-config: how the map draws each layer, served in `GET /api/map-config` (`layers`).

Stand-in for the layer registry the integrator is building: its entries will carry these titles, keys, fields
(with labels and privacy) and map hints, and this module goes away. The shape is the contract the web client
(web/src/map/config.js) reads; nothing in the browser names a layer, a field label or a colour any more.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gisgrid import layers as layer_service


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _field(
    name: str, kind: str, zh: str, en: str, *, private: bool = False, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": kind, "label": _t(zh, en), "private": private}
    if values:
        field["values"] = (
            values  # labels of coded values (site kinds, bank sides), shown in popups and search
        )
    return field


def _grid_style(color: str, weight: float, dash: str | None) -> dict[str, Any]:
    # An invisible fill (opacity 0 still takes pointer events in SVG) keeps the interior clickable without
    # tinting the base map four times over where the levels nest; the boundary line carries the meaning.
    return {
        "color": color,
        "weight": weight,
        "dashArray": dash,
        "opacity": 0.9,
        "fill": True,
        "fillColor": color,
        "fillOpacity": 0,
    }


def _grid_fields() -> list[dict[str, Any]]:
    return [
        _field("code", "str", "编码", "Code"),
        _field("name", "str", "名称", "Name"),
        _field("name_en", "str", "英文名称", "English name"),
        _field("level", "str", "层级", "Level"),
        _field("parent_code", "str", "上级编码", "Parent code"),
        _field("households", "int", "户数", "Households", private=True),
        _field("population", "int", "人口", "Population", private=True),
        _field("version", "int", "版本", "Version"),
        _field("workers", "json", "负责人", "Responsible workers"),
    ]


def _grid(
    title: dict[str, str], z: int, color: str, weight: float, dash: str | None, rank: int, **extra: Any
) -> dict[str, Any]:
    style = _grid_style(color, weight, dash)
    return {
        "title": title,
        "key": "code",
        "map": {
            "z_index": z,
            "visible": True,
            "interactive": True,
            "min_zoom": extra.get("min_zoom", 0),
            "label": extra.get("label"),
            "identify_rank": rank,
            "style": style,
            "style_by": None,
            "symbol": None,
            "legend": [{"label": title, "style": style, "area": False}],
        },
        "fields": _grid_fields(),
    }


SPECIAL = {
    "law": ("#5e35b1", _t("法治格", "Rule-of-law grid")),
    "care": ("#d81b60", _t("关爱格", "Care grid")),
    "medical": ("#00897b", _t("医疗格", "Medical grid")),
    "veterans": ("#558b2f", _t("退役军人格", "Veterans grid")),
}
WALK = {
    "road": ({"color": "#cfc8bb", "weight": 4}, _t("道路", "Road")),
    "path": ({"color": "#9e978a", "weight": 1.5, "dashArray": "3 3"}, _t("步道", "Footpath")),
    "bridge": ({"color": "#6d4c41", "weight": 4}, _t("桥梁", "Bridge")),
    "crossing": ({"color": "#8d8d8d", "weight": 2, "dashArray": "1 3"}, _t("过街通道", "Crossing")),
}
BANK = {
    "left": ("#0d47a1", _t("左岸", "Left bank")),
    "right": ("#00838f", _t("右岸", "Right bank")),
}
SITES = {
    "centre": _t("街道便民服务中心", "Subdistrict service centre"),
    "community": _t("社区党群服务阵地", "Community service site"),
    "outpost": _t("小区服务阵地", "Compound outpost"),
}
COMPOUND_STYLE = {"color": "#c8b78e", "weight": 1, "fillColor": "#efe5cb", "fillOpacity": 0.85}
BUILDING_STYLE = {"color": "#857b6c", "weight": 0.5, "fillColor": "#bdb3a4", "fillOpacity": 0.9}
RIVER_STYLE = {"color": "#81b4e3", "weight": 8, "opacity": 0.9, "lineCap": "round"}


def _map(z: int, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "z_index": z,
        "visible": True,
        "interactive": True,
        "min_zoom": 0,
        "label": None,
        "identify_rank": None,
        "style": {},
        "style_by": None,
        "symbol": None,
        "legend": [],
    }
    base.update(kw)
    return base


def _hints() -> dict[str, dict[str, Any]]:
    """Map hints per layer name, bottom to top (z_index orders the Leaflet panes: overlay 400, tooltips 650)."""
    special_style = {
        "weight": 2,
        "dashArray": "1 5",
        "lineCap": "round",
        "fillOpacity": 0.12,
        "color": "#757575",
    }
    return {
        "compounds": {
            "title": _t("小区", "Compounds"),
            "key": "id",
            "map": _map(
                401,
                min_zoom=14,
                identify_rank=2,
                style=COMPOUND_STYLE,
                legend=[{"label": _t("小区", "Compounds"), "style": COMPOUND_STYLE, "area": True}],
            ),
            "fields": [
                _field("id", "str", "编号", "ID"),
                _field("name", "str", "名称", "Name"),
                _field("aliases", "list", "别名", "Aliases"),
                _field("households", "int", "户数", "Households", private=True),
                _field("population", "int", "人口", "Population", private=True),
                _field("buildings", "int", "楼栋数", "Buildings"),
            ],
        },
        "buildings": {
            "title": _t("楼栋", "Buildings"),
            "key": "id",
            "map": _map(
                402,
                visible=False,
                min_zoom=16,
                identify_rank=1,
                style=BUILDING_STYLE,
                legend=[{"label": _t("楼栋", "Buildings"), "style": BUILDING_STYLE, "area": True}],
            ),
            "fields": [
                _field("id", "str", "编号", "ID"),
                _field("compound", "str", "小区", "Compound"),
                _field("label", "str", "楼栋", "Building"),
                _field("floors", "int", "层数", "Floors"),
                _field("households", "int", "户数", "Households", private=True),
            ],
        },
        "rivers": {
            "title": _t("河流", "Rivers"),
            "key": "id",
            "map": _map(
                403,
                interactive=False,
                style=RIVER_STYLE,
                legend=[{"label": _t("河流", "Rivers"), "style": RIVER_STYLE, "area": False}],
            ),
            "fields": [
                _field("id", "str", "编号", "ID"),
                _field("name", "str", "名称", "Name"),
                _field("width_m", "float", "宽度（米）", "Width (m)"),
            ],
        },
        "walk_edges": {
            "title": _t("步行网络", "Walking network"),
            "key": "id",
            "map": _map(
                404,
                interactive=False,
                min_zoom=15,
                style={"opacity": 0.95, **WALK["path"][0]},
                style_by={"field": "kind", "values": {k: s for k, (s, _) in WALK.items()}},
                legend=[{"label": label, "style": s, "area": False} for s, label in WALK.values()],
            ),
            "fields": [
                _field("id", "str", "编号", "ID"),
                _field("kind", "str", "类型", "Kind", values={k: label for k, (_, label) in WALK.items()}),
                _field("name", "str", "名称", "Name"),
                _field("length_m", "float", "长度（米）", "Length (m)"),
            ],
        },
        "micro_grids": _grid(
            _t("微网格", "Micro-grids"),
            410,
            "#1565c0",
            1,
            "2 3",
            3,
            min_zoom=13,
            label={"field": "name", "min_zoom": 17, "offset": [0, 0]},
        ),
        "general_grids": _grid(
            _t("一般网格", "General grids"),
            411,
            "#ef6c00",
            2,
            "7 4",
            4,
            min_zoom=11,
            label={"field": "name", "min_zoom": 16, "offset": [0, 0]},
        ),
        # A community's site usually stands near its middle: its label sits a little lower so both stay readable.
        "communities": _grid(
            _t("社区", "Communities"),
            412,
            "#c62828",
            3,
            None,
            5,
            label={"field": "name", "min_zoom": 0, "offset": [0, 18]},
        ),
        "subdistricts": _grid(_t("街道", "Subdistricts"), 413, "#6a1b9a", 4, None, 6),
        "special_grids": {
            "title": _t("特色网格", "Special grids"),
            "key": "code",
            "map": _map(
                414,
                visible=False,
                min_zoom=13,
                identify_rank=7,
                style=special_style,
                style_by={
                    "field": "kind",
                    "values": {k: {"color": c, "fillColor": c} for k, (c, _) in SPECIAL.items()},
                },
                legend=[
                    {
                        "label": label,
                        "style": {**special_style, "color": c, "fillColor": c, "dashArray": "1 4"},
                        "area": True,
                    }
                    for c, label in SPECIAL.values()
                ],
            ),
            "fields": [
                _field("code", "str", "编码", "Code"),
                _field("kind", "str", "类型", "Kind", values={k: label for k, (_, label) in SPECIAL.items()}),
                _field("name", "str", "名称", "Name"),
                _field("community_code", "str", "所属社区", "Community"),
            ],
        },
        "bank_segments": {
            "title": _t("河岸巡河段", "River bank segments"),
            "key": "code",
            "map": _map(
                420,
                min_zoom=12,
                style={"weight": 3, "dashArray": "8 5", "opacity": 0.95, "color": BANK["left"][0]},
                style_by={"field": "side", "values": {k: {"color": c} for k, (c, _) in BANK.items()}},
                legend=[
                    {"label": label, "style": {"color": c, "weight": 3, "dashArray": "8 5"}, "area": False}
                    for c, label in BANK.values()
                ],
            ),
            "fields": [
                _field("code", "str", "编码", "Code"),
                _field("name", "str", "名称", "Name"),
                _field("side", "str", "岸别", "Bank", values={k: label for k, (_, label) in BANK.items()}),
                _field("seq", "int", "序号", "Sequence"),
                _field("length_m", "float", "长度（米）", "Length (m)"),
            ],
        },
        # Above the tooltip pane (650): a community's site often sits where its name label is drawn.
        "sites": {
            "title": _t("服务阵地", "Service sites"),
            "key": "id",
            "map": _map(
                660,
                min_zoom=12,
                symbol="site",
                legend=[
                    {"label": label, "symbol": kind, "style": {}, "area": False}
                    for kind, label in SITES.items()
                ],
            ),
            "fields": [
                _field("id", "str", "编号", "ID"),
                _field("kind", "str", "类型", "Kind", values=SITES),
                _field("name", "str", "名称", "Name"),
                _field("brand", "str", "品牌", "Brand"),
                _field("services", "list", "服务事项", "Services"),
                _field("opening_hours", "str", "开放时间", "Opening hours"),
                _field("address", "str", "地址", "Address"),
                _field("community_code", "str", "所属社区", "Community"),
            ],
        },
    }


def map_layers(session: Session) -> list[dict[str, Any]]:
    """The `layers` of /api/map-config: every stored layer with its count, fields and map hints."""
    hints = _hints()
    out = []
    for summary in layer_service.layer_summaries(session):
        hint = hints[summary["name"]]
        out.append(
            {
                "name": summary["name"],
                "title": hint["title"],
                "geometry": summary["geometry"],
                "key": hint["key"],
                "count": summary["count"],
                "map": hint["map"],
                "fields": hint["fields"],
            }
        )
    return out
