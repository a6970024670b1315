"""Find a place by compound name/alias and building number ("莲花新区3栋", "朝阳逸景 2-1") to locate it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.db import sql
from gisgrid.errors import InvalidInput

# "<compound> <building>[-<unit>][栋|幢|号楼|号]": the unit (单元) does not change the location.
_BUILDING = re.compile(
    r"^(?P<name>.*?)[\s]*(?P<bldg>\d{1,3})(?:\s*[-－—]\s*(?P<unit>\d{1,2}))?\s*(?:栋|幢|号楼|号|单元)?$"
)


PLACES = sql.load(__file__, "places.sql")


def parse_place(query: str) -> tuple[str, str | None, str | None]:
    """Split a typed place into (compound name, building label such as '3栋', unit)."""
    q = re.sub(r"\s+", " ", query.strip())
    match = _BUILDING.match(q)
    if match and match.group("name").strip():
        return match.group("name").strip(), f"{int(match.group('bldg'))}栋", match.group("unit")
    return q, None, None


def find_places(session: Session, *, q: str, limit: int = 10) -> list[dict[str, Any]]:
    """Candidate compounds/buildings for a typed place, best first, each with a WGS 84 point to locate."""
    if not q.strip() or len(q) > 100:
        raise InvalidInput(
            "The place text is empty or too long.",
            field="q",
            value=q[:20],
            expected="a compound name and optionally a building, e.g. 莲花新区3栋 (1–100 characters)",
        )
    name, label, unit = parse_place(q)
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # Two- to four-character Chinese names share few trigrams: a low threshold still finds one-character typos.
    session.execute(text("SET LOCAL pg_trgm.similarity_threshold = 0.15"))
    params = {"name": name, "label": label, "pattern": f"%{escaped}%", "limit": limit}
    rows = sql.run(session, PLACES, params).mappings().all()
    missing = None
    if not rows and label is not None:
        # No compound has that building: offer the compounds themselves, saying the building was not found.
        rows = sql.run(session, PLACES, {**params, "label": None}).mappings().all()
        missing = label
    return [
        {**dict(r), "score": float(r["score"]), "unit": unit, "building_not_found": missing, "crs": "wgs84"}
        for r in rows
    ]
