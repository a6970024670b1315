"""Records read from a layer file and their checks: each problem names the feature, field and fault."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from gisgrid.errors import InvalidInput
from gisgrid.files.limits import limits
from gisgrid.io.spec import FieldSpec, LayerSpec

MAX_PROBLEMS_SHOWN = 20
# Chengdu's wider region: a coordinate outside is almost always swapped lat/lon or a wrong CRS.
EXPECTED_AREA = (97.0, 26.0, 109.0, 34.5)
MAX_INT = 2**31 - 1  # integer columns


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

    def __post_init__(self) -> None:
        # A key is echoed in every message about its feature: a hostile 1 MB id must not be.
        if self.key is not None and len(self.key) > 64:
            self.key = self.key[:63] + "…"

    def __str__(self) -> str:
        who = f"feature #{self.index}" if self.index >= 0 else "existing feature"
        who += f" ({self.key})" if self.key else ""
        return f"{who}, {self.field}: {self.message}"


class ImportRejected(InvalidInput):
    """A file was refused whole; nothing was written."""

    def __init__(self, *, layer: str, path: str, problems: list[Problem]) -> None:
        self.headline = (
            f"{Path(path).name}: {len(problems)} problem(s) in layer {layer!r}, nothing was imported"
        )
        shown = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_SHOWN])
        more = (
            f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        )
        super().__init__(
            f"{self.headline}: {shown}{more}",
            field=problems[0].field if problems else None,
            value=problems[0].key if problems else None,
            expected="a file whose every feature passes; fix the features named",
            details={"problem_count": len(problems), "problems": [p.__dict__ for p in problems[:200]]},
        )
        self.problems = problems


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
        return [Problem(rec.index, rec.key, fs.name, f"{shown(raw)} is not a valid {fs.kind}")]
    fault = _fault(value, fs)
    if fault:
        return [Problem(rec.index, rec.key, fs.name, f"{shown(raw)} {fault}")]
    rec.attrs[fs.name] = value
    return []


def _fault(value: Any, fs: FieldSpec) -> str | None:
    """What is wrong with a coerced value, if anything."""
    for text_value in value if isinstance(value, list) else [value] if isinstance(value, str) else []:
        fault = text_fault(text_value, fs.max_len or limits().import_max_text_chars)
        if fault:
            return fault
    if fs.choices and value not in fs.choices:
        return f"is not one of {', '.join(fs.choices)}"
    if fs.kind == "int" and not 0 <= value <= MAX_INT:
        return f"is outside 0..{MAX_INT}"
    if fs.kind == "float" and not math.isfinite(value):
        return "is not a finite number"
    return None


def shown(raw: Any, width: int = 60) -> str:
    """A value as echoed in an error: its repr, cut to `width` characters (a 1 MB name is not sent back)."""
    text = repr(raw)
    return text if len(text) <= width else text[: width - 1] + "…"


def text_fault(value: str, max_len: int) -> str | None:
    """What makes a text unstorable: too long, a NUL character (PostgreSQL refuses it), a lone surrogate."""
    if len(value) > max_len:
        return f"is longer than {max_len} characters"
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "holds an invalid character (a lone surrogate)"
    return None


def _coerce(raw: Any, kind: str) -> Any:
    if kind == "str":
        # A code stored in a numeric column of a GeoPackage/Shapefile comes back as 510104.0.
        return str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)
    if kind == "int":
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(raw)
        return int(str(raw).strip()) if not isinstance(raw, int | float) else int(raw)
    if kind == "float":
        return float(raw)
    if isinstance(raw, list):
        return [str(v) for v in raw]
    text = str(raw).strip()
    if text.startswith("["):
        items = json.loads(text)
        if not isinstance(items, list):
            raise ValueError(text)
        return [str(v) for v in items]
    return [p.strip() for p in text.split(";") if p.strip()]


def _check_geometry(spec: LayerSpec, rec: Record, *, make_valid: bool) -> list[Problem]:
    geom = rec.geom
    if geom is None or geom.is_empty:
        return [Problem(rec.index, rec.key, "geometry", "missing or empty geometry")]
    vertices = shapely.get_num_coordinates(geom)
    cap = limits().import_max_vertices
    if vertices > cap:
        message = f"has {vertices:,} vertices, more than the limit of {cap:,} (GISGRID_IMPORT_MAX_VERTICES)"
        return [Problem(rec.index, rec.key, "geometry", message)]
    want = str(spec.geometry)
    geom = _as_type(geom, want)
    if geom.geom_type != want:
        return [Problem(rec.index, rec.key, "geometry", f"is a {geom.geom_type}, expected {want}")]
    outside = _outside_area(geom)
    if outside:
        return [Problem(rec.index, rec.key, "geometry", outside)]
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not make_valid:
            message = f"invalid geometry: {reason}; use --make-valid to repair it"
            return [Problem(rec.index, rec.key, "geometry", message)]
        geom = _repair(geom, want)
        if geom.geom_type != want:
            message = f"invalid geometry ({reason}) that repairs to a {geom.geom_type}, not a {want}"
            return [Problem(rec.index, rec.key, "geometry", message)]
    if want in ("Polygon", "MultiPolygon"):
        # One storage convention whatever the source (Shapefiles store exterior rings clockwise).
        geom = shapely.orient_polygons(geom, exterior_cw=False)
    rec.geom = geom
    return []


def _as_type(geom: BaseGeometry, want: str) -> BaseGeometry:
    """A Polygon as a MultiPolygon, or a one-part Multi* as its part, where that is what the layer holds."""
    if want == "MultiPolygon" and geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    parts = getattr(geom, "geoms", None)
    if geom.geom_type == f"Multi{want}" and parts is not None and len(parts) == 1:
        return parts[0]
    return geom


def _outside_area(geom: BaseGeometry) -> str | None:
    """Why coordinates are not where Chengdu's data can be (swapped lat/lon, wrong CRS), if they are not."""
    minx, miny, maxx, maxy = geom.bounds
    ax0, ay0, ax1, ay1 = EXPECTED_AREA
    if ax0 <= minx and maxx <= ax1 and ay0 <= miny and maxy <= ay1:
        return None
    swapped = ay0 <= minx <= ay1 and ax0 <= miny <= ax1
    hint = "latitude and longitude look swapped" if swapped else "wrong CRS or units?"
    return (
        f"coordinates ({minx:.5f}, {miny:.5f}) lie outside the expected area "
        f"lon {ax0}–{ax1}, lat {ay0}–{ay1}: {hint}"
    )


def _repair(geom: BaseGeometry, want: str) -> BaseGeometry:
    """shapely.make_valid, keeping only the polygonal parts of a repaired polygon."""
    fixed = shapely.make_valid(geom)
    if want not in ("Polygon", "MultiPolygon"):
        return fixed
    polys = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
    fixed = shapely.union_all(polys) if polys else fixed
    return _as_type(fixed, want)
