"""GeoJSON documents: a FeatureCollection read and checked, and its (pre-RFC 7946) `crs` member."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gisgrid.errors import InvalidInput

COLLECTION = '{"type": "FeatureCollection", "features": [...]}'


def read_json(path: Path, *, expected: str, kind: str = "GeoJSON") -> Any:
    """A JSON file (UTF-8, with or without BOM); InvalidInput naming the file when it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInput(
            f"{path.name} 不是有效的{kind} is not readable {kind} ({detail}).",
            field="file",
            value=path.name,
            expected=expected,
        ) from exc


def read_collection(path: Path, *, expected: str) -> tuple[dict[str, Any], list[Any]]:
    """The document and its features; InvalidInput when it is not readable JSON or no FeatureCollection."""
    doc = read_json(path, expected=expected)
    features = (
        doc.get("features") if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" else None
    )
    if not isinstance(features, list):
        raise InvalidInput(
            f"{path.name} 不是要素集合 is not a GeoJSON FeatureCollection.",
            field="file",
            value=path.name,
            expected=COLLECTION,
        )
    return doc, features


def crs_member(doc: dict[str, Any], path: Path) -> str | None:
    """The CRS name of a GeoJSON `crs` member, None without one (RFC 7946: WGS 84); refused when it names none."""
    member = doc.get("crs")
    if member is None:
        return None
    props = member.get("properties") if isinstance(member, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if not name:
        raise InvalidInput(
            f"{path.name}: the GeoJSON crs member names no coordinate system.",
            field="crs",
            value=json.dumps(member, ensure_ascii=False)[:80],
            expected='{"type": "name", "properties": {"name": "EPSG:4326"}}, or no crs member (WGS 84)',
        )
    return str(name)
