"""What each importable layer looks like in a file: attributes, types, geometry, and where it is stored."""

from __future__ import annotations

from dataclasses import dataclass

from gisgrid.db.models import EDGE_KINDS, GRID_LEVELS, SITE_KINDS, SPECIAL_GRID_KINDS, WORKER_ROLES


@dataclass(frozen=True)
class FieldSpec:
    """One attribute of a layer file and the column it is stored in."""

    name: str
    kind: str  # str | int | float | list
    required: bool = True
    column: str | None = None  # defaults to name
    choices: tuple[str, ...] = ()
    max_len: int | None = None  # of a str column

    @property
    def col(self) -> str:
        """The database column."""
        return self.column or self.name


@dataclass(frozen=True)
class LayerSpec:
    """An importable/exportable layer."""

    name: str
    table: str
    geometry: str | None  # Polygon (stored as MultiPolygon) | MultiPolygon | Point | LineString | None
    key: str  # attribute that identifies a feature, unique within the file
    fields: tuple[FieldSpec, ...]
    file_name: str

    def field(self, name: str) -> FieldSpec:
        """The field called `name`."""
        return next(f for f in self.fields if f.name == name)


# Columns of these names are String(32) in the schema.
_CODES = ("code", "id", "parent_code", "community_code", "phone")


def _f(name: str, kind: str = "str", **kw: object) -> FieldSpec:
    if name in _CODES:
        kw.setdefault("max_len", 32)
    return FieldSpec(name, kind, **kw)  # type: ignore[arg-type]


GRIDS = LayerSpec(
    "grids",
    "grid_unit",
    "MultiPolygon",
    "code",
    (
        _f("code"),
        _f("level", choices=GRID_LEVELS),
        _f("parent_code", required=False),
        _f("name"),
        _f("name_en", required=False),
        _f("households", "int"),
        _f("population", "int"),
    ),
    "grids.geojson",
)
SPECIAL_GRIDS = LayerSpec(
    "special_grids",
    "special_grid",
    "MultiPolygon",
    "code",
    (_f("code"), _f("kind", choices=SPECIAL_GRID_KINDS), _f("name"), _f("community_code", required=False)),
    "special_grids.geojson",
)
COMPOUNDS = LayerSpec(
    "compounds",
    "compound",
    "MultiPolygon",
    "id",
    (
        _f("id", column="ext_id"),
        _f("name"),
        _f("aliases", "list", required=False),
        _f("buildings", "int"),
        _f("households", "int"),
        _f("population", "int"),
    ),
    "compounds.geojson",
)
BUILDINGS = LayerSpec(
    "buildings",
    "building",
    "Polygon",
    "id",
    (
        _f("id", column="ext_id"),
        _f("compound_id"),
        _f("label"),
        _f("floors", "int", required=False),
        _f("households", "int"),
    ),
    "buildings.geojson",
)
SITES = LayerSpec(
    "sites",
    "service_site",
    "Point",
    "id",
    (
        _f("id", column="ext_id"),
        _f("kind", choices=SITE_KINDS),
        _f("name"),
        _f("brand", required=False),
        _f("services", "list", required=False),
        _f("opening_hours", required=False),
        _f("address", required=False),
        _f("community_code", required=False),
        _f("compound_id", required=False),
    ),
    "sites.geojson",
)
RIVERS = LayerSpec(
    "rivers",
    "river",
    "LineString",
    "id",
    (_f("id", column="ext_id"), _f("name"), _f("width_m", "float", required=False)),
    "rivers.geojson",
)
BANK_SEGMENTS = LayerSpec(
    "bank_segments",
    "bank_segment",
    "LineString",
    "code",
    (
        _f("code"),
        _f("river_id"),
        _f("side", choices=("left", "right")),
        _f("seq", "int"),
        _f("name", required=False),
    ),
    "bank_segments.geojson",
)
WALK_EDGES = LayerSpec(
    "walk_edges",
    "walk_edge",
    "LineString",
    "id",
    (_f("id", column="ext_id"), _f("kind", choices=EDGE_KINDS), _f("name", required=False)),
    "walk_edges.geojson",
)
WORKERS = LayerSpec(
    "workers",
    "worker",
    None,
    "id",
    (
        _f("id", column="ext_id"),
        _f("name"),
        _f("role", choices=WORKER_ROLES),
        _f("title", required=False),
        _f("phone", required=False),
        _f("grid_codes", "list", required=False),
    ),
    "workers.csv",
)

# In load order: a layer may refer to those before it.
SPECS: dict[str, LayerSpec] = {
    s.name: s
    for s in (GRIDS, SPECIAL_GRIDS, COMPOUNDS, BUILDINGS, SITES, RIVERS, BANK_SEGMENTS, WALK_EDGES, WORKERS)
}
