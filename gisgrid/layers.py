"""Map layers: GeoJSON features of each stored layer, by bounding box, with a feature limit and paging."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.errors import InvalidInput, NotFound

# The workers responsible for a grid unit, by its stable code (names only: contacts are not public).
_WORKERS = (
    "(SELECT coalesce(json_agg(json_build_object('name', w.name, 'role', w.role, 'title', w.title, 'phone', w.phone)"
    " ORDER BY w.role, w.name), '[]'::json) FROM worker_grid wg JOIN worker w ON w.id = wg.worker_id"
    " WHERE wg.grid_code = t.code)"
)
_GRID_PROPS = (
    "t.code, t.name, t.name_en, t.level, t.parent_code, t.households, t.population, t.version, "
    f"{_WORKERS} AS workers"
)
_CURRENT = "t.valid_to IS NULL"


@dataclass(frozen=True)
class Layer:
    """One map layer: where its features come from and what they carry."""

    name: str
    title_zh: str
    title_en: str
    table: str
    geometry: str
    props: str
    where: str = "TRUE"
    order: str = "t.id"


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "subdistricts",
            "街道",
            "Subdistricts",
            "grid_unit",
            "polygon",
            _GRID_PROPS,
            f"{_CURRENT} AND t.level = 'subdistrict'",
            "t.code",
        ),
        Layer(
            "communities",
            "社区",
            "Communities",
            "grid_unit",
            "polygon",
            _GRID_PROPS,
            f"{_CURRENT} AND t.level = 'community'",
            "t.code",
        ),
        Layer(
            "general_grids",
            "一般网格",
            "General grids",
            "grid_unit",
            "polygon",
            _GRID_PROPS,
            f"{_CURRENT} AND t.level = 'general'",
            "t.code",
        ),
        Layer(
            "micro_grids",
            "微网格",
            "Micro-grids",
            "grid_unit",
            "polygon",
            _GRID_PROPS,
            f"{_CURRENT} AND t.level = 'micro'",
            "t.code",
        ),
        Layer(
            "special_grids",
            "特色网格",
            "Special grids",
            "special_grid",
            "polygon",
            "t.code, t.kind, t.name, t.community_code",
            order="t.code",
        ),
        Layer(
            "compounds",
            "小区",
            "Compounds",
            "compound",
            "polygon",
            "t.ext_id AS id, t.name, t.aliases, t.buildings, t.households, t.population",
            order="t.ext_id",
        ),
        Layer(
            "buildings",
            "楼栋",
            "Buildings",
            "building",
            "polygon",
            "t.ext_id AS id, (SELECT c.name FROM compound c WHERE c.id = t.compound_id) AS compound, "
            "t.label, t.floors, t.households",
            order="t.ext_id",
        ),
        Layer(
            "sites",
            "服务阵地",
            "Service sites",
            "service_site",
            "point",
            "t.ext_id AS id, t.kind, t.name, t.brand, t.services, t.opening_hours, t.address, t.community_code",
            order="t.ext_id",
        ),
        Layer(
            "walk_edges",
            "步行网络",
            "Walking network",
            "walk_edge",
            "line",
            "t.ext_id AS id, t.kind, t.name, round(t.length_m::numeric, 1) AS length_m",
        ),
        Layer(
            "rivers", "河流", "Rivers", "river", "line", "t.ext_id AS id, t.name, t.width_m", order="t.ext_id"
        ),
        Layer(
            "bank_segments",
            "河岸巡河段",
            "River bank segments",
            "bank_segment",
            "line",
            "t.code, t.name, t.side, t.seq, round(t.length_m::numeric, 1) AS length_m",
            order="t.code",
        ),
    )
}


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """Parse 'minlon,minlat,maxlon,maxlat' (WGS 84) or raise InvalidInput naming the bad value."""
    if raw is None or raw == "":
        return None
    expected = "bbox=minlon,minlat,maxlon,maxlat in WGS 84 degrees, min < max, e.g. 104.09,30.63,104.12,30.65"
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput(
            f"bbox must be four numbers, got {raw!r}", field="bbox", value=raw, expected=expected
        )
    minx, miny, maxx, maxy = values
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        swapped = abs(minx) <= 90 and abs(maxx) <= 90 and not (abs(miny) <= 90 and abs(maxy) <= 90)
        hint = " (latitude given first? longitude comes first)" if swapped else ""
        raise InvalidInput(
            f"bbox {raw!r} is not a valid lon/lat box{hint}", field="bbox", value=raw, expected=expected
        )
    return minx, miny, maxx, maxy


def get_layer(name: str) -> Layer:
    """The layer called `name`, or NotFound listing the layers there are."""
    try:
        return LAYERS[name]
    except KeyError:
        raise NotFound(
            f"There is no layer {name!r}.", field="layer", value=name, expected=", ".join(LAYERS)
        ) from None


def layer_features(
    session: Session,
    *,
    name: str,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
    offset: int = 0,
    private: bool = False,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of one layer's features in `bbox`, one page of at most `limit`."""
    layer = get_layer(name)
    where = f"({layer.where})"
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if bbox is not None:
        where += " AND t.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"
        params.update(zip(("minx", "miny", "maxx", "maxy"), bbox, strict=True))
    # Identifiers come from the fixed LAYERS registry; every value is a bound parameter.
    sql = (
        f"SELECT ST_AsGeoJSON(t.geom, 7) AS geometry, row_to_json(p) AS properties, count(*) OVER () AS matched "  # noqa: S608
        f"FROM {layer.table} t CROSS JOIN LATERAL (SELECT {layer.props}) p "
        f"WHERE {where} ORDER BY {layer.order} LIMIT :limit OFFSET :offset"
    )
    rows = session.execute(text(sql), params).all()
    matched = rows[0].matched if rows else _count(session, layer, where, params)
    features = [
        {"type": "Feature", "geometry": json.loads(r.geometry), "properties": _public(r.properties, private)}
        for r in rows
    ]
    return {
        "type": "FeatureCollection",
        "layer": layer.name,
        "numberMatched": matched,
        "numberReturned": len(features),
        "offset": offset,
        "limit": limit,
        "next_offset": offset + len(features) if offset + len(features) < matched else None,
        "features": features,
    }


