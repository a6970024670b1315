"""Topology rules of the grid hierarchy, checked in PostGIS: gaps, overlaps, containment, codes, sizes."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from gisgrid.config import GridRuleSettings
from gisgrid.db import sql

# Below this an area is floating-point noise from intersecting shared edges, not a real gap or overlap.
NOISE_M2 = 1e-4

RULES = {
    "invalid_geometry": "几何无效 invalid geometry",
    "overlap": "同级重叠 overlap between siblings",
    "gap": "父级内空隙 gap inside the parent",
    "outside_parent": "超出父级 child outside its parent",
    "parent_missing": "父级缺失 parent not found",
    "code_mismatch": "编码不符 code does not match the parent",
    "level_mismatch": "层级不符 wrong level under the parent",
    "duplicate_code": "编码重复 code not unique",
    "compound_outside": "小区不在微网格内 compound in no micro-grid",
    "compound_split": "小区跨微网格 compound split across micro-grids",
    "household_range": "户数超范围 micro-grid households out of range",
}


TOPOLOGY = sql.load(__file__, "topology.sql")


def validate(session: Session, *, rules: GridRuleSettings, srid: int = 4544) -> dict[str, Any]:
    """Check every rule on the current grids; return counts and each issue with its location and size."""
    params = {
        "srid": srid,
        "sliver_m2": rules.sliver_m2,
        "noise_m2": NOISE_M2,
        "min_hh": rules.micro_min_households,
        "max_hh": rules.micro_max_households,
    }
    rows = sql.run(session, TOPOLOGY, params).mappings().all()
    issues = [
        {
            "rule": r["rule"],
            "title": RULES[r["rule"]],
            "severity": r["severity"],
            "code": r["code"],
            "other": r["other"],
            "area_m2": None if r["area_m2"] is None else round(r["area_m2"], 3),
            "detail": r["detail"],
            "location": json.loads(r["geojson"]) if r["geojson"] else None,
        }
        for r in rows
    ]
    return {
        "errors": sum(1 for i in issues if i["severity"] == "error"),
        "warnings": sum(1 for i in issues if i["severity"] == "warning"),
        "parameters": {
            "sliver_m2": rules.sliver_m2,
            "micro_households": [params["min_hh"], params["max_hh"]],
            "metric_srid": srid,
        },
        "issues": issues,
    }
