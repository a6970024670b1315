"""The building export: CSV (formula-safe, for Excel) and GeoJSON points."""

from __future__ import annotations

import csv
import io
from typing import Any

from gisgrid.coverage import summary
from gisgrid.files.csvsafe import neutralise


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The building rows as CSV for Excel (a BOM; text that looks like a formula starts with an apostrophe)."""
    out = io.StringIO()
    out.write("\ufeff")
    columns = [*summary.EXPORT_COLUMNS, "unreachable", "covered"]
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else neutralise(row[c]) for c in columns])
    return out.getvalue()


def to_geojson(answer: dict[str, Any]) -> dict[str, Any]:
    """The building rows as GeoJSON points (WGS 84), the threshold in the collection's properties."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
            "properties": row,
        }
        for row in answer["buildings"]
    ]
    meta = {k: v for k, v in answer.items() if k != "buildings"}
    for key in ("computed_at", "data_as_of"):
        meta[key] = meta[key].isoformat() if meta.get(key) is not None else None
    return {"type": "FeatureCollection", "properties": meta, "features": features}
