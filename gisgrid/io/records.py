"""Read layer files into checked records; every problem names the feature, the field and what is wrong."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, shape
from shapely.geometry.base import BaseGeometry

from gisgrid.crs import InputCRS, geometry_to_wgs84, parse_crs
from gisgrid.errors import InvalidInput
from gisgrid.io.spec import FieldSpec, LayerSpec

MAX_PROBLEMS_SHOWN = 20
# Chengdu's wider region: a coordinate outside is almost always swapped lat/lon or a wrong CRS.
EXPECTED_AREA = (97.0, 26.0, 109.0, 34.5)


@dataclass
class Record:
    """One feature of a file: its position, key, attributes and geometry (WGS 84)."""

    index: int
    key: str | None
    attrs: dict[str, Any]
    geom: BaseGeometry | None = None


@dataclass
class Problem:
    """One thing wrong with one feature."""

    index: int
    key: str | None
    field: str
    message: str

    def __str__(self) -> str:
        who = f"feature #{self.index}" + (f" ({self.key})" if self.key else "")
        return f"{who}, {self.field}: {self.message}"


class ImportRejected(InvalidInput):
    """A file was refused whole; nothing was written."""

    def __init__(self, *, layer: str, path: str, problems: list[Problem]) -> None:
        shown = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_SHOWN])
        more = (
            f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        )
        super().__init__(
            f"{Path(path).name}: {len(problems)} problem(s) in layer {layer!r}, nothing was imported: {shown}{more}",
            field=problems[0].field if problems else None,
            value=problems[0].key if problems else None,
            expected="a file whose every feature passes; fix the features named",
            details={"problems": [p.__dict__ for p in problems[:200]]},
        )
        self.problems = problems


def read_geojson(path: Path, *, crs: str | None = None) -> tuple[list[dict[str, Any]], InputCRS]:
    """The raw features of a GeoJSON file and its CRS (RFC 7946: WGS 84 unless the file or `crs` says)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            f"{path.name} is not readable GeoJSON: {exc}",
            field="file",
            value=str(path),
            expected="a UTF-8 GeoJSON FeatureCollection",
        ) from exc
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(doc.get("features"), list)
    ):
        raise InvalidInput(
            f"{path.name} is not a GeoJSON FeatureCollection.",
            field="file",
            value=str(path),
            expected='{"type": "FeatureCollection", "features": [...]}',
        )
    file_crs = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if crs is not None:
        return doc["features"], parse_crs(crs)
    if file_crs is None or "CRS84" in file_crs or file_crs.endswith("4326"):
        return doc["features"], InputCRS.wgs84
    if file_crs.endswith("4490"):
        return doc["features"], InputCRS.cgcs2000
    raise InvalidInput(
        f"{path.name} declares the CRS {file_crs!r}, which is not accepted.",
        field="crs",
        value=file_crs,
        expected="EPSG:4326/CRS84, EPSG:4490, or give --crs",
    )


def read_workers_csv(path: Path) -> list[Record]:
    """Rows of a workers CSV file (no geometry; grid_codes separated by ';')."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [Record(index=i, key=r.get("id"), attrs=dict(r)) for i, r in enumerate(rows)]


def geojson_records(
    spec: LayerSpec, features: list[dict[str, Any]], crs: InputCRS
) -> tuple[list[Record], list[Problem]]:
    """Turn raw GeoJSON features into records in WGS 84, collecting geometry problems."""
    records, problems = [], []
    for i, feat in enumerate(features):
        props = (feat or {}).get("properties") or {}
        key = props.get(spec.key)
        key = None if key is None else str(key)
        try:
            geom = shape(feat["geometry"]) if feat.get("geometry") else None
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
            problems.append(Problem(i, key, "geometry", f"unreadable geometry ({exc})"))
            geom = None
        if geom is not None:
            geom = geometry_to_wgs84(geom, crs)
        records.append(Record(index=i, key=key, attrs=dict(props), geom=geom))
    return records, problems


def check_records(spec: LayerSpec, records: list[Record], *, make_valid: bool = False) -> list[Problem]:
    """Check every record's attributes and geometry against the layer's spec; coerce values in place."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for rec in records:
        for fs in spec.fields:
            problems.extend(_check_field(rec, fs))
        if rec.key in seen:
            problems.append(
                Problem(
                    rec.index,
                    rec.key,
                    spec.key,
                    f"duplicate {spec.key} {rec.key!r} (also feature #{seen[rec.key]})",
                )
            )
        elif rec.key is not None:
            seen[rec.key] = rec.index
        if spec.geometry is not None:
            problems.extend(_check_geometry(spec, rec, make_valid=make_valid))
    return problems


