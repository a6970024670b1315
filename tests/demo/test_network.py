"""The walking network, the river and its bank segments."""

from __future__ import annotations

from collections import Counter

import numpy as np
import shapely
from shapely.geometry import Point

from tests.demo.conftest import DemoSet


def _ends(g) -> set[tuple[float, float]]:
    return {tuple(g.coords[0]), tuple(g.coords[-1])}


def _components(edges: list) -> list[int]:
    """Union-find over shared endpoints; returns a component label per edge."""
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in edges:
        a, b = tuple(g.coords[0]), tuple(g.coords[-1])
        parent[find(a)] = find(b)
    return [find(tuple(g.coords[0])) for g in edges]


def _side(river, geom) -> int:
    """+1 left of the flow, -1 right, for the midpoint of a metric geometry."""
    p = geom.interpolate(0.5, normalized=True) if geom.geom_type == "LineString" else geom
    s = river.project(p)
    a, b = river.interpolate(max(s - 1, 0)), river.interpolate(min(s + 1, river.length))
    cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
    return 1 if cross > 0 else -1


def test_edge_attributes(demo: DemoSet) -> None:
    e = demo.layers["walk_edges"]
    assert all(g.geom_type == "LineString" and g.length > 0 for g in e.geoms)
    kinds = Counter(p["kind"] for p in e.props)
    assert set(kinds) == {"road", "path", "bridge", "crossing"}
    ids = [p["id"] for p in e.props]
    assert ids == [f"E{k:05d}" for k in range(1, len(ids) + 1)]
    named = [p["name"] for p in e.props if p["kind"] == "road"]
    assert all(n and n[-1] in "路街巷道" for n in named)


def test_network_is_noded(demo: DemoSet) -> None:
    geoms = demo.layers["walk_edges"].geoms
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    for i, j in zip(a[keep], b[keep], strict=True):
        inter = geoms[i].intersection(geoms[j])
        pts = {tuple(p.coords[0]) for p in shapely.get_parts(inter) if p.geom_type == "Point"}
        assert all(p.geom_type == "Point" for p in shapely.get_parts(inter)), (i, j, inter.wkt)
        assert pts <= (_ends(geoms[i]) & _ends(geoms[j])), (i, j, inter.wkt)


def test_sides_connect_only_over_bridges(demo: DemoSet) -> None:
    e = demo.layers["walk_edges"]
    river = demo.layers["rivers"].metric[0]
    assert len(set(_components(list(e.geoms)))) == 1
    dry = [i for i, p in enumerate(e.props) if p["kind"] != "bridge"]
    labels = _components([e.geoms[i] for i in dry])
    sides: dict = {}
    for i, label in zip(dry, labels, strict=True):
        sides.setdefault(label, set()).add(_side(river, e.metric[i]))
    assert len(sides) == 2, "each river side must be one connected network"
    assert sorted(tuple(s) for s in sides.values()) == [(-1,), (1,)]


def test_only_bridges_touch_the_river(demo: DemoSet) -> None:
    e = demo.layers["walk_edges"]
    river = demo.layers["rivers"].geoms[0]
    touching = [p for g, p in zip(e.geoms, e.props, strict=True) if g.intersects(river)]
    assert touching and all(p["kind"] == "bridge" for p in touching)
    crossings = {p["name"] for p in touching}
    assert len(crossings) >= 3 and "一心桥" in crossings
    banks = shapely.union_all(demo.layers["bank_segments"].geoms)
    assert all(p["kind"] == "bridge" for g, p in zip(e.geoms, e.props, strict=True) if g.crosses(banks))


def test_river_flows_south_through_the_subdistrict(demo: DemoSet) -> None:
    r = demo.layers["rivers"]
    assert [p["name"] for p in r.props] == ["沙河"] and r.props[0]["id"] == "R1"
    line = r.metric[0]
    assert line.coords[0][1] > line.coords[-1][1]
    sub = demo.level("subdistrict")[1][0]
    assert sub.buffer(1.0).contains(line) and line.length > 1000


def test_bank_segments(demo: DemoSet) -> None:
    b = demo.layers["bank_segments"]
    river = demo.layers["rivers"].metric[0]
    for side, letter, sign in (("left", "L", 1), ("right", "R", -1)):
        segs = sorted((p["seq"], g, p) for g, p in zip(b.metric, b.props, strict=True) if p["side"] == side)
        assert [s for s, _, _ in segs] == list(range(1, len(segs) + 1)) and len(segs) >= 3
        for (seq, g, p), nxt in zip(segs, segs[1:] + [None], strict=True):
            assert 200 <= g.length <= 500, (p["code"], g.length)
            assert (
                p["code"] == f"SH-{letter}-{seq:03d}"
                and p["name"] == f"沙河{'左' if sign > 0 else '右'}岸第{seq}段"
            )
            assert _side(river, g) == sign and p["river_id"] == "R1"
            if nxt is not None:
                assert Point(g.coords[-1]).distance(Point(nxt[1].coords[0])) < 0.05
    assert len({p["code"] for p in b.props}) == len(b.props)


def test_every_compound_reaches_the_network(demo: DemoSet) -> None:
    """Every compound lies within 120 m of a walk edge on its own side of the river."""
    e = demo.layers["walk_edges"].metric
    comp = demo.layers["compounds"].metric
    tree = shapely.STRtree(e)
    _, d = tree.query_nearest(shapely.centroid(comp), return_distance=True)
    assert np.max(d) < 120
