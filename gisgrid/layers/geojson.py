"""Map layers: GeoJSON features of each stored layer, by bounding box, with a feature limit and paging."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.auth import contacts
from gisgrid.auth.policy import Principal
from gisgrid.errors import InvalidInput
from gisgrid.layers.registry import REGISTRY, MapLayer


def _props_sql(layer: MapLayer) -> str:
    """The SELECT list of a map layer's feature properties, from its dataset's fields."""
    dataset = REGISTRY.datasets[layer.dataset]
    return ", ".join(f"{fs.expr or 't.' + fs.col} AS {fs.name}" for fs in dataset.properties())


def _where(layer: MapLayer, at: datetime | None = None) -> str:
    dataset = REGISTRY.datasets[layer.dataset]
    if at is None:
        return f"({dataset.current}) AND ({layer.where})"
    if dataset.as_of is None:
        with_history = sorted(n for n, m in REGISTRY.map_layers.items() if REGISTRY.datasets[m.dataset].as_of)
        raise InvalidInput(
            f"图层 {layer.name} 没有历史版本 Layer {layer.name} keeps no history: `at` cannot be used.",
            field="at",
            value=at.isoformat(),
            expected="no `at`, or one of the layers with history: " + ", ".join(with_history),
        )
    return f"({dataset.as_of}) AND ({layer.where})"


def _table(layer: MapLayer) -> str:
    return REGISTRY.datasets[layer.dataset].table


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


def get_layer(name: str) -> MapLayer:
    """The map layer called `name`, or NotFound listing the layers there are."""
    return REGISTRY.map_layer(name)


def layer_features(
    session: Session,
    *,
    name: str,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
    offset: int = 0,
    private: bool = False,
    viewer: Principal | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of one layer's features in `bbox`, one page of at most `limit`; with `at`
    (layers with history: the grids), the features in force at that time instead of the current ones."""
    layer = get_layer(name)
    where = _where(layer, at)
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if at is not None:
        params["at"] = at
    if bbox is not None:
        where += " AND t.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"
        params.update(zip(("minx", "miny", "maxx", "maxy"), bbox, strict=True))
    # Identifiers come from the layer registry; every value is a bound parameter.
    sql = (
        f"SELECT ST_AsGeoJSON(t.geom, 7) AS geometry, row_to_json(p) AS properties, count(*) OVER () AS matched "  # noqa: S608
        f"FROM {_table(layer)} t CROSS JOIN LATERAL (SELECT {_props_sql(layer)}) p "
        f"WHERE {where} ORDER BY {layer.order} LIMIT :limit OFFSET :offset"
    )
    rows = session.execute(text(sql), params).all()
    matched = rows[0].matched if rows else _count(session, layer, where, params)
    hidden = frozenset() if private else _private_keys()  # once per page, not once per feature
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(r.geometry),
            "properties": public_properties(r.properties, private=private, viewer=viewer, hidden=hidden),
        }
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


def _private_keys() -> frozenset[str]:
    return frozenset(fs.name for d in REGISTRY.datasets.values() for fs in d.properties() if fs.private)


def public_properties(
    props: dict[str, Any],
    *,
    private: bool,
    viewer: Principal | None = None,
    hidden: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Without the registry's private fields (households, population, phones; `hidden`, computed when not given)
    unless the caller may see them; workers' phones as `viewer` may see them (full, masked: auth/contacts.py)."""
    if private:
        out = dict(props)
        if "workers" in out:
            out["workers"] = contacts.workers_for(viewer, out["workers"])
        return out
    hidden = _private_keys() if hidden is None else hidden
    out = {k: v for k, v in props.items() if k not in hidden}
    if "workers" in out:
        out["workers"] = [{k: v for k, v in w.items() if k != "phone"} for w in out["workers"]]
    return out


def _count(session: Session, layer: MapLayer, where: str, params: dict[str, Any]) -> int:
    # An empty page past the end still reports how many features match.
    sql = f"SELECT count(*) FROM {_table(layer)} t WHERE {where}"  # noqa: S608
    return int(session.execute(text(sql), params).scalar_one())


def layer_summaries(session: Session) -> list[dict[str, Any]]:
    """Every map layer with its titles, geometry kind, key, feature count, fields and style hints."""
    out = []
    for layer in REGISTRY.map_layers.values():
        dataset = REGISTRY.datasets[layer.dataset]
        sql = f"SELECT count(*) FROM {dataset.table} t WHERE {_where(layer)}"  # noqa: S608
        count = int(session.execute(text(sql)).scalar_one())
        out.append(
            {
                "name": layer.name,
                "title_zh": layer.zh,
                "title_en": layer.en,
                "title": {"zh": layer.zh, "en": layer.en},
                "geometry": layer.geometry,
                "key": dataset.key,
                "count": count,
                "history": dataset.as_of is not None,
                "map": layer.public(),
                "fields": [fs.public() for fs in dataset.properties()],
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
