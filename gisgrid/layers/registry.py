"""THE layer registry: every stored layer (dataset) and every map layer, defined once.

A *dataset* is what is stored and exchanged as a file: its table, geometry type, key and fields (with types,
labels in Chinese and English and who may see them). A *map layer* is a view of a dataset on the map (the four
grid levels are four views of the grids dataset) with its style hints. The GeoJSON API, file import/export, the
bulk loader, the demo loader and the map page (through `/api/map-config`) all read this module, so a new layer is
one entry here (and its table in a migration), not an edit in eight places.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import Column, Integer, MetaData, Table

from gisgrid.db.models import EDGE_KINDS, GRID_LEVELS, SITE_KINDS, SPECIAL_GRID_KINDS, WORKER_ROLES
from gisgrid.errors import InvalidInput, NotFound

# Columns of these names are String(32) in the schema.
_CODES = ("code", "id", "parent_code", "community_code", "phone", "compound_id", "river_id")


@dataclass(frozen=True)
class Field:
    """One attribute of a layer: in its files, in its table and as a property of its map features."""

    name: str
    kind: str = "str"  # str | int | float | list | json
    zh: str = ""
    en: str = ""
    required: bool = True
    column: str | None = None  # the table's column; defaults to name
    choices: tuple[str, ...] = ()
    choice_labels: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # value -> (zh, en)
    max_len: int | None = None  # of a str column
    ref: str | None = None  # the dataset whose key this field holds (stored as that row's id)
    private: bool = False  # a property only callers who may read contacts see (households, phones)
    shown: bool = True  # a property of the map features
    expr: str | None = None  # SQL (table alias t) of the map property when it is not the plain column

    @property
    def col(self) -> str:
        """The database column."""
        return self.column or self.name

    def public(self) -> dict[str, Any]:
        """What the map page needs to know of this field."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.kind,
            "label": {"zh": self.zh or self.name, "en": self.en or self.name},
            "private": self.private,
        }
        if self.choice_labels:
            out["values"] = {v: {"zh": zh, "en": en} for v, (zh, en) in self.choice_labels.items()}
        return out


def f(name: str, kind: str = "str", zh: str = "", en: str = "", **kw: Any) -> Field:
    """A field; code-like names get the schema's 32-character limit."""
    if name in _CODES and kind == "str":
        kw.setdefault("max_len", 32)
    return Field(name, kind, zh, en, **kw)


@dataclass(frozen=True)
class Dataset:
    """A stored layer: one table, one file (import/export, the bulk and demo loaders)."""

    name: str
    zh: str
    en: str
    table: str
    geometry: str | None  # Polygon (stored as MultiPolygon) | MultiPolygon | Point | LineString | None
    key: str  # attribute that identifies a feature, unique within the file
    fields: tuple[Field, ...]  # the attributes of its files, in file order
    file_name: str
    extra: tuple[Field, ...] = ()  # map-only properties derived in SQL (version, workers, lengths, names)
    stored: tuple[str, ...] = ()  # columns the loader fills beside the fields (e.g. length_m)
    current: str = "TRUE"  # SQL (alias t) of the rows in force (grids: the current generation)
    # SQL (alias t) of the rows in force at the bound parameter :at, for datasets that keep their history (grids:
    # the generation in force then); None = no history, a layer request with `at` is refused.
    as_of: str | None = None
    derived_from_geometry: Mapping[str, str] = field(default_factory=dict)  # column -> how: "length_m"

    def field(self, name: str) -> Field:
        """The field called `name`."""
        for fs in self.fields:
            if fs.name == name:
                return fs
        raise KeyError(name)

    def properties(self) -> tuple[Field, ...]:
        """The properties of its map features: the shown file fields, then the derived ones."""
        return tuple(fs for fs in self.fields if fs.shown) + self.extra

    def table_object(self) -> Table:
        """A SQLAlchemy Core table of the stored columns (no ORM model needed)."""
        cols: list[Column[Any]] = [Column("id", Integer, primary_key=True)]
        cols += [Column(name) for name in dict.fromkeys([fs.col for fs in self.fields] + list(self.stored))]
        if self.geometry is not None:
            cols.append(Column("geom", Geometry(srid=4326)))
        return Table(self.table, MetaData(), *cols)


@dataclass(frozen=True)
class Label:
    """A permanent label on the map: which property, from what zoom, offset in pixels."""

    field: str = "name"
    min_zoom: int = 0
    offset: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class LegendItem:
    """One entry of the map legend."""

    zh: str
    en: str
    style: Mapping[str, Any]
    area: bool = False
    symbol: str | None = None  # e.g. "site-centre": a CSS symbol instead of a line/box swatch


