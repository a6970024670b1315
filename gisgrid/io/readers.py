"""Read any supported file (GeoJSON, GeoPackage, Shapefile or a .zip of one, CSV) into the same records."""

from __future__ import annotations

import csv
import io
import itertools
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyogrio
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from gisgrid.errors import InvalidInput
from gisgrid.files.csvsafe import restore
from gisgrid.files.geojson import crs_member, read_collection
from gisgrid.files.limits import check_unpacked_size, limits, too_many
from gisgrid.files.text import detect_encoding
from gisgrid.io.formats import (
    SHP_MAX_PARTS,
    check_layer_format,
    detect_format,
    file_names,
    shp_name,
    shp_part_name,
)
from gisgrid.io.records import Problem, Record
from gisgrid.io.source_crs import SourceCRS, resolve_crs
from gisgrid.io.spec import LayerSpec

WKT_COLUMNS = ("wkt", "geometry")
XY_COLUMNS = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("x", "y"))
CSV_FIELD_LIMIT = 64 * 1024 * 1024  # one WKT cell of a large polygon exceeds csv's 128 kB default


@dataclass
class RawLayer:
    """A file's features as read: attributes under the file's column names, geometry in the file's CRS."""

    rows: list[dict[str, Any]]
    geoms: list[BaseGeometry | None]
    crs: SourceCRS | None
    problems: list[Problem] = field(default_factory=list)


def read_file(
    spec: LayerSpec, path: Path, *, fmt: str | None = None, crs: str | None = None
) -> tuple[list[Record], list[Problem]]:
    """Read a layer file of any format into records in WGS 84, collecting per-feature problems."""
    if not path.is_file():
        raise InvalidInput(
            f"File not found: {path}", field="file", value=str(path), expected="an existing file"
        )
    name = detect_format(path, fmt)
    check_layer_format(spec, name)
    check_unpacked_size(path)
    if name == "geojson":
        raw = read_geojson(path, crs=crs)
    elif name == "csv":
        raw = read_csv(spec, path, crs=crs)
    else:
        raw = read_ogr(spec, path, crs=crs)
    if not raw.rows:
        raise InvalidInput(
            f"{path.name} holds no features.", field="file", value=path.name, expected="at least one feature"
        )
    _check_count(path, len(raw.rows))
    return to_records(spec, raw)


def _check_count(path: Path, count: int) -> None:
    cap = limits().import_max_features
    if count > cap:
        raise too_many(
            path, f"{count:,} or more", cap, what="features", setting="GISGRID_IMPORT_MAX_FEATURES"
        )


def to_records(spec: LayerSpec, raw: RawLayer) -> tuple[list[Record], list[Problem]]:
    """Map the file's column names onto the spec's and bring geometries to WGS 84."""
    names = file_names(spec)
    records, problems = [], list(raw.problems)
    for i, row in enumerate(raw.rows):
        attrs = _attrs(row, names)
        key = attrs.get(spec.key)
        rec = Record(index=i, key=None if key is None else str(key), attrs=attrs)
        geom = raw.geoms[i] if spec.geometry is not None else None
        if geom is not None and raw.crs is not None:
            try:
                rec.geom = raw.crs.to_wgs84(geom)
            except (ValueError, RuntimeError, shapely.errors.GEOSException) as exc:
                problems.append(Problem(i, rec.key, "geometry", f"cannot be converted to WGS 84 ({exc})"))
        records.append(rec)
    for p in problems:  # problems found while reading did not yet know the key
        if p.key is None and 0 <= p.index < len(records):
            p.key = records[p.index].key
    return records, problems


def _attrs(row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col, value in row.items():
        name = names.get(str(col).strip().lower())
        if name is None or (name in out and col != name):
            continue  # unknown column, or an alias of a field already read under its own name
        out[name] = None if isinstance(value, float) and math.isnan(value) else value
    return out


def read_geojson(path: Path, *, crs: str | None = None) -> RawLayer:
    """A GeoJSON FeatureCollection; without a crs member it is WGS 84 (RFC 7946)."""
    doc, features = read_collection(path, expected="a UTF-8 GeoJSON FeatureCollection")
    _check_count(path, len(features))
    src = resolve_crs(given=crs, in_file=crs_member(doc, path), file_name=path.name, default="wgs84")
    rows, geoms, problems = [], [], []
    for i, feat in enumerate(features):
        feat = feat if isinstance(feat, dict) else {}
        props = feat.get("properties")
        rows.append(dict(props) if isinstance(props, dict) else {})
        try:
            geoms.append(shape(feat["geometry"]) if feat.get("geometry") else None)
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            IndexError,
            shapely.errors.GEOSException,
        ) as exc:
            problems.append(Problem(i, None, "geometry", f"unreadable geometry ({exc})"))
            geoms.append(None)
    return RawLayer(rows, geoms, src, problems)


