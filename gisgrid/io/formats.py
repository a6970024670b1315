"""File formats of import/export: detection from the extension, Shapefile field names, list attributes as text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gisgrid.errors import InvalidInput
from gisgrid.io.spec import LayerSpec


@dataclass(frozen=True)
class Format:
    """One file format: its name, extensions, download media type and a title for people."""

    name: str
    extensions: tuple[str, ...]
    media_type: str
    title: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("geojson", (".geojson", ".json"), "application/geo+json", "GeoJSON"),
        Format("gpkg", (".gpkg",), "application/geopackage+sqlite3", "GeoPackage"),
        Format("shp", (".shp", ".zip"), "application/zip", "Shapefile (.shp, or a .zip holding one)"),
        Format("csv", (".csv",), "text/csv; charset=utf-8", "CSV with a wkt/geometry or lon/lat column"),
    )
}
ACCEPTED_FORMATS = "; ".join(f"{f.name}: {f.title} ({'/'.join(f.extensions)})" for f in FORMATS.values())

# Shapefile (dBASE) field names hold at most 10 characters: longer spec names are written as these.
SHP_NAMES = {
    "parent_code": "parent",
    "community_code": "comm_code",
    "compound_id": "compnd_id",
    "opening_hours": "open_hours",
}
SHP_TEXT_BYTES = 254
# Longer text continues in fields such as services02, services03 (the parts are joined on reading).
SHP_MAX_PARTS = 99


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The format named by `fmt`, else the one of the file's extension; InvalidInput names what is accepted."""
    if fmt is not None:
        name = fmt.strip().lower().lstrip(".")
        name = {"json": "geojson", "shapefile": "shp", "zip": "shp", "geopackage": "gpkg"}.get(name, name)
        if name not in FORMATS:
            raise InvalidInput(
                f"Unknown format {fmt!r}.", field="format", value=fmt, expected=", ".join(FORMATS)
            )
        return name
    suffix = path.suffix.lower()
    for f in FORMATS.values():
        if suffix in f.extensions:
            return f.name
    raise InvalidInput(
        f"Cannot tell the format of {path.name!r} from its extension; name it or give --format.",
        field="format",
        value=suffix or path.name,
        expected=ACCEPTED_FORMATS,
    )


def check_layer_format(spec: LayerSpec, fmt: str) -> None:
    """Refuse a format the layer cannot live in (layers without geometry are CSV only)."""
    if spec.geometry is None and fmt != "csv":
        raise InvalidInput(
            f"Layer {spec.name!r} has no geometry and is read and written as CSV only, not {fmt}.",
            field="format",
            value=fmt,
            expected="csv",
        )


def shp_name(name: str) -> str:
    """The Shapefile field name of a spec field."""
    return SHP_NAMES.get(name, name[:10])


def file_names(spec: LayerSpec) -> dict[str, str]:
    """Every column name a file may use for a spec field (lower case) mapped to the field's name."""
    names: dict[str, str] = {}
    for fs in spec.fields:
        for alias in (shp_name(fs.name), fs.name[:10], fs.name):
            names[alias.lower()] = fs.name
    return names


def list_to_text(values: list[str] | None) -> str:
    """A list attribute as text: ';'-joined where that reads back unchanged, else a JSON array."""
    items = [str(v) for v in values or []]
    joined = ";".join(items)
    plain = all(v and v == v.strip() and ";" not in v for v in items) and not joined.startswith("[")
    return joined if plain else json.dumps(items, ensure_ascii=False)


def shp_part_name(name: str, part: int) -> str:
    """The Shapefile field holding part `part` (from 2) of a long text value."""
    return f"{shp_name(name)[:8]}{part:02d}"


def split_text(value: str, limit: int = SHP_TEXT_BYTES) -> list[str]:
    """Split text into parts of at most `limit` UTF-8 bytes, at character boundaries.

    A part never ends in whitespace, because dBASE pads fields with spaces and GDAL strips them on reading.
    """
    parts: list[str] = []
    rest = value
    while len(rest.encode("utf-8")) > limit:
        cut = len(rest.encode("utf-8")[:limit].decode("utf-8", errors="ignore"))
        while cut > 1 and rest[cut - 1].isspace():
            cut -= 1
        parts.append(rest[:cut])
        rest = rest[cut:]
    return [*parts, rest]


def export_file_name(layer: str, fmt: str, stamp: str) -> str:
    """A download name such as grids-20240501.gpkg (Shapefiles are zipped)."""
    ext = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip", "csv": ".csv"}[fmt]
    return f"{layer}-{stamp}{ext}"