@dataclass(frozen=True)
class MapLayer:
    """A view of a dataset on the map, with its style hints (Leaflet path options)."""

    name: str
    dataset: str
    zh: str
    en: str
    geometry: str  # polygon | line | point
    z_index: int
    where: str = "TRUE"  # SQL (alias t) narrowing the dataset's current rows
    order: str = "t.id"
    visible: bool = True
    interactive: bool = True
    min_zoom: int = 0  # the map asks for its features only from this zoom on
    label: Label | None = None
    identify_rank: int | None = None  # "what is here?" order, finest first
    style: Mapping[str, Any] = field(default_factory=dict)
    style_by: tuple[str, Mapping[str, Mapping[str, Any]]] | None = None  # (property, value -> style)
    symbol: str | None = None  # point layers drawn as CSS symbols by their `kind`
    legend: tuple[LegendItem, ...] = ()

    def public(self) -> dict[str, Any]:
        """The map page's description of this layer (style hints as Leaflet options)."""
        return {
            "z_index": self.z_index,
            "visible": self.visible,
            "interactive": self.interactive,
            "min_zoom": self.min_zoom,
            "label": None
            if self.label is None
            else {
                "field": self.label.field,
                "min_zoom": self.label.min_zoom,
                "offset": list(self.label.offset),
            },
            "identify_rank": self.identify_rank,
            "style": dict(self.style),
            "style_by": None
            if self.style_by is None
            else {"field": self.style_by[0], "values": {k: dict(v) for k, v in self.style_by[1].items()}},
            "symbol": self.symbol,
            "legend": [
                {
                    "label": {"zh": item.zh, "en": item.en},
                    "style": dict(item.style),
                    "area": item.area,
                    "symbol": item.symbol,
                }
                for item in self.legend
            ],
        }


class Registry:
    """The datasets (in load order: a layer may refer to those before it) and the map layers (bottom to top)."""

    def __init__(
        self, datasets: tuple[Dataset, ...], map_layers: tuple[MapLayer, ...], internal: Mapping[str, str]
    ) -> None:
        self.datasets: dict[str, Dataset] = {d.name: d for d in datasets}
        self.map_layers: dict[str, MapLayer] = {m.name: m for m in map_layers}
        # Tables with geometry that are not layers of their own -> why (derived, or with an API of their own).
        self.internal: dict[str, str] = dict(internal)

    def dataset(self, name: str) -> Dataset:
        """The dataset called `name`, or InvalidInput listing those there are."""
        try:
            return self.datasets[name]
        except KeyError:
            raise InvalidInput(
                f"Unknown layer {name!r}.", field="layer", value=name, expected=", ".join(self.datasets)
            ) from None

    def map_layer(self, name: str) -> MapLayer:
        """The map layer called `name`, or NotFound listing those there are."""
        try:
            return self.map_layers[name]
        except KeyError:
            raise NotFound(
                f"There is no layer {name!r}.", field="layer", value=name, expected=", ".join(self.map_layers)
            ) from None

    def tables(self) -> set[str]:
        """Every table the registry knows (layers and internal ones)."""
        return {d.table for d in self.datasets.values()} | set(self.internal)

    @contextmanager
    def extended(self, dataset: Dataset, *map_layers: MapLayer) -> Iterator[None]:
        """Register a dataset (and its map layers) for the duration of a block (tests, plug-ins)."""
        self.datasets[dataset.name] = dataset
        for ml in map_layers:
            self.map_layers[ml.name] = ml
        try:
            yield
        finally:
            del self.datasets[dataset.name]
            for ml in map_layers:
                del self.map_layers[ml.name]


# --- the datasets --------------------------------------------------------------------------------------------
_LEVEL_LABELS = {
    "subdistrict": ("街道", "Subdistrict"),
    "community": ("社区", "Community"),
    "general": ("一般网格", "General grid"),
    "micro": ("微网格", "Micro-grid"),
}
_SITE_LABELS = {
    "centre": ("街道便民服务中心", "Subdistrict service centre"),
    "community": ("社区党群服务阵地", "Community service site"),
    "outpost": ("小区服务阵地", "Compound outpost"),
}
_EDGE_LABELS = {
    "road": ("道路", "Road"),
    "path": ("步道", "Footpath"),
    "bridge": ("桥梁", "Bridge"),
    "crossing": ("过街通道", "Crossing"),
}
_SPECIAL_LABELS = {
    "law": ("法治格", "Law grid"),
    "care": ("关爱格", "Care grid"),
    "medical": ("医疗格", "Medical grid"),
    "veterans": ("退役军人格", "Veterans grid"),
}
_ROLE_LABELS = {
    "community_head": ("社区党委书记", "Community Party secretary"),
    "grid_worker": ("专职网格员", "Grid worker"),
    "micro_grid_worker": ("微网格员", "Micro-grid worker"),
    "specialist": ("专业力量", "Specialist"),
}
_SIDE_LABELS = {"left": ("左岸", "Left bank"), "right": ("右岸", "Right bank")}

