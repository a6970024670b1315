"""Grid units of one subdistrict: exact polygons from the partition faces, codes, names and households."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gisgrid.demo.geometry import GRID, sibling_order, to_metric
from gisgrid.demo.layout import Layout, Node


@dataclass
class Unit:
    """One grid unit (subdistrict, community, general grid or micro-grid) with its exact WGS 84 polygon."""

    level: str
    code: str
    parent_code: str | None
    geom: BaseGeometry  # WGS 84, on the 7-decimal grid
    metric: BaseGeometry  # the same polygon in EPSG:4544
    parcels: list[int]  # parcel indices, in numbering order once codes are assigned
    name: str = ""
    name_en: str = ""
    households: int = 0
    population: int = 0
    children: list[Unit] = field(default_factory=list)
    seq: int = 0  # 1-based number among siblings


def build_units(layout: Layout, faces: list[list[BaseGeometry]], *, code: str) -> Unit:
    """The unit tree with exact polygons (unions of shared-vertex faces) and hierarchical codes."""
    communities = [_unit(c, faces) for c in layout.communities]
    geom = shapely.union_all([c.geom for c in communities], grid_size=GRID)
    root = Unit(
        "subdistrict",
        code,
        None,
        geom,
        to_metric([geom])[0],
        [p for c in communities for p in c.parcels],
        children=communities,
    )
    _number(root)
    return root


def _unit(node: Node, faces: list[list[BaseGeometry]]) -> Unit:
    if node.level == "micro":
        parcels = [leaf.leaf for leaf in node.children]
        geom = shapely.union_all([f for p in parcels for f in faces[p]], grid_size=GRID)
        return Unit("micro", "", None, geom, to_metric([geom])[0], parcels)
    children = [_unit(c, faces) for c in node.children]
    geom = shapely.union_all([c.geom for c in children], grid_size=GRID)
    return Unit(
        node.level,
        "",
        None,
        geom,
        to_metric([geom])[0],
        [p for c in children for p in c.parcels],
        children=children,
    )


def _number(unit: Unit) -> None:
    """Give children codes parent + 3 digits, numbered north to south, west to east (see sibling_order)."""
    if not unit.children:
        return
    cents = shapely.centroid(np.array([c.metric for c in unit.children], dtype=object))
    xy = shapely.get_coordinates(cents)
    areas = shapely.area(np.array([c.metric for c in unit.children], dtype=object))
    order = sibling_order(xy[:, 0], xy[:, 1], areas)
    unit.children = [unit.children[i] for i in order]
    for seq, child in enumerate(unit.children, start=1):
        child.seq, child.code, child.parent_code = seq, f"{unit.code}{seq:03d}", unit.code
        _number(child)
    unit.parcels = [p for c in unit.children for p in c.parcels] if unit.level != "micro" else unit.parcels


def order_parcels(unit: Unit, compounds_metric: list[BaseGeometry]) -> None:
    """Order each micro-grid's parcels by the sibling rule applied to their compounds."""
    for child in unit.children:
        order_parcels(child, compounds_metric)
    if unit.level == "micro" and len(unit.parcels) > 1:
        geoms = np.array([compounds_metric[p] for p in unit.parcels], dtype=object)
        xy = shapely.get_coordinates(shapely.centroid(geoms))
        order = sibling_order(xy[:, 0], xy[:, 1], shapely.area(geoms))
        unit.parcels = [unit.parcels[i] for i in order]
    elif unit.children:
        unit.parcels = [p for c in unit.children for p in c.parcels]


def walk(unit: Unit, level: str | None = None) -> list[Unit]:
    """The unit and its descendants in code order (pre-order), optionally only one level."""
    out = [unit] if level in (None, unit.level) else []
    for c in unit.children:
        out.extend(walk(c, level))
    return out


def name_units(root: Unit, community_names: list[tuple[str, str]]) -> None:
    """Chinese and English names down the tree from the community names (in code order)."""
    for community, (zh, pinyin) in zip(root.children, community_names, strict=True):
        community.name, community.name_en = f"{zh}社区", f"{pinyin} Community"
        for g in community.children:
            g.name, g.name_en = f"{zh}社区第{g.seq}网格", f"{pinyin} Community Grid {g.seq}"
            for m in g.children:
                m.name = f"{g.name}第{m.seq:02d}微网格"
                m.name_en = f"{g.name_en} Micro-grid {m.seq:02d}"


def sum_households(unit: Unit, households: list[int], population: list[int]) -> None:
    """Households and population of every unit as sums over its compounds."""
    for c in unit.children:
        sum_households(c, households, population)
    unit.households = sum(households[p] for p in unit.parcels)
    unit.population = sum(population[p] for p in unit.parcels)
