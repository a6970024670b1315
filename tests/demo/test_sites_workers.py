"""The 1+10+31 service sites, special grids and workers."""

from __future__ import annotations

import re
from collections import Counter

from tests.demo.conftest import DemoSet


def test_one_centre_ten_community_sites_31_outposts(demo: DemoSet) -> None:
    sites = demo.layers["sites"]
    kinds = Counter(p["kind"] for p in sites.props)
    assert kinds == {"centre": 1, "community": 10, "outpost": 31}
    centre = next(p for p in sites.props if p["kind"] == "centre")
    assert centre["name"] == "牛市口街道便民服务中心" and {"民政", "社保", "信访"} <= set(centre["services"])
    assert [p["id"] for p in sites.props] == [f"S{k:03d}" for k in range(1, 43)]


def test_community_sites_one_per_community_and_inside_it(demo: DemoSet) -> None:
    sites = demo.layers["sites"]
    wgs, _, props = demo.level("community")
    geom = {p["code"]: g for g, p in zip(wgs, props, strict=True)}
    found: Counter[str] = Counter()
    brands: dict[str, str] = {}
    for g, p in zip(sites.geoms, sites.props, strict=True):
        assert geom[p["community_code"]].contains(g), p["id"]
        if p["kind"] == "community":
            found[p["community_code"]] += 1
            brands[p["community_code"]] = p["brand"]
            assert len(p["services"]) == 20 and len({s.split("·")[0] for s in p["services"]}) == 7
    assert found == Counter({code: 1 for code in geom})
    by_name = {p["name"]: brands[p["code"]] for p in props}
    assert by_name["莲花社区"] == "微莲动·花自开"
    assert "龙舟坝坝茶" in brands.values() and len(set(brands.values())) == 10


def test_outposts_in_31_distinct_compounds(demo: DemoSet) -> None:
    sites, comp = demo.layers["sites"], demo.layers["compounds"]
    by_id = {p["id"]: (g, p) for g, p in zip(comp.geoms, comp.props, strict=True)}
    outposts = [(g, p) for g, p in zip(sites.geoms, sites.props, strict=True) if p["kind"] == "outpost"]
    ids = [p["compound_id"] for _, p in outposts]
    assert len(set(ids)) == 31
    names = set()
    for g, p in outposts:
        cg, cp = by_id[p["compound_id"]]
        assert cg.contains(g) and len(p["services"]) == 11
        assert {"政策宣传", "民情收集", "事项代办"} <= set(p["services"])
        names.add(cp["name"])
    assert "朝阳逸景" in names and any(n.startswith("莲花新区") for n in names)
    for _, p in zip(sites.geoms, sites.props, strict=True):
        assert p["opening_hours"] and p["address"].count("号") >= 1
        assert (p["compound_id"] is None) == (p["kind"] != "outpost")


def test_special_grids(demo: DemoSet) -> None:
    sg = demo.layers["special_grids"]
    wgs, _, props = demo.level("community")
    geom = {p["code"]: g for g, p in zip(wgs, props, strict=True)}
    kinds = Counter(p["kind"] for p in sg.props)
    assert set(kinds) == {"law", "care", "medical", "veterans"}
    for g, p in zip(sg.geoms, sg.props, strict=True):
        assert re.fullmatch(r"510104003-(FZ|GA|YL|TY)-\d{2}", p["code"])
        assert g.intersection(geom[p["community_code"]]).area > 0.5 * g.area
    assert len({p["code"] for p in sg.props}) == len(sg.props)


def test_workers(demo: DemoSet) -> None:
    rows = demo.workers
    roles = Counter(r["role"] for r in rows)
    levels = Counter(p["level"] for p in demo.layers["grids"].props)
    assert roles["community_head"] == levels["community"]
    assert roles["grid_worker"] == levels["general"]
    assert roles["micro_grid_worker"] == levels["micro"]
    served = Counter(r["grid_codes"] for r in rows if r["role"] != "specialist")
    grid_codes = {p["code"] for p in demo.layers["grids"].props if p["level"] != "subdistrict"}
    assert set(served) == grid_codes and max(served.values()) == 1
    special = Counter(r["grid_codes"] for r in rows if r["role"] == "specialist")
    assert set(special) == {p["code"] for p in demo.layers["special_grids"].props}
    assert all(1 <= n <= 3 for n in special.values())
    for r in rows:
        assert re.fullmatch(r"1\d{2}\*{4}\d{4}", r["phone"]), r
        assert re.fullmatch(r"W\d{4,}", r["id"]) and 2 <= len(r["name"]) <= 3
    assert [r["id"] for r in rows] == [f"W{k:04d}" for k in range(1, len(rows) + 1)]
    titles = Counter(r["title"] for r in rows)
    assert titles["专职网格员"] == levels["general"] and titles["社区总网格长"] == levels["community"]