PRIVATE_KEYS = ("households", "population")


def _public(props: dict[str, Any], private: bool) -> dict[str, Any]:
    """Without households, population and phone numbers unless the caller may see them."""
    if private:
        return props
    out = {k: v for k, v in props.items() if k not in PRIVATE_KEYS}
    if "workers" in out:
        out["workers"] = [{k: v for k, v in w.items() if k != "phone"} for w in out["workers"]]
    return out


def _count(session: Session, layer: Layer, where: str, params: dict[str, Any]) -> int:
    # An empty page past the end still reports how many features match.
    sql = f"SELECT count(*) FROM {layer.table} t WHERE {where}"  # noqa: S608
    return int(session.execute(text(sql), params).scalar_one())


def layer_summaries(session: Session) -> list[dict[str, Any]]:
    """Every layer with its titles, geometry kind and feature count."""
    out = []
    for layer in LAYERS.values():
        sql = f"SELECT count(*) FROM {layer.table} t WHERE {layer.where}"  # noqa: S608
        count = int(session.execute(text(sql)).scalar_one())
        out.append(
            {
                "name": layer.name,
                "title_zh": layer.title_zh,
                "title_en": layer.title_en,
                "geometry": layer.geometry,
                "count": count,
            }
        )
    return out


def data_extent(session: Session) -> list[float] | None:
    """[minlon, minlat, maxlon, maxlat] of the current subdistricts (or all grids), None when empty."""
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM grid_unit WHERE valid_to IS NULL) s"
        )
    ).one()
    return None if row[0] is None else [float(v) for v in row]
