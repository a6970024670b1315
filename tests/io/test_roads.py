"""Road lines into the walking network (walk_edges with roads=true): the real OSM extract of Wuhou (two-way streets
drawn twice, lane shapes stopping short of junctions) and small made-up cases for each rule — duplicates of one
street dropped but not a neighbouring street, ends snapped within the tolerance only, crossings noded except over
a bridge — each checked in the stored network."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.errors import InvalidInput
from gisgrid.io.importer import import_file
from gisgrid.io.records import ImportRejected

OSM = Path(__file__).resolve().parents[2] / "data" / "osm" / "osm_roads_wuhou_renminnan_sumo_wgs84.geojson"
LON, LAT = 104.10, 30.64
M = 1e-5  # about 1.1 m of latitude, 0.96 m of longitude here


def _line(coords: Sequence[tuple[float, float]], **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "LineString", "coordinates": [[LON + x * M, LAT + y * M] for x, y in coords]},
    }


def _import(session: Session, tmp_path: Path, features: list[dict[str, Any]]) -> dict[str, Any]:
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    result = import_file(session, layer="walk_edges", path=path, roads=True, derived="none")
    assert result.network is not None
    return result.network


def _stored_components(session: Session) -> int:
    rows = session.execute(text("SELECT source, target FROM walk_edge")).all()
    parent: dict[int, int] = {}

    def find(a: int) -> int:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for s, t in rows:
        parent[find(s)] = find(t)
    return len({find(n) for n in list(parent)})


def test_the_osm_extract_becomes_one_connected_network(session: Session, tmp_path: Path) -> None:
    assert OSM.is_file(), OSM
    result = import_file(session, layer="walk_edges", path=OSM, roads=True, derived="none")
    net = result.network
    assert net is not None
    lines = json.loads(OSM.read_text(encoding="utf-8"))["features"]
    reverse = sum(1 for f in lines if f["properties"]["direction"] == "reverse")
    # Most reverse lines repeat a forward line; none of the forward ones is dropped as its own duplicate.
    assert reverse * 0.7 <= net["duplicates_dropped"] <= reverse
    edges = session.execute(text("SELECT count(*), count(DISTINCT ext_id) FROM walk_edge")).one()
    assert edges == (net["edges"], net["edges"]) == (result.imported, result.imported)
    # The nodes the store matched give the same components the import reported.
    assert _stored_components(session) == net["components"] <= 10
    assert net["largest_component_share"] > 0.95
    assert session.execute(text("SELECT count(*) FROM walk_node")).scalar_one() == net["nodes"]


def test_two_way_duplicates_go_but_a_neighbouring_street_stays(session: Session, tmp_path: Path) -> None:
    street = [(0, 0), (200, 0)]
    net = _import(
        session,
        tmp_path,
        [
            _line(street, name="甲街", direction="forward"),
            _line([(200, 3), (0, 3)], name="甲街", direction="reverse"),  # the same street, the other lane
            _line([(0, 5), (200, 5)], name="乙巷"),  # another street 5 m away
        ],
    )
    assert net["duplicates_dropped"] == 1
    names = session.execute(text("SELECT name FROM walk_edge ORDER BY name")).scalars().all()
    assert sorted(set(names)) == ["乙巷", "甲街"] and names.count("甲街") == 1


def test_ends_snap_within_the_tolerance_only(session: Session, tmp_path: Path) -> None:
    main = _line([(0, 0), (0, 300)], name="主路")
    near = _line([(8, 100), (150, 100)], name="近路")  # stops 8 m short of 主路: snapped (15 m)
    far = _line([(40, 200), (150, 200)], name="远路")  # 40 m short: left alone
    net = _import(session, tmp_path, [main, near, far])
    assert net["snapped_ends"] == 1
    assert net["components"] == 2 == _stored_components(session)
    # 主路 is split where 近路 now ends: three edges there, and 远路 alone.
    assert net["edges"] == 4


def test_a_bridge_crosses_without_a_junction(session: Session, tmp_path: Path) -> None:
    ground = _line([(0, 0), (200, 0)], name="滨河路")
    cross = [(100, -100), (100, 100)]
    flat = _import(session, tmp_path, [ground, _line(cross, name="过街")])
    assert flat["edges"] == 4 and flat["components"] == 1
    session.execute(text("DELETE FROM walk_edge"))
    session.execute(text("DELETE FROM walk_node"))
    raised = _import(session, tmp_path, [ground, _line(cross, name="天桥", bridge="yes")])
    assert raised["bridges_and_tunnels"] == 1
    assert raised["edges"] == 2 and raised["components"] == 2 == _stored_components(session)
    kinds: dict[str, str] = {n: k for n, k in session.execute(text("SELECT name, kind FROM walk_edge")).all()}
    assert kinds == {"滨河路": "road", "天桥": "bridge"}
    # A bridge whose ends land on the ground lines joins them there.
    session.execute(text("DELETE FROM walk_edge"))
    session.execute(text("DELETE FROM walk_node"))
    joined = _import(
        session,
        tmp_path,
        [ground, _line([(0, 50), (200, 50)], name="北路"), _line([(100, 5), (100, 45)], bridge="yes")],
    )
    assert joined["components"] == 1 == _stored_components(session)


def test_bad_road_files_are_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "roads.geojson"
    point = {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [LON, LAT]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [_line([(0, 0), (50, 0)]), point]}))
    with pytest.raises(ImportRejected) as rejected:
        import_file(session, layer="walk_edges", path=path, roads=True, derived="none")
    assert [(p.index, p.field) for p in rejected.value.problems] == [(1, "geometry")]
    with pytest.raises(InvalidInput) as wrong:
        import_file(session, layer="sites", path=path, roads=True, derived="none")
    assert wrong.value.field == "roads" and wrong.value.value == "sites"
    assert session.execute(text("SELECT count(*) FROM walk_edge")).scalar_one() > 3000  # nothing replaced
