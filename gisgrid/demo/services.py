"""The "1+10+31" service sites, the special grids and the grid workers of one subdistrict."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from gisgrid.demo import plan
from gisgrid.demo.names import (
    CENTRE_HOURS,
    CENTRE_SERVICES,
    COMMUNITY_HOURS,
    COMMUNITY_SERVICES,
    OUTPOST_HOURS,
    OUTPOST_SERVICES,
    PHASES,
    NamePool,
)
from gisgrid.demo.naming import Addresser, CompoundName
from gisgrid.demo.units import Unit

OUTPOSTS = 31
SPECIAL_KINDS = (
    ("law", "FZ", "法治格"),
    ("care", "GA", "关爱格"),
    ("medical", "YL", "医疗格"),
    ("veterans", "TY", "退役军人格"),
)
SPECIALISTS = {
    "law": ("律师", "律师", "民警"),
    "care": ("社工", "红十字救护员", "志愿者"),
    "medical": ("医生", "护士", "医生"),
    "veterans": ("退役军人",),
}
MICRO_TITLES = (
    ("微网格员（楼栋长）",) * 5
    + ("微网格员（党员）",) * 2
    + ("微网格员（居民小组长）", "微网格员（物业）", "微网格员（退役军人）", "微网格员（志愿者）")
)


@dataclass
class Compounds:
    """What the site and worker builders need to know about the compounds (indexed by parcel)."""

    polygons: list[Polygon]  # metric
    names: dict[int, CompoundName]
    households: list[int]
    buildings: list[list[Polygon]]  # metric footprints per compound
    community_of: dict[int, str]  # parcel -> community code


def frontage_point(compound: Polygon, toward: BaseGeometry) -> Point:
    """A point just outside the compound wall on the side facing toward (a street-front building)."""
    b = nearest_points(compound.exterior, toward)[0]
    d = np.array([toward.x - b.x, toward.y - b.y])
    if np.hypot(*d) < 1e-6 or compound.contains(toward):
        c = compound.centroid
        d = np.array([b.x - c.x, b.y - c.y])
    p = Point(np.array([b.x, b.y]) + d / max(np.hypot(*d), 1e-9) * 1.2)
    return p if not compound.contains(p) else compound.representative_point()


def build_sites(
    rng: np.random.Generator,
    root: Unit,
    comp: Compounds,
    addresser: Addresser,
    *,
    anchor: Point,
    brands: dict[str, str],
    forced: list[int],
) -> list[tuple[Point, dict]]:
    """1 centre, one site per community and 31 outposts in 31 compounds of distinct estates."""
    nearest = _nearest_compound(comp, root.parcels, anchor)
    centre = frontage_point(comp.polygons[nearest], anchor)
    sites = [
        (
            centre,
            _props(
                addresser,
                centre,
                "centre",
                f"{root.name}便民服务中心",
                None,
                list(CENTRE_SERVICES),
                CENTRE_HOURS,
                comp.community_of[nearest],
                None,
            ),
        )
    ]
    community_points = {}
    for c in root.children:
        target = c.metric.centroid
        k = _nearest_compound(comp, c.parcels, target)
        p = frontage_point(comp.polygons[k], target)
        community_points[c.code] = p
        hours = COMMUNITY_HOURS[int(rng.integers(len(COMMUNITY_HOURS)))]
        sites.append(
            (
                p,
                _props(
                    addresser,
                    p,
                    "community",
                    f"{c.name}党群服务中心",
                    brands[c.code],
                    list(COMMUNITY_SERVICES),
                    hours,
                    c.code,
                    None,
                ),
            )
        )
    counts = plan.allocate([c.households for c in root.children], total=OUTPOSTS, minimum=2)
    picks: list[int] = []
    for c, n in zip(root.children, counts, strict=True):
        picks += _spread(comp, c.parcels, n, community_points[c.code], [f for f in forced if f in c.parcels])
    for k in sorted(picks):
        p = _inside_point(comp.polygons[k], comp.buildings[k])
        hours = OUTPOST_HOURS[int(rng.integers(len(OUTPOST_HOURS)))]
        name = comp.names[k].name
        sites.append(
            (
                p,
                _props(
                    addresser,
                    p,
                    "outpost",
                    f"{name}服务阵地",
                    None,
                    list(OUTPOST_SERVICES),
                    hours,
                    comp.community_of[k],
                    k,
                    suffix=name,
                ),
            )
        )
    return sites


def _props(
    addresser: Addresser,
    p: Point,
    kind: str,
    name: str,
    brand: str | None,
    services: list[str],
    hours: str,
    community: str,
    compound: int | None,
    suffix: str = "",
) -> dict:
    road, number = addresser.address(p)
    return {
        "kind": kind,
        "name": name,
        "brand": brand,
        "services": services,
        "opening_hours": hours,
        "community_code": community,
        "compound_id": compound,
        "address": f"{road}{number}号{suffix}",
    }


def _nearest_compound(comp: Compounds, parcels: list[int], target: BaseGeometry) -> int:
    d = shapely.distance(np.array([comp.polygons[p] for p in parcels], dtype=object), target)
    return parcels[int(np.argmin(d))]


def _estate(name: str) -> str:
    for phase in PHASES:
        if name.endswith(phase):
            return name[: -len(phase)]
    return name


def _spread(comp: Compounds, parcels: list[int], n: int, start: Point, forced: list[int]) -> list[int]:
    """n compounds of distinct estates spread out by farthest-point sampling, forced ones first."""
    chosen = list(forced[:n])
    estates = {_estate(comp.names[k].name) for k in chosen}
    cents = shapely.centroid(np.array([comp.polygons[p] for p in parcels], dtype=object))
    seeds = [start] + [comp.polygons[k].centroid for k in chosen]
    dmin = np.min([shapely.distance(cents, s) for s in seeds], axis=0)
    while len(chosen) < n:
        ok = np.array([_estate(comp.names[p].name) not in estates for p in parcels])
        if not ok.any():
            break
        i = int(np.argmax(np.where(ok, dmin, -1.0)))
        chosen.append(parcels[i])
        estates.add(_estate(comp.names[parcels[i]].name))
        dmin = np.minimum(dmin, shapely.distance(cents, cents[i]))
    return chosen


def _inside_point(compound: Polygon, buildings: list[Polygon]) -> Point:
    free = compound.buffer(-1.0).difference(shapely.union_all([b.buffer(2.0) for b in buildings]))
    p = free.representative_point() if not free.is_empty else compound.representative_point()
    return p if compound.contains(p) else compound.representative_point()


def special_grids(
    rng: np.random.Generator, root: Unit, *, preferred: dict[str, list[str]]
) -> list[tuple[BaseGeometry, dict]]:
    """Two special grids of each kind, each covering one community (preferred kind -> community codes)."""
    out = []
    codes = [c.code for c in root.children]
    for kind, abbr, label in SPECIAL_KINDS:
        chosen = list(preferred.get(kind, []))
        rest = [c for c in codes if c not in chosen]
        chosen += [rest[int(i)] for i in rng.choice(len(rest), size=2 - len(chosen), replace=False)]
        for seq, code in enumerate(sorted(chosen), start=1):
            community = next(c for c in root.children if c.code == code)
            props = {
                "code": f"{root.code}-{abbr}-{seq:02d}",
                "kind": kind,
                "name": f"{community.name}{label}",
                "community_code": code,
            }
            out.append((community.geom, props))
    return out


def workers(rng: np.random.Generator, names: NamePool, root: Unit, specials: list[dict]) -> list[dict]:
    """Community heads, full-time grid workers, micro-grid workers and special-grid specialists."""
    rows: list[dict] = []

    def add(role: str, title: str, codes: list[str]) -> None:
        rows.append(
            {
                "name": names.unique_person(),
                "role": role,
                "title": title,
                "phone": names.phone(),
                "grid_codes": ";".join(codes),
            }
        )

    for c in root.children:
        add("community_head", "社区总网格长", [c.code])
        for g in c.children:
            add("grid_worker", "专职网格员", [g.code])
            for m in g.children:
                add("micro_grid_worker", MICRO_TITLES[int(rng.integers(len(MICRO_TITLES)))], [m.code])
    for s in specials:
        titles = SPECIALISTS[s["kind"]]
        for k in range(int(rng.integers(1, 4))):
            add("specialist", titles[k % len(titles)], [s["code"]])
    return rows
