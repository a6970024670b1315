"""Write grid units: an import's changed units become a new generation; with `replace` absent ones retire.

Grid units are versioned, not updated: a code keeps its rows, each in force from valid_from to valid_to, so that
incidents keep the grid that was in force when they were reported (see gisgrid.grids.generations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gisgrid.config import GridRuleSettings
from gisgrid.db import models as m
from gisgrid.grids import generations, topology
from gisgrid.grids.generations import Provenance
from gisgrid.io.records import Problem, Record
from gisgrid.io.spec import LayerSpec
from gisgrid.io.store import _base_row, _insert


def store_grids(
    session: Session,
    spec: LayerSpec,
    records: list[Record],
    *,
    valid_from: datetime | None,
    replace: bool,
    provenance: Provenance | None = None,
    rules: GridRuleSettings | None = None,
    confirm_warnings: bool = True,
    warnings: list[str] | None = None,
) -> list[Problem]:
    """Write the grid units of a file as one new generation, touching only the units that changed (a unit whose
    attributes and shape are the same keeps its row); with `replace` the current units absent from the file
    retire. Then the same gate as every boundary edit: the topology rules (gisgrid.grids.topology) on the result,
    where any error the import brought refuses it, and new warnings (household ranges, slivers) refuse it
    unless `confirm_warnings`; the caller's savepoint then rolls everything back. Accepted warnings are appended
    to `warnings`."""
    by_code = select(m.GridUnit.code, func.max(m.GridUnit.version)).group_by(m.GridUnit.code)
    versions: dict[str, int] = {c: v for c, v in session.execute(by_code)}
    current = _current(session)
    problems = _parent_problems(
        records, known={str(r.key) for r in records} | (set() if replace else set(current))
    )
    if problems:
        return problems
    rules = rules or GridRuleSettings()
    baseline = _issue_keys(topology.validate(session, rules=rules)) if current else set()
    provenance = provenance or Provenance()
    generation = generations.begin(session, provenance)
    at = valid_from or session.scalar(select(func.clock_timestamp()))
    in_file = {str(r.key) for r in records}
    records_by_code = {str(r.key): r for r in records}
    ending = sorted(
        c for c in in_file & set(current) if not _same(current[c], _record_row(spec, records_by_code[c]))
    )
    if replace:
        ending += sorted(set(current) - in_file)
    for code in ending:
        session.execute(
            update(m.GridUnit)
            .where(m.GridUnit.code == code, m.GridUnit.valid_to.is_(None))
            .values(valid_to=at, retired_generation_id=generation.id)
        )
    rows = []
    for rec in records:
        code = str(rec.key)
        if code in current and code not in ending:
            continue  # unchanged: keeps its row
        row = _base_row(spec, rec)
        row["version"] = versions.get(code, 0) + 1
        row["generation_id"] = generation.id
        row["valid_from"] = at
        rows.append(row)
    _insert(session, m.GridUnit, rows)
    index_of = {str(r.key): r.index for r in records}
    problems = _gate(session, rules, baseline, index_of, confirm_warnings, warnings)
    if problems:
        return problems
    changed = len(in_file & set(ending))
    generations.finish(
        session,
        generation,
        provenance,
        added=len(in_file - set(current)),
        changed=changed,
        retired=len(set(current) - in_file) if replace else 0,
    )
    return []


def _current(session: Session) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(
            m.GridUnit.code,
            m.GridUnit.level,
            m.GridUnit.parent_code,
            m.GridUnit.name,
            m.GridUnit.name_en,
            m.GridUnit.households,
            m.GridUnit.population,
            func.ST_AsBinary(m.GridUnit.geom).label("wkb"),
        ).where(m.GridUnit.valid_to.is_(None))
    ).mappings()
    return {r["code"]: dict(r) for r in rows}


def _record_row(spec: LayerSpec, rec: Record) -> dict[str, Any]:
    row = {fs.col: rec.attrs.get(fs.name) for fs in spec.fields}
    row["shape"] = rec.geom
    return row


ATTRIBUTES = ("level", "parent_code", "name", "name_en", "households", "population")


def _same(stored: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Whether a unit of the file equals the current one: the same attributes and the same shape (vertices
    equal after normalising ring order and start, to 1e-9°)."""
    if any((stored.get(k) or None) != (incoming.get(k) or None) for k in ATTRIBUTES if k in incoming):
        return False
    shape = incoming.get("shape")
    if shape is None:
        return False
    old = shapely.from_wkb(bytes(stored["wkb"]))
    return bool(shapely.equals_exact(shapely.normalize(_multi(old)), shapely.normalize(_multi(shape)), 1e-9))


def _multi(geom: Any) -> Any:
    return MultiPolygon([geom]) if isinstance(geom, Polygon) else geom


def _issue_keys(report: dict[str, Any]) -> set[tuple[str, str | None, str | None]]:
    return {(i["rule"], i["code"], i["other"]) for i in report["issues"]}


WARNING_RULES = ("household_range",)  # warnings in topology.sql too; kept should its severity change


def _gate(
    session: Session,
    rules: GridRuleSettings,
    baseline: set[tuple[str, str | None, str | None]],
    index_of: dict[str, int],
    confirm_warnings: bool,
    warnings: list[str] | None,
) -> list[Problem]:
    """The topology rules on the written state: what the import brought (not in `baseline`) as problems."""
    report = topology.validate(session, rules=rules)
    problems: list[Problem] = []
    accepted: list[str] = []
    for issue in report["issues"]:
        if (issue["rule"], issue["code"], issue["other"]) in baseline:
            continue
        where = issue["location"]["coordinates"] if issue.get("location") else None
        text_ = (
            f"{issue['title']}: {issue['detail']}"
            + (f" ({issue['other']})" if issue["other"] else "")
            + (f" at {where[0]:.6f}, {where[1]:.6f}" if where else "")
        )
        warning = issue["severity"] == "warning" or issue["rule"] in WARNING_RULES
        if warning and confirm_warnings:
            accepted.append(f"{issue['code']}: {text_}")
            continue
        if warning:
            text_ = "警告 warning, confirm it to import (confirm_warnings=true, --confirm-warnings): " + text_
        problems.append(Problem(index_of.get(str(issue["code"]), -1), issue["code"], "geometry", text_))
    if warnings is not None:
        warnings.extend(accepted)
    return problems


def _parent_problems(records: list[Record], *, known: set[str]) -> list[Problem]:
    problems = []
    for rec in records:
        parent = rec.attrs.get("parent_code")
        if rec.attrs.get("level") != "subdistrict" and not parent:
            problems.append(
                Problem(rec.index, rec.key, "parent_code", "missing: every level below subdistrict needs one")
            )
        elif parent and parent not in known:
            problems.append(
                Problem(
                    rec.index,
                    rec.key,
                    "parent_code",
                    f"parent {parent!r} not found in the file or the database",
                )
            )
    return problems