# The workers responsible for a grid unit, by its stable code (phones only for callers who may read contacts).
_WORKERS = (
    "(SELECT coalesce(json_agg(json_build_object('name', w.name, 'role', w.role, 'title', w.title, 'phone', w.phone)"
    " ORDER BY w.role, w.name), '[]'::json) FROM worker_grid wg JOIN worker w ON w.id = wg.worker_id"
    " WHERE wg.grid_code = t.code)"
)
_LENGTH = f("length_m", "float", "长度", "Length", expr="round(t.length_m::numeric, 1)")

GRIDS = Dataset(
    "grids",
    "网格",
    "Grids",
    "grid_unit",
    "MultiPolygon",
    "code",
    (
        f("code", zh="编码", en="Code"),
        f("level", zh="层级", en="Level", choices=GRID_LEVELS, choice_labels=_LEVEL_LABELS),
        f("parent_code", zh="上级编码", en="Parent code", required=False),
        f("name", zh="名称", en="Name"),
        f("name_en", zh="英文名称", en="English name", required=False),
        f("households", "int", "户数", "Households", private=True),
        f("population", "int", "人口", "Population", private=True),
    ),
    "grids.geojson",
    extra=(
        f("version", "int", "版本", "Version", expr="t.version"),
        # phones inside are private: see geojson.public_properties
        f("workers", "json", "负责人", "Responsible", expr=_WORKERS),
    ),
    current="t.valid_to IS NULL",
    as_of="t.valid_from <= :at AND (t.valid_to IS NULL OR t.valid_to > :at)",
)
SPECIAL_GRIDS = Dataset(
    "special_grids",
    "特色网格",
    "Special grids",
    "special_grid",
    "MultiPolygon",
    "code",
    (
        f("code", zh="编码", en="Code"),
        f("kind", zh="类型", en="Kind", choices=SPECIAL_GRID_KINDS, choice_labels=_SPECIAL_LABELS),
        f("name", zh="名称", en="Name"),
        f("community_code", zh="所属社区", en="Community", required=False),
    ),
    "special_grids.geojson",
    extra=(f("version", "int", "版本", "Version", expr="t.version"),),
    current="t.retired_at IS NULL",
)
COMPOUNDS = Dataset(
    "compounds",
    "小区",
    "Compounds",
    "compound",
    "MultiPolygon",
    "id",
    (
        f("id", zh="编号", en="ID", column="ext_id"),
        f("name", zh="名称", en="Name"),
        f("aliases", "list", "别名", "Also called", required=False),
        f("buildings", "int", "楼栋数", "Buildings"),
        f("households", "int", "户数", "Households", private=True),
        f("population", "int", "人口", "Population", private=True),
    ),
    "compounds.geojson",
)
BUILDINGS = Dataset(
    "buildings",
    "楼栋",
    "Buildings",
    "building",
    "Polygon",
    "id",
    (
        f("id", zh="编号", en="ID", column="ext_id"),
        f("compound_id", zh="小区", en="Compound", ref="compounds", shown=False),
        f("label", zh="楼号", en="Label"),
        f("floors", "int", "层数", "Floors", required=False),
        f("households", "int", "户数", "Households", private=True),
    ),
    "buildings.geojson",
    extra=(
        f(
            "compound",
            zh="小区",
            en="Compound",
            expr="(SELECT c.name FROM compound c WHERE c.id = t.compound_id)",
        ),
    ),
)
SITES = Dataset(
    "sites",
    "服务阵地",
    "Service sites",
    "service_site",
    "Point",
    "id",
    (
        f("id", zh="编号", en="ID", column="ext_id"),
        f("kind", zh="类型", en="Kind", choices=SITE_KINDS, choice_labels=_SITE_LABELS),
        f("name", zh="名称", en="Name"),
        f("brand", zh="品牌", en="Brand", required=False),
        f("services", "list", "服务事项", "Services", required=False),
        f("opening_hours", zh="开放时间", en="Opening hours", required=False),
        f("address", zh="地址", en="Address", required=False),
        f("community_code", zh="所属社区", en="Community", required=False),
        f("compound_id", zh="小区", en="Compound", required=False, ref="compounds", shown=False),
    ),
    "sites.geojson",
)
RIVERS = Dataset(
    "rivers",
    "河流",
    "Rivers",
    "river",
    "LineString",
    "id",
    (
        f("id", zh="编号", en="ID", column="ext_id"),
        f("name", zh="名称", en="Name"),
        f("width_m", "float", "宽度", "Width", required=False),
    ),
    "rivers.geojson",
)
BANK_SEGMENTS = Dataset(
    "bank_segments",
    "河岸巡河段",
    "River bank segments",
    "bank_segment",
    "LineString",
    "code",
    (
        f("code", zh="编码", en="Code"),
        f("river_id", zh="河流", en="River", ref="rivers", shown=False),
        f("side", zh="岸别", en="Bank", choices=("left", "right"), choice_labels=_SIDE_LABELS),
        f("seq", "int", "序号", "Sequence"),
        f("name", zh="名称", en="Name", required=False),
    ),
    "bank_segments.geojson",
    extra=(_LENGTH,),
    stored=("length_m",),
    derived_from_geometry={"length_m": "length_m"},
)
WALK_EDGES = Dataset(
    "walk_edges",
    "步行网络",
    "Walking network",
    "walk_edge",
    "LineString",
    "id",
    (
        f("id", zh="编号", en="ID", column="ext_id"),
        f("kind", zh="类型", en="Kind", choices=EDGE_KINDS, choice_labels=_EDGE_LABELS),
        f("name", zh="名称", en="Name", required=False),
    ),
    "walk_edges.geojson",
    extra=(_LENGTH,),
    stored=("length_m", "source", "target"),
    derived_from_geometry={"length_m": "length_m"},
)
WORKERS = Dataset(
    "workers",
    "网格工作人员",
    "Grid workers",
    "worker",
    None,
    "id",
    (
        f("id", zh="编号", en="ID", column="ext_id"),
        f("name", zh="姓名", en="Name"),
        f("role", zh="角色", en="Role", choices=WORKER_ROLES, choice_labels=_ROLE_LABELS),
        f("title", zh="职务", en="Title", required=False),
        f("phone", zh="电话", en="Phone", required=False, private=True),
        f("grid_codes", "list", "负责网格", "Grids", required=False),
    ),
    "workers.csv",
)

