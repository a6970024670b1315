"""Write layer records to GeoJSON, GeoPackage, Shapefile (or a .zip of one) or CSV, so that they re-import."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import mapping

from gisgrid.errors import InvalidInput
from gisgrid.files.csvsafe import neutralise
from gisgrid.io.formats import (
    SHP_MAX_PARTS,
    check_layer_format,
    list_to_text,
    shp_name,
    shp_part_name,
    split_text,
)
from gisgrid.io.records import Record
from gisgrid.io.spec import LayerSpec

PANDAS_TYPES = {"int": "Int64", "float": "Float64", "str": "object", "list": "object"}
SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def write_file(spec: LayerSpec, records: list[Record], path: Path, *, fmt: str) -> None:
    """Write records to `path` in format `fmt`, replacing the file (a Shapefile to .zip is zipped)."""
    check_layer_format(spec, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".gisgrid-export-") as tmp:
        staged = Path(tmp) / (path.stem + (".shp" if fmt == "shp" else path.suffix))
        if fmt == "geojson":
            write_geojson(spec, records, staged)
        elif fmt == "csv":
            write_csv(spec, records, staged)
        else:
            write_ogr(spec, records, staged, driver="GPKG" if fmt == "gpkg" else "ESRI Shapefile")
        _place(staged, path, shapefile=fmt == "shp")


def _place(staged: Path, path: Path, *, shapefile: bool) -> None:
    """Move the staged file(s) to the target; a Shapefile asked for as .zip is zipped with its parts."""
    if not shapefile:
        shutil.move(staged, path)
        return
    parts = [staged.with_suffix(ext) for ext in SHP_PARTS if staged.with_suffix(ext).exists()]
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for part in parts:
                zf.write(part, arcname=part.name)
        return
    for part in parts:
        shutil.move(part, path.with_suffix(part.suffix))


def write_geojson(spec: LayerSpec, records: list[Record], path: Path) -> None:
    """An RFC 7946 FeatureCollection (WGS 84, no crs member), lists as JSON arrays, full precision."""
    features = [
        {
            "type": "Feature",
            "properties": {fs.name: rec.attrs.get(fs.name) for fs in spec.fields},
            "geometry": mapping(rec.geom) if rec.geom is not None else None,
        }
        for rec in records
    ]
    doc = {"type": "FeatureCollection", "name": spec.name, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def write_csv(spec: LayerSpec, records: list[Record], path: Path) -> None:
    """UTF-8 CSV (with BOM, for spreadsheet programs); geometry as full-precision WKT in column `wkt`."""
    header = [fs.name for fs in spec.fields] + (["wkt"] if spec.geometry else [])
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for rec in records:
            row = [neutralise(_cell(rec.attrs.get(fs.name), fs.kind)) for fs in spec.fields]
            if spec.geometry:
                row.append("" if rec.geom is None else shapely.to_wkt(rec.geom, rounding_precision=-1))
            out.writerow(row)


def _cell(value: Any, kind: str) -> str:
    if kind == "list":
        return list_to_text(value)
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def write_ogr(spec: LayerSpec, records: list[Record], path: Path, *, driver: str) -> None:
    """A GeoPackage or Shapefile layer; lists as text, Shapefile field names shortened to 10 characters."""
    shp = driver == "ESRI Shapefile"
    columns: dict[str, Any] = {}
    for fs in spec.fields:
        values = [rec.attrs.get(fs.name) for rec in records]
        if fs.kind == "list":
            values = [list_to_text(v) for v in values]
        if shp and fs.kind in ("str", "list"):
            columns.update(_shapefile_text_columns(spec, fs.name, records, values))
        else:
            columns[shp_name(fs.name) if shp else fs.name] = pd.Series(values, dtype=PANDAS_TYPES[fs.kind])
    frame = gpd.GeoDataFrame(columns, geometry=[rec.geom for rec in records], crs="EPSG:4326")
    pyogrio.write_dataframe(
        frame,
        path,
        layer=spec.name,
        driver=driver,
        geometry_type=spec.geometry,
        encoding="UTF-8" if shp else None,
    )


def _shapefile_text_columns(
    spec: LayerSpec, name: str, records: list[Record], values: list[str | None]
) -> dict[str, pd.Series]:
    """A text field as dBASE columns of at most 254 bytes: the field, then continuation parts if needed."""
    parts = [split_text(v) if v is not None else [] for v in values]
    count = max((len(p) for p in parts), default=1)
    if count > SHP_MAX_PARTS:
        rec = records[next(i for i, p in enumerate(parts) if len(p) == count)]
        raise InvalidInput(
            f"Feature {rec.key!r} of {spec.name}: {name} is too long for a Shapefile; export as gpkg or geojson.",
            field=name,
            value=rec.key,
            expected="gpkg, geojson or csv for this layer",
        )
    columns = {
        shp_name(name): pd.Series(
            [v if v is None else p[0] for v, p in zip(values, parts, strict=True)], dtype=object
        )
    }
    for k in range(2, max(count, 1) + 1):
        columns[shp_part_name(name, k)] = pd.Series(
            [p[k - 1] if len(p) >= k else None for p in parts], dtype=object
        )
    return columns
