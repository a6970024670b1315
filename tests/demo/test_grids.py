"""The four grid levels: exact tiling, codes, sibling numbering, names and households."""

from __future__ import annotations

import math
import re
from collections import defaultdict

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from tests.demo.conftest import DemoSet, metric

LEVELS = {"subdistrict": 9, "community": 12, "general": 15, "micro": 18}
CHILD = {"subdistrict": "community", "community": "general", "general": "micro"}
TOLERANCE_M2 = 0.01


def _by_code(demo: DemoSet) -> dict[str, tuple[BaseGeometry, BaseGeometry, dict]]:
    g = demo.layers["grids"]
    return {p["code"]: (g.geoms[i], g.metric[i], p) for i, p in enumerate(g.props)}


def _children(demo: DemoSet) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for p in demo.layers["grids"].props:
        if p["parent_code"] is not None:
            out[p["parent_code"]].append(p["code"])
    return out


def test_level_counts_and_identity(demo: DemoSet) -> None:
    counts = {lvl: len(demo.level(lvl)[2]) for lvl in LEVELS}
    assert counts["subdistrict"] == 1 and counts["community"] == 10
    assert 80 <= counts["general"] <= 130
    assert 600 <= counts["micro"] <= 700
    _, m, props = demo.level("subdistrict")
    assert props[0]["code"] == "510104003" and props[0]["name"] == "牛市口街道"
    assert 1e6 <= m[0].area <= 4e6
    station = metric([Point(104.105206, 30.6400907)])[0]
    assert m[0].contains(station)
    names = {p["name"] for p in demo.level("community")[2]}
    assert {"莲花社区", "一心桥社区"} <= names and len(names) == 10


def test_polygons_are_valid(demo: DemoSet) -> None:
    g = demo.layers["grids"]
    assert all(geom.is_valid and geom.geom_type in ("Polygon", "MultiPolygon") for geom in g.geoms)
    assert all(geom.is_valid for geom in g.metric)


def test_children_tile_parent_exactly(demo: DemoSet) -> None:
    units, children = _by_code(demo), _children(demo)
    for parent_code, codes in children.items():
        parent = units[parent_code][1]
        kids = [units[c][1] for c in codes]
        union = shapely.union_all(kids)
        assert union.symmetric_difference(parent).area < TOLERANCE_M2, parent_code
        overlap = sum(k.area for k in kids) - union.area
        assert overlap < TOLERANCE_M2, (parent_code, overlap)


def test_no_pairwise_overlaps_within_a_level(demo: DemoSet) -> None:
    for level in ("community", "general", "micro"):
        _, m, props = demo.level(level)
        tree = shapely.STRtree(m)
        a, b = tree.query(m, predicate="intersects")
        keep = a < b
        areas = shapely.area(shapely.intersection(m[a[keep]], m[b[keep]]))
        assert areas.max(initial=0.0) < TOLERANCE_M2, level


def test_tiling_holds_in_output_degrees(demo: DemoSet) -> None:
    """Shared boundaries use identical rounded vertices, so unions are exact in the stored coordinates too."""
    units, children = _by_code(demo), _children(demo)
    for parent_code, codes in children.items():
        union = shapely.union_all([units[c][0] for c in codes])
        parent = units[parent_code][0]
        assert shapely.equals(union, parent), parent_code
    coords = shapely.get_coordinates(demo.layers["grids"].geoms)
    assert np.allclose(coords, np.round(coords, 7), atol=1e-12, rtol=0)


def test_codes(demo: DemoSet) -> None:
    units = _by_code(demo)
    assert len(units) == len(demo.layers["grids"].props)
    for code, (_, _, p) in units.items():
        assert re.fullmatch(r"\d+", code) and len(code) == LEVELS[p["level"]], code
        if p["level"] == "subdistrict":
            assert p["parent_code"] is None
            continue
        parent = units[p["parent_code"]][2]
        assert code.startswith(parent["code"]) and len(code) == len(parent["code"]) + 3
        assert CHILD[parent["level"]] == p["level"]


def test_siblings_numbered_north_to_south_west_to_east(demo: DemoSet) -> None:
    units, children = _by_code(demo), _children(demo)
    for codes in children.values():
        codes = sorted(codes)
        assert [int(c[-3:]) for c in codes] == list(range(1, len(codes) + 1))
        geoms = np.array([units[c][1] for c in codes], dtype=object)
        xy = shapely.get_coordinates(shapely.centroid(geoms))
        band = 0.6 * math.sqrt(float(np.mean(shapely.area(geoms))))
        rows = np.floor((xy[:, 1].max() - xy[:, 1]) / band)
        keys = list(zip(rows, xy[:, 0], strict=True))
        assert keys == sorted(keys), codes[0][:-3]


def test_names(demo: DemoSet) -> None:
    units = _by_code(demo)
    for code, (_, _, p) in units.items():
        if p["level"] == "general":
            community = units[p["parent_code"]][2]
            assert p["name"] == f"{community['name']}第{int(code[-3:])}网格"
            assert p["name_en"] == f"{community['name_en']} Grid {int(code[-3:])}"
        if p["level"] == "micro":
            general = units[p["parent_code"]][2]
            assert p["name"] == f"{general['name']}第{code[-2:]}微网格"
        assert p["name"] and p["name_en"].isascii()


def test_households_sum_and_ranges(demo: DemoSet) -> None:
    units, children = _by_code(demo), _children(demo)
    hh: dict[str, int] = defaultdict(int)
    pop: dict[str, int] = defaultdict(int)
    for c in demo.layers["compounds"].props:
        hh[c["micro_code"]] += c["households"]
        pop[c["micro_code"]] += c["population"]

    def total(code: str, table: dict[str, int]) -> int:
        return table[code] if code not in children else sum(total(k, table) for k in children[code])

    for code, (_, _, p) in units.items():
        assert p["households"] == total(code, hh), code
        assert p["population"] == total(code, pop), code
        if p["level"] == "micro":
            assert 30 <= p["households"] <= 100, code
        if p["level"] == "general":
            assert 300 <= p["households"] <= 500, code
    sub = demo.level("subdistrict")[2][0]
    assert 2.4 <= sub["population"] / sub["households"] <= 2.8