def read_ogr(spec: LayerSpec, path: Path, *, crs: str | None = None) -> RawLayer:
    """A GeoPackage or Shapefile (or a .zip holding one Shapefile) through GDAL."""
    source = _zip_member(path) if path.suffix.lower() == ".zip" else str(path)
    try:
        meta, fids, wkbs, columns = _read_gdal(spec, source, path)
    except (RuntimeError, ValueError, OSError) as exc:
        raise _unreadable(path, "a GeoPackage or a Shapefile with its .shx and .dbf", exc) from exc
    src = resolve_crs(given=crs, in_file=meta.get("crs"), file_name=path.name)
    names = [str(n) for n in meta["fields"]]
    values = [c.tolist() for c in columns]
    fid_column = str(meta.get("fid_column") or "")
    if fid_column.lower() in file_names(spec) and fid_column not in names and fids is not None:
        names.append(fid_column)  # e.g. a GeoPackage whose integer primary key is the layer's `id`
        values.append([str(f) for f in fids.tolist()])
    count = len(fids) if fids is not None else 0
    rows = [dict(zip(names, vals, strict=True)) for vals in zip(*values, strict=True)] if values else []
    rows = rows or [{} for _ in range(count)]
    _join_parts(spec, names, rows)
    geoms, problems = _wkb_geometries(wkbs if wkbs is not None else [None] * count)
    return RawLayer(rows, geoms, src, problems)


def _read_gdal(spec: LayerSpec, source: str, path: Path) -> tuple[dict[str, Any], Any, Any, Any]:
    """pyogrio's raw read; a Shapefile without .cpg is decoded as UTF-8, else GB18030 (GBK), never Latin-1."""
    layer = _pick_layer(spec, source, path)
    info = pyogrio.read_info(source, layer=layer)
    _check_count(path, int(info.get("features") or 0))  # from the header: nothing read yet
    meta, fids, wkbs, columns = pyogrio.raw.read(source, layer=layer, return_fids=True)
    if meta.get("encoding") == "ISO-8859-1" and source.lower().endswith(".shp") and not _has_cpg(source):
        # GDAL falls back to Latin-1 without a .cpg, which turns Chinese text into mojibake without a word.
        try:
            meta, fids, wkbs, columns = pyogrio.raw.read(
                source, layer=layer, return_fids=True, encoding="UTF-8"
            )
        except UnicodeDecodeError:
            meta, fids, wkbs, columns = pyogrio.raw.read(
                source, layer=layer, return_fids=True, encoding="GB18030"
            )
    meta["fid_column"] = info.get("fid_column")
    return meta, fids, wkbs, columns


def _has_cpg(source: str) -> bool:
    """Whether a Shapefile (maybe inside a .zip) has a .cpg naming its encoding."""
    stem = source[: -len(".shp")]
    if source.startswith("/vsizip/"):
        archive, _, inner = source[len("/vsizip/") :].partition(".zip/")
        with zipfile.ZipFile(archive + ".zip") as zf:
            return any(n.lower() == inner[: -len(".shp")].lower() + ".cpg" for n in zf.namelist())
    return any(Path(stem + ext).exists() for ext in (".cpg", ".CPG"))


def _wkb_geometries(wkbs: Any) -> tuple[list[BaseGeometry | None], list[Problem]]:
    geoms: list[BaseGeometry | None] = []
    problems = []
    for i, wkb in enumerate(wkbs):
        try:
            geoms.append(None if wkb is None else shapely.from_wkb(wkb))
        except (shapely.errors.GEOSException, ValueError) as exc:
            problems.append(Problem(i, None, "geometry", f"unreadable geometry ({exc})"))
            geoms.append(None)
    return geoms, problems


def _join_parts(spec: LayerSpec, names: list[str], rows: list[dict[str, Any]]) -> None:
    """Join long text a Shapefile holds in continuation fields (services, services02, ...) back into one."""
    by_lower = {n.lower(): n for n in names}
    for fs in spec.fields:
        first = next((by_lower[a] for a in (fs.name, shp_name(fs.name)) if a in by_lower), None)
        parts = []
        for k in range(2, SHP_MAX_PARTS + 1):
            if shp_part_name(fs.name, k).lower() not in by_lower:
                break
            parts.append(by_lower[shp_part_name(fs.name, k).lower()])
        if first is None or not parts:
            continue
        for row in rows:
            pieces = [row.get(first), *(row.get(c) for c in parts)]
            row[first] = None if all(p is None for p in pieces) else "".join(str(p or "") for p in pieces)