def _check_field(rec: Record, fs: FieldSpec) -> list[Problem]:
    raw = rec.attrs.get(fs.name)
    if raw is None or (isinstance(raw, str) and raw.strip() == "" and fs.kind != "list"):
        rec.attrs[fs.name] = [] if fs.kind == "list" else None
        return [Problem(rec.index, rec.key, fs.name, "missing (required)")] if fs.required else []
    try:
        value = _coerce(raw, fs.kind)
    except (TypeError, ValueError):
        return [Problem(rec.index, rec.key, fs.name, f"{raw!r} is not a valid {fs.kind}")]
    if fs.choices and value not in fs.choices:
        return [Problem(rec.index, rec.key, fs.name, f"{raw!r} is not one of {', '.join(fs.choices)}")]
    if fs.kind == "int" and value < 0:
        return [Problem(rec.index, rec.key, fs.name, f"{raw!r} is negative")]
    rec.attrs[fs.name] = value
    return []


def _coerce(raw: Any, kind: str) -> Any:
    if kind == "str":
        return str(raw)
    if kind == "int":
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError(raw)
        return int(str(raw).strip()) if not isinstance(raw, int | float) else int(raw)
    if kind == "float":
        return float(raw)
    if isinstance(raw, list):
        return [str(v) for v in raw]
    text = str(raw).strip()
    if text.startswith("["):
        return [str(v) for v in json.loads(text)]
    return [p.strip() for p in text.split(";") if p.strip()]


def _check_geometry(spec: LayerSpec, rec: Record, *, make_valid: bool) -> list[Problem]:
    geom = rec.geom
    if geom is None or geom.is_empty:
        return [Problem(rec.index, rec.key, "geometry", "missing or empty geometry")]
    want = spec.geometry
    if want == "MultiPolygon" and geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    if geom.geom_type != want:
        return [Problem(rec.index, rec.key, "geometry", f"is a {geom.geom_type}, expected {want}")]
    minx, miny, maxx, maxy = geom.bounds
    ax0, ay0, ax1, ay1 = EXPECTED_AREA
    if not (ax0 <= minx and maxx <= ax1 and ay0 <= miny and maxy <= ay1):
        swapped = ay0 <= minx <= ay1 and ax0 <= miny <= ax1
        hint = "latitude and longitude look swapped" if swapped else "wrong CRS or units?"
        return [
            Problem(
                rec.index,
                rec.key,
                "geometry",
                f"coordinates ({minx:.5f}, {miny:.5f}) lie outside the expected area "
                f"lon {ax0}–{ax1}, lat {ay0}–{ay1}: {hint}",
            )
        ]
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not make_valid:
            return [
                Problem(
                    rec.index,
                    rec.key,
                    "geometry",
                    f"invalid geometry: {reason}; use --make-valid to repair it",
                )
            ]
        geom = shapely.make_valid(geom)
        if want == "MultiPolygon":
            polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
            geom = shapely.union_all(polys)
            geom = MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom
        if geom.geom_type != want:
            return [
                Problem(
                    rec.index,
                    rec.key,
                    "geometry",
                    f"invalid geometry ({reason}) that repairs to a {geom.geom_type}, not a {want}",
                )
            ]
    rec.geom = geom
    return []
