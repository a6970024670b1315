"""Household coverage figures: per grid level, the worst-served compounds, the gaps, and the building export."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.coverage.compute import Coverage
from gisgrid.db import sql
from gisgrid.errors import InvalidInput

LEVELS = ("subdistrict", "community", "general", "micro")
FIGURE_KINDS = ("any", "outpost", "community", "centre")
GAPS = sql.load(__file__, "gaps.sql")


def in_scope(frame: pd.DataFrame, scope_codes: tuple[str, ...]) -> pd.DataFrame:
    """Buildings whose micro-grid lies in the scope (empty scope: all)."""
    if not scope_codes:
        return frame
    codes = frame["micro_code"].fillna("")
    return frame[codes.map(lambda c: any(c.startswith(s) for s in scope_codes))]


def _covered(frame: pd.DataFrame, threshold_m: float) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for how in ("walk", "straight"):
        for kind in FIGURE_KINDS:
            hit = frame[f"{how}_{kind}_m"].le(threshold_m)  # NaN (unreachable) is never covered
            out[f"{how}_{kind}_hh"] = frame["households"].where(hit, 0)
            out[f"{how}_{kind}_pop"] = frame["population"].where(hit, 0)
    out["unreachable_hh"] = frame["households"].where(frame["walk_any_m"].isna(), 0)
    return out


def _figures(row: pd.Series, how: str) -> dict[str, Any]:
    hh, pop = int(row["households"]), int(row["population"])
    return {
        kind: {
            "households": int(row[f"{how}_{kind}_hh"]),
            "population": int(row[f"{how}_{kind}_pop"]),
            "share": round(row[f"{how}_{kind}_hh"] / hh, 4) if hh else None,
        }
        for kind in FIGURE_KINDS
    } | {"households": hh, "population": pop}


def per_level(cov: Coverage, *, level: str, scope_codes: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Covered and uncovered households and population per grid unit of `level`, network and straight line."""
    if level not in LEVELS:
        raise InvalidInput(
            f"Unknown grid level {level!r}.",
            field="level",
            value=level,
            expected="one of: " + ", ".join(LEVELS),
        )
    frame = in_scope(cov.buildings, scope_codes)
    data = pd.concat(
        [frame[[f"{level}_code", "households", "population"]], _covered(frame, cov.threshold.metres)], axis=1
    )
    groups = data.groupby(f"{level}_code", sort=True).sum(numeric_only=True)
    out = []
    for code, row in groups.iterrows():
        if scope_codes and not any(str(code).startswith(s) for s in scope_codes):
            continue
        covered = int(row["walk_any_hh"])
        out.append(
            {
                "code": code,
                "level": level,
                "buildings": int((frame[f"{level}_code"] == code).sum()),
                "households": int(row["households"]),
                "population": int(row["population"]),
                "uncovered_households": int(row["households"]) - covered,
                "uncovered_population": int(row["population"]) - int(row["walk_any_pop"]),
                "unreachable_households": int(row["unreachable_hh"]),
                "network": _figures(row, "walk"),
                "straight_line": _figures(row, "straight"),
            }
        )
    return out


def unit_names(session: Session) -> dict[str, str]:
    """Names of the current grid units by code."""
    rows = session.execute(text("SELECT code, name FROM grid_unit WHERE valid_to IS NULL")).all()
    return {code: name for code, name in rows}


def worst_compounds(cov: Coverage, *, limit: int, scope_codes: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Compounds by uncovered households, then by the walk of their worst-served building (unreachable first)."""
    frame = in_scope(cov.buildings, scope_codes)
    if frame.empty:
        return []
    far = frame["walk_any_m"].fillna(np.inf)
    work = frame.assign(
        uncovered=frame["households"].where(~frame["walk_any_m"].le(cov.threshold.metres), 0),
        far=far,
        weighted=(frame["walk_any_m"] * frame["households"]).fillna(0),
        reached=frame["households"].where(frame["walk_any_m"].notna(), 0),
    )
    grouped = work.groupby(["compound_ext_id", "compound_name"]).agg(
        micro_code=("micro_code", "first"),
        households=("households", "sum"),
        uncovered=("uncovered", "sum"),
        worst=("far", "max"),
        weighted=("weighted", "sum"),
        reached_hh=("reached", "sum"),
    )
    grouped = grouped.sort_values(["uncovered", "worst"], ascending=False).head(limit)
    return [
        {
            "id": ext_id,
            "name": name,
            "micro_code": row["micro_code"],
            "households": int(row["households"]),
            "uncovered_households": int(row["uncovered"]),
            "worst_walk_m": None if not np.isfinite(row["worst"]) else round(float(row["worst"]), 1),
            "mean_walk_m": round(float(row["weighted"] / row["reached_hh"]), 1)
            if row["reached_hh"]
            else None,
        }
        for (ext_id, name), row in grouped.iterrows()
    ]


EXPORT_COLUMNS = (
    "ext_id",
    "label",
    "compound_ext_id",
    "compound_name",
    "micro_code",
    "general_code",
    "community_code",
    "households",
    "population",
    "lon",
    "lat",
    "snap_m",
    "walk_any_m",
    "walk_any_site",
    "walk_centre_m",
    "walk_centre_site",
    "walk_community_m",
    "walk_community_site",
    "walk_outpost_m",
    "walk_outpost_site",
    "straight_any_m",
    "straight_centre_m",
    "straight_community_m",
    "straight_outpost_m",
)


def building_rows(cov: Coverage, *, scope_codes: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every building with its distances (metres, 1 decimal; None: unreachable) and whether it is covered."""
    frame = in_scope(cov.buildings, scope_codes)
    covered = frame["walk_any_m"].le(cov.threshold.metres).to_numpy()
    out = []
    for rec, hit in zip(frame[list(EXPORT_COLUMNS)].to_dict("records"), covered, strict=True):
        row: dict[str, Any] = {
            k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()
        }
        for key in row:
            if key.endswith("_m") and row[key] is not None:
                row[key] = round(float(row[key]), 1)
        row["households"], row["population"] = int(row["households"]), int(row["population"])
        row["unreachable"] = row["walk_any_m"] is None
        row["covered"] = bool(hit)
        out.append(row)
    return out


def gaps(
    session: Session, cov: Coverage, *, srid: int, merge_m: float, scope_codes: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Uncovered buildings (beyond the threshold or unreachable) and the areas they form (their footprints
    buffered by `merge_m` and unioned), each area with its buildings and households."""
    frame = in_scope(cov.buildings, scope_codes)
    gap = frame[~frame["walk_any_m"].le(cov.threshold.metres)]
    rows = sql.run(session, GAPS, {"ids": gap["id"].tolist(), "merge_m": merge_m, "srid": srid}).all()
    geoms = {r.id: r.geometry for r in rows if r.what == "building"}
    props = {r["ext_id"]: r for r in building_rows(cov, scope_codes=scope_codes) if not r["covered"]}
    buildings = [
        {"type": "Feature", "geometry": geoms[bid], "properties": props[ext]}
        for bid, ext in zip(gap["id"], gap["ext_id"], strict=True)
    ]
    areas = [
        {
            "type": "Feature",
            "geometry": r.geometry,
            "properties": {
                "buildings": int(r.buildings),
                "households": int(r.households),
                "area_m2": round(float(r.area_m2), 1),
            },
        }
        for r in rows
        if r.what == "area"
    ]
    return {"buildings": buildings, "areas": areas}