# --- the map layers ------------------------------------------------------------------------------------------
# The offline base (compounds, buildings, rivers, walking network) sits at the bottom; grid boundaries draw above
# it because they often follow roads and matter more to grid workers; bank segments and sites stay on top so they
# can be clicked. zIndex orders the Leaflet panes (overlay 400, markers 600, tooltips 650, popups 700).
_GRID_LINES = {
    "subdistricts": {"color": "#6a1b9a", "weight": 4, "dashArray": None},
    "communities": {"color": "#c62828", "weight": 3, "dashArray": None},
    "general_grids": {"color": "#ef6c00", "weight": 2, "dashArray": "7 4"},
    "micro_grids": {"color": "#1565c0", "weight": 1, "dashArray": "2 3"},
}
_WALK_STYLES = {
    "road": {"color": "#cfc8bb", "weight": 4},
    "path": {"color": "#9e978a", "weight": 1.5, "dashArray": "3 3"},
    "bridge": {"color": "#6d4c41", "weight": 4},
    "crossing": {"color": "#8d8d8d", "weight": 2, "dashArray": "1 3"},
}
_SPECIAL_COLOURS = {"law": "#5e35b1", "care": "#d81b60", "medical": "#00897b", "veterans": "#558b2f"}
_BANK_COLOURS = {"left": "#0d47a1", "right": "#00838f"}
_COMPOUND_STYLE = {"color": "#c8b78e", "weight": 1, "fillColor": "#efe5cb", "fillOpacity": 0.85}
_BUILDING_STYLE = {"color": "#857b6c", "weight": 0.5, "fillColor": "#bdb3a4", "fillOpacity": 0.9}
_RIVER_STYLE = {"color": "#81b4e3", "weight": 8, "opacity": 0.9, "lineCap": "round"}


def _grid_layer(name: str, level: str, z_index: int, **kw: Any) -> MapLayer:
    zh, en = _LEVEL_LABELS[level]
    line = _GRID_LINES[name]
    # An invisible fill (opacity 0 still takes pointer events in SVG) keeps the interior clickable without
    # tinting the base map four times over where the levels nest; the boundary line carries the meaning.
    style = {**line, "opacity": 0.9, "fill": True, "fillColor": line["color"], "fillOpacity": 0}
    titles = {
        "subdistricts": ("街道", "Subdistricts"),
        "communities": ("社区", "Communities"),
        "general_grids": ("一般网格", "General grids"),
        "micro_grids": ("微网格", "Micro-grids"),
    }
    return MapLayer(
        name,
        "grids",
        *titles[name],
        "polygon",
        z_index,
        where=f"t.level = '{level}'",
        order="t.code",
        style=style,
        legend=(LegendItem(zh, en, line),),
        **kw,
    )


