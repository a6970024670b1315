"""Compounds and buildings: each compound inside exactly one micro-grid, buildings inside compounds."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import shapely

from tests.demo.conftest import DemoSet


def test_each_compound_in_exactly_one_micro_grid(demo: DemoSet) -> None:
    comp = demo.layers["compounds"]
    _, micro_m, micro_p = demo.level("micro")
    micro_wgs = demo.level("micro")[0]
    tree = shapely.STRtree(micro_m)
    c_idx, m_idx = tree.query(comp.metric, predicate="intersects")
    areas = shapely.area(shapely.intersection(comp.metric[c_idx], micro_m[m_idx]))
    hits: dict[int, list[str]] = defaultdict(list)
    for c, m, a in zip(c_idx, m_idx, areas, strict=True):
        if a > 0.0:
            hits[int(c)].append(micro_p[int(m)]["code"])
    code_index = {p["code"]: i for i, p in enumerate(micro_p)}
    for i, p in enumerate(comp.props):
        assert hits[i] == [p["micro_code"]], (p["id"], hits[i])
        assert micro_wgs[code_index[p["micro_code"]]].contains(comp.geoms[i]), p["id"]
    assert {p["micro_code"] for p in comp.props} == set(code_index), "a micro-grid without a compound"


def test_compounds_do_not_overlap_and_are_polygons(demo: DemoSet) -> None:
    comp = demo.layers["compounds"]
    assert all(g.geom_type == "Polygon" and g.is_valid for g in comp.geoms)
    tree = shapely.STRtree(comp.metric)
    a, b = tree.query(comp.metric, predicate="intersects")
    assert not np.any(a != b)


def test_compound_attributes(demo: DemoSet) -> None:
    comp = demo.layers["compounds"]
    ids = [p["id"] for p in comp.props]
    assert ids == [f"C{k:04d}" for k in range(1, len(ids) + 1)]
    names = [p["name"] for p in comp.props]
    assert len(set(names)) == len(names)
    assert "朝阳逸景" in names and {"莲花新区一期", "莲花新区二期"} <= set(names)
    for p in comp.props:
        assert 1 <= p["households"] <= 100 and p["buildings"] >= 1
        assert isinstance(p["aliases"], list) and p["name"] not in p["aliases"]
        assert not any(ch.isascii() and ch.isalpha() for a in p["aliases"] for ch in a)
    lianhua = [p for p in comp.props if p["name"].startswith("莲花新区")]
    assert all("莲花新区" in p["aliases"] for p in lianhua)


def test_buildings_inside_their_compound_and_households_add_up(demo: DemoSet) -> None:
    comp, bld = demo.layers["compounds"], demo.layers["buildings"]
    by_id = {p["id"]: i for i, p in enumerate(comp.props)}
    hh: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    labels: dict[str, list[str]] = defaultdict(list)
    for g, p in zip(bld.geoms, bld.props, strict=True):
        assert comp.geoms[by_id[p["compound_id"]]].contains(g), p["id"]
        assert 1 <= p["floors"] <= 33 and p["households"] >= 1
        hh[p["compound_id"]] += p["households"]
        count[p["compound_id"]] += 1
        labels[p["compound_id"]].append(p["label"])
    for p in comp.props:
        assert hh[p["id"]] == p["households"] and count[p["id"]] == p["buildings"], p["id"]
        assert labels[p["id"]] == [f"{k}栋" for k in range(1, p["buildings"] + 1)]
    ids = [p["id"] for p in bld.props]
    assert ids == [f"B{k:05d}" for k in range(1, len(ids) + 1)]
    tree = shapely.STRtree(bld.metric)
    a, b = tree.query(bld.metric, predicate="intersects")
    assert not np.any(a != b), "buildings overlap"