def _zip_member(path: Path) -> str:
    """The GDAL path of the one Shapefile inside a .zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise _unreadable(path, "a .zip holding one Shapefile (.shp, .shx, .dbf, .prj)", exc) from exc
    if len(shps) != 1:
        raise InvalidInput(
            f"{path.name} holds {len(shps)} Shapefiles ({', '.join(shps) or 'none'}).",
            field="file",
            value=path.name,
            expected="a .zip holding exactly one Shapefile (.shp, .shx, .dbf, .prj)",
        )
    return f"/vsizip/{path.resolve()}/{shps[0]}"


def _pick_layer(spec: LayerSpec, source: str, path: Path) -> str | None:
    """The layer named like the spec, or the only one; a GeoPackage with several others is refused."""
    layers = [str(row[0]) for row in pyogrio.list_layers(source)]
    if len(layers) <= 1:
        return None
    if spec.name in layers:
        return spec.name
    raise InvalidInput(
        f"{path.name} holds {len(layers)} layers and none is called {spec.name!r}.",
        field="file",
        value=", ".join(layers),
        expected=f"a file with one layer, or one called {spec.name!r}",
    )


def read_csv(spec: LayerSpec, path: Path, *, crs: str | None = None) -> RawLayer:
    """A CSV file (UTF-8 or GB18030); geometry from a wkt/geometry column or lon/lat columns (a CSV never has a CRS)."""
    csv.field_size_limit(CSV_FIELD_LIMIT)
    expected = "a UTF-8 or GB18030 CSV file with a header row"
    try:
        data = path.read_bytes()
        reader = csv.DictReader(
            io.StringIO(data.decode(detect_encoding(data, path, expected=expected)), newline="")
        )
        # One row past the limit is enough to refuse the file; the rest is never read.
        rows = [
            {k: restore(v) for k, v in r.items()}  # our CSV exports neutralise formula-like cells
            for r in itertools.islice(reader, limits().import_max_features + 1)
        ]
        header = [h.strip().lower() for h in reader.fieldnames or []]
    except (OSError, csv.Error) as exc:
        raise _unreadable(path, expected, exc) from exc
    for row in rows:
        row.pop(None, None)  # type: ignore[call-overload]  # cells beyond the header
    if spec.geometry is None:
        return RawLayer(rows, [None] * len(rows), None)
    columns = _geometry_columns(spec, header, path)
    src = resolve_crs(given=crs, in_file=None, file_name=path.name)
    geoms, problems = _csv_geometries(rows, columns)
    return RawLayer(rows, geoms, src, problems)


def _geometry_columns(spec: LayerSpec, header: list[str], path: Path) -> tuple[str, ...]:
    """The column(s) holding geometry: one WKT column, or an x/y pair for point layers."""
    for col in WKT_COLUMNS:
        if col in header:
            return (col,)
    pairs = [p for p in XY_COLUMNS if p[0] in header and p[1] in header]
    if pairs and spec.geometry == "Point":
        return pairs[0]
    wanted = "a wkt (or geometry) column" + (", or lon/lat columns" if spec.geometry == "Point" else "")
    raise InvalidInput(
        f"{path.name} has no geometry column for layer {spec.name!r} ({spec.geometry}).",
        field="geometry",
        value=", ".join(header),
        expected=wanted,
    )


def _csv_geometries(
    rows: list[dict[str, Any]], columns: tuple[str, ...]
) -> tuple[list[BaseGeometry | None], list[Problem]]:
    geoms: list[BaseGeometry | None] = []
    problems = []
    for i, row in enumerate(rows):
        cells = {str(k).strip().lower(): v for k, v in row.items()}
        values = [(cells.get(c) or "").strip() for c in columns]
        if not all(values):
            geoms.append(None)
            continue
        try:
            geoms.append(shapely.from_wkt(values[0]) if len(values) == 1 else Point(*map(float, values)))
        except (shapely.errors.GEOSException, ValueError) as exc:
            what = "WKT" if len(values) == 1 else "coordinates"
            problems.append(
                Problem(i, None, "geometry", f"unreadable {what} in {'/'.join(columns)}: {values!r} ({exc})")
            )
            geoms.append(None)
    return geoms, problems


def _unreadable(path: Path, expected: str, exc: BaseException) -> InvalidInput:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    # GDAL's messages name the file with its full path: the server's folders are nobody's business.
    for folder in {str(path.parent), str(path.resolve().parent)}:
        detail = detail.replace(folder + "/", "").replace(folder, "")
    return InvalidInput(
        f"{path.name} cannot be read: {detail}",
        field="file",
        value=path.name,
        expected=expected,
    )
