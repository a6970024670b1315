"""Build every layer of one subdistrict (features with subdistrict-local ids, renumbered by the caller)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from gisgrid.demo import plan
from gisgrid.demo.buildings import Building, compound_polygons, place_buildings
from gisgrid.demo.geometry import lonlat_to_metric, round_wgs, sibling_order, to_metric
from gisgrid.demo.layout import Layout, Spec, build_layout
from gisgrid.demo.names import (
    BRAND_SUFFIXES,
    BRIDGE_NAMES,
    DEMO_BRANDS,
    DEMO_COMMUNITIES,
    DEMO_ESTATES,
    NamePool,
)
from gisgrid.demo.naming import Addresser, name_compounds
from gisgrid.demo.network import River, WalkEdge, faces_by_parcel, footbridge, node, river_lines, walk_edges
from gisgrid.demo.services import Compounds, build_sites, special_grids, workers
from gisgrid.demo.specs import NIUSHIKOU_STATION
from gisgrid.demo.units import Unit, build_units, name_units, order_parcels, sum_households, walk

Feature = tuple[BaseGeometry, dict]
# The layers the generator builds (datasets of the layer registry, gisgrid.layers), in the manifest's order.
LAYERS = (
    "grids",
    "compounds",
    "buildings",
    "sites",
    "walk_edges",
    "rivers",
    "bank_segments",
    "special_grids",
)


@dataclass
class Result:
    """All features of one subdistrict; compound references are local 0-based integers."""

    layers: dict[str, list[Feature]] = field(default_factory=lambda: {name: [] for name in LAYERS})
    workers: list[dict] = field(default_factory=list)


def build_subdistrict(spec: Spec, *, seed: int) -> Result:
    """Generate one subdistrict from its spec; deterministic in (seed, spec)."""
    rng = np.random.default_rng([seed, spec.index])
    names = NamePool(rng, taken=list(DEMO_ESTATES) if spec.demo else None)
    layout, river, root, edges = _partition(spec, rng, names)
    community_names = _community_names(spec, names, root, edges)
    name_units(root, community_names)
    addresser = Addresser(layout.lines)
    comp, population, buildings = _compounds(spec, rng, names, layout, river, root, addresser)
    brands = _brands(spec, rng, root, community_names)
    forced = (
        [p for p in root.parcels if comp.names[p].name in ("莲花新区一期", "朝阳逸景")] if spec.demo else []
    )
    anchor = Point(lonlat_to_metric(*NIUSHIKOU_STATION)) if spec.demo else root.metric.centroid
    sites = build_sites(rng, root, comp, addresser, anchor=anchor, brands=brands, forced=forced)
    specials = special_grids(rng, root, preferred=_preferred_specials(spec, root))
    result = Result()
    _grid_features(result, root)
    local = _compound_features(result, root, comp, population, buildings)
    _site_features(result, sites, local)
    result.layers["walk_edges"] = [(e.geom, {"kind": e.kind, "name": e.name}) for e in edges]
    _river_features(result, spec, layout.river, river)
    result.layers["special_grids"] = specials
    result.workers = workers(rng, names, root, [p for _, p in specials])
    return result


def _partition(
    spec: Spec, rng: np.random.Generator, names: NamePool
) -> tuple[Layout, River, Unit, list[WalkEdge]]:
    """Layout, river, the unit tree with exact polygons and codes, and the walking network."""
    layout = build_layout(spec, rng, names)
    river, greenways = river_lines(layout)
    lines = layout.lines + greenways + [footbridge(layout, river, greenways, [f"{spec.river[0]}人行桥"])]
    noded = node(lines)
    root = build_units(layout, faces_by_parcel(noded, layout), code=spec.code)
    root.name, root.name_en = spec.name, spec.name_en
    return layout, river, root, walk_edges(noded, lines, river, list(BRIDGE_NAMES))


def _compounds(
    spec: Spec,
    rng: np.random.Generator,
    names: NamePool,
    layout: Layout,
    river: River,
    root: Unit,
    addresser: Addresser,
) -> tuple[Compounds, list[int], dict[int, list[Building]]]:
    """Compound polygons, households, population, buildings and names; unit households summed."""
    polygons = compound_polygons(layout, river.offset)
    order_parcels(root, polygons)
    households = [p.households for p in layout.parcels]
    population = [plan.population(rng, households=h) for h in households]
    sum_households(root, households, population)
    buildings = {p: place_buildings(rng, polygons[p], households=households[p]) for p in root.parcels}
    cnames = name_compounds(
        rng, names, root, [poly.centroid for poly in polygons], addresser, _fixed_estates(spec, root)
    )
    community_of = {p: c.code for c in root.children for p in c.parcels}
    footprints = [[b.geom for b in buildings[p]] for p in range(len(polygons))]
    return Compounds(polygons, cnames, households, footprints, community_of), population, buildings


def _community_names(spec: Spec, names: NamePool, root: Unit, edges: list[WalkEdge]) -> list[tuple[str, str]]:
    """Names in code order; in the demo 一心桥社区 is the community at the 一心桥 bridge, 莲花社区 next to it."""
    if not spec.demo:
        return [names.unique(("",)) for _ in root.children]
    bridge = shapely.union_all(to_metric([e.geom for e in edges if e.name == "一心桥"]))
    near = [i for i, c in enumerate(root.children) if c.metric.distance(bridge) < 1.0]
    yixin = near[0]
    others = [i for i in range(len(root.children)) if i != yixin]
    lianhua = min(others, key=lambda i: root.children[i].metric.centroid.distance(bridge))
    rest = [n for n in DEMO_COMMUNITIES if n[0] not in ("莲花", "一心桥")]
    out = {yixin: DEMO_COMMUNITIES[1], lianhua: DEMO_COMMUNITIES[0]}
    for i in range(len(root.children)):
        if i not in out:
            out[i] = rest.pop(0)
    return [out[i] for i in range(len(root.children))]


def _fixed_estates(spec: Spec, root: Unit) -> dict[str, tuple[str, int]]:
    if not spec.demo:
        return {}
    lianhua = next(c for c in root.children if c.name == "莲花社区")
    others = [c for c in root.children if c.name not in ("莲花社区", "一心桥社区")]
    return {DEMO_ESTATES[0]: (lianhua.code, 3), DEMO_ESTATES[1]: (others[len(others) // 2].code, 1)}


def _preferred_specials(spec: Spec, root: Unit) -> dict[str, list[str]]:
    if not spec.demo:
        return {}
    code = {c.name: c.code for c in root.children}
    return {
        "law": [code["莲花社区"]],
        "care": [code["莲花社区"]],
        "medical": [code["一心桥社区"]],
        "veterans": [code["一心桥社区"]],
    }


def _brands(
    spec: Spec, rng: np.random.Generator, root: Unit, community_names: list[tuple[str, str]]
) -> dict[str, str]:
    order = rng.permutation(len(BRAND_SUFFIXES))
    out = {}
    for k, (c, (zh, _)) in enumerate(zip(root.children, community_names, strict=True)):
        fixed = DEMO_BRANDS.get(zh) if spec.demo else None
        out[c.code] = fixed or f"{zh}·{BRAND_SUFFIXES[int(order[k % len(order)])]}"
    return out


def _grid_features(result: Result, root: Unit) -> None:
    for u in walk(root):
        props = {
            "code": u.code,
            "level": u.level,
            "parent_code": u.parent_code,
            "name": u.name,
            "name_en": u.name_en,
            "households": u.households,
            "population": u.population,
        }
        result.layers["grids"].append((u.geom, props))


def _compound_features(
    result: Result, root: Unit, comp: Compounds, population: list[int], buildings: dict
) -> dict[int, int]:
    local = {p: i for i, p in enumerate(root.parcels)}
    micro_of = {p: m.code for m in walk(root, "micro") for p in m.parcels}
    geoms = round_wgs([comp.polygons[p] for p in root.parcels])
    for p, g in zip(root.parcels, geoms, strict=True):
        blds = buildings[p]
        props = {
            "id": local[p],
            "name": comp.names[p].name,
            "aliases": comp.names[p].aliases,
            "buildings": len(blds),
            "households": comp.households[p],
            "population": population[p],
            "micro_code": micro_of[p],
        }
        result.layers["compounds"].append((g, props))
        fp = np.array([b.geom for b in blds], dtype=object)
        xy = shapely.get_coordinates(shapely.centroid(fp))
        order = sibling_order(xy[:, 0], xy[:, 1], shapely.area(fp))
        for label, k in enumerate(order, start=1):
            b = blds[int(k)]
            result.layers["buildings"].append(
                (
                    b.geom,
                    {
                        "compound_id": local[p],
                        "label": f"{label}栋",
                        "floors": b.floors,
                        "households": b.households,
                    },
                )
            )
    bgeoms = round_wgs([g for g, _ in result.layers["buildings"]])
    result.layers["buildings"] = [
        (g, p) for g, (_, p) in zip(bgeoms, result.layers["buildings"], strict=True)
    ]
    return local


def _site_features(result: Result, sites: list[tuple[Point, dict]], local: dict[int, int]) -> None:
    geoms = round_wgs([p for p, _ in sites])
    for g, (_, props) in zip(geoms, sites, strict=True):
        cid = props["compound_id"]
        result.layers["sites"].append((g, {**props, "compound_id": None if cid is None else local[cid]}))


def _river_features(result: Result, spec: Spec, centreline: BaseGeometry, river: River) -> None:
    name, abbr, width = spec.river
    rid = f"R{spec.index + 1}"
    result.layers["rivers"].append((round_wgs([centreline])[0], {"id": rid, "name": name, "width_m": width}))
    prefix = abbr if spec.demo else f"{spec.code}-{abbr}"
    for side, bank in river.bank_lines.items():
        n = max(1, round(bank.length / 350.0))
        pieces = [substring(bank, i / n, (i + 1) / n, normalized=True) for i in range(n)]
        label = "左岸" if side == "left" else "右岸"
        for seq, g in enumerate(round_wgs(pieces), start=1):
            props = {
                "code": f"{prefix}-{side[0].upper()}-{seq:03d}",
                "river_id": rid,
                "side": side,
                "seq": seq,
                "name": f"{name}{label}第{seq}段",
            }
            result.layers["bank_segments"].append((g, props))