MAP_LAYERS = (
    MapLayer(
        "compounds",
        "compounds",
        "小区",
        "Compounds",
        "polygon",
        401,
        order="t.ext_id",
        # Below zoom 14 a compound (and a micro-grid) is a few pixels: a city view draws grids above them only.
        min_zoom=14,
        identify_rank=1,
        style=_COMPOUND_STYLE,
        legend=(LegendItem("小区", "Compounds", _COMPOUND_STYLE, area=True),),
    ),
    MapLayer(
        "buildings",
        "buildings",
        "楼栋",
        "Buildings",
        "polygon",
        402,
        order="t.ext_id",
        visible=False,
        min_zoom=15,
        identify_rank=0,
        style=_BUILDING_STYLE,
        legend=(LegendItem("楼栋", "Buildings", _BUILDING_STYLE, area=True),),
    ),
    MapLayer(
        "rivers",
        "rivers",
        "河流",
        "Rivers",
        "line",
        403,
        order="t.ext_id",
        interactive=False,
        style=_RIVER_STYLE,
        legend=(LegendItem("河流", "Rivers", _RIVER_STYLE),),
    ),
    MapLayer(
        "walk_edges",
        "walk_edges",
        "步行网络",
        "Walking network",
        "line",
        404,
        interactive=False,
        min_zoom=14,
        style={"opacity": 0.95, **_WALK_STYLES["path"]},
        style_by=("kind", _WALK_STYLES),
        legend=tuple(LegendItem(*_EDGE_LABELS[k], s) for k, s in _WALK_STYLES.items()),
    ),
    _grid_layer("micro_grids", "micro", 410, label=Label("name", 17), identify_rank=2, min_zoom=14),
    _grid_layer("general_grids", "general", 411, label=Label("name", 16), identify_rank=3),
    # A community's site usually stands near its middle: its label sits a little lower so both stay readable.
    _grid_layer("communities", "community", 412, label=Label("name", 0, (0, 18)), identify_rank=4),
    _grid_layer("subdistricts", "subdistrict", 413, identify_rank=5),
    MapLayer(
        "special_grids",
        "special_grids",
        "特色网格",
        "Special grids",
        "polygon",
        414,
        order="t.code",
        visible=False,
        identify_rank=6,
        style={"color": "#757575", "weight": 2, "dashArray": "1 5", "lineCap": "round", "fillOpacity": 0.12},
        style_by=("kind", {k: {"color": c, "fillColor": c} for k, c in _SPECIAL_COLOURS.items()}),
        legend=tuple(
            LegendItem(
                *_SPECIAL_LABELS[k], {"color": c, "weight": 2, "dashArray": "1 5", "fillColor": c}, area=True
            )
            for k, c in _SPECIAL_COLOURS.items()
        ),
    ),
    MapLayer(
        "bank_segments",
        "bank_segments",
        "河岸巡河段",
        "River bank segments",
        "line",
        420,
        order="t.code",
        style={"color": "#0d47a1", "weight": 3, "dashArray": "8 5", "opacity": 0.95},
        style_by=("side", {k: {"color": c} for k, c in _BANK_COLOURS.items()}),
        legend=tuple(
            LegendItem(*_SIDE_LABELS[k], {"color": c, "weight": 3, "dashArray": "8 5"})
            for k, c in _BANK_COLOURS.items()
        ),
    ),
    # Above the tooltip pane (650): a community's site often sits where its name label is drawn.
    MapLayer(
        "sites",
        "sites",
        "服务阵地",
        "Service sites",
        "point",
        660,
        order="t.ext_id",
        symbol="site",
        legend=tuple(LegendItem(zh, en, {}, symbol=f"site-{k}") for k, (zh, en) in _SITE_LABELS.items()),
    ),
)

REGISTRY = Registry(
    (GRIDS, SPECIAL_GRIDS, COMPOUNDS, BUILDINGS, SITES, RIVERS, BANK_SEGMENTS, WALK_EDGES, WORKERS),
    MAP_LAYERS,
    internal={
        "walk_node": "the walking network's nodes, made by the walk_edges loader from edge endpoints",
        "incident": "incidents have their own API (/api/incidents) with visibility rules per role and scope",
    },
)
