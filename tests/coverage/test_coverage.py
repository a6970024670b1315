"""Walking coverage on the demo set (real PostGIS): consistent figures, the river as a wall, edge parts,
islands, far sites, the API and its bad input."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.coverage import areas, summary
from gisgrid.coverage.compute import Coverage, building_site_distances, compute
from gisgrid.coverage.thresholds import parse
from tests.conftest import bearer

SRID = 4544


def _cov(session: Session, spec: str = "gb5") -> Coverage:
    return compute(session, threshold=parse(spec), srid=SRID)


def _wgs84(session: Session, x: float, y: float) -> tuple[float, float]:
    row = session.execute(
        text("SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), :s), 4326) g"),
        {"x": x, "y": y, "s": SRID},
    ).one()
    return float(row[0]), float(row[1])


def _add_site(session: Session, lon: float, lat: float, ext_id: str = "T-SITE") -> None:
    session.execute(
        text(
            "INSERT INTO service_site (ext_id, kind, name, geom) "
            "VALUES (:e, 'outpost', '测试阵地', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
        ),
        {"e": ext_id, "lon": lon, "lat": lat},
    )


def _add_building(session: Session, lon: float, lat: float, households: int = 10) -> None:
    # A 6 m square (about 0.00006°) in the compound nearest to the point.
    session.execute(
        text(
            "INSERT INTO building (ext_id, compound_id, label, households, geom) "
            "SELECT 'T-BLD', (SELECT id FROM compound ORDER BY geom <-> p LIMIT 1), '测试楼', :hh, "
            "ST_Expand(p, 0.00003)::geometry(Polygon, 4326) FROM ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) p"
        ),
        {"lon": lon, "lat": lat, "hh": households},
    )


def _row(cov: Coverage, ext_id: str) -> dict[str, Any]:
    return next(r for r in summary.building_rows(cov) if r["ext_id"] == ext_id)


def test_figures_add_up_per_level_and_across_levels(session: Session) -> None:
    cov = _cov(session, "10min")
    total = int(cov.buildings["households"].sum())
    assert total == session.execute(text("SELECT sum(households) FROM building")).scalar_one()
    covered_by_level = {}
    for level in summary.LEVELS:
        units = summary.per_level(cov, level=level)
        for u in units:
            assert u["network"]["any"]["households"] + u["uncovered_households"] == u["households"]
            assert u["network"]["outpost"]["households"] <= u["network"]["any"]["households"]
            assert u["network"]["any"]["households"] <= u["straight_line"]["any"]["households"]
        assert sum(u["households"] for u in units) == total
        assert (
            sum(u["population"] for u in units)
            == session.execute(text("SELECT sum(population) FROM compound")).scalar_one()
        )
        covered_by_level[level] = sum(u["network"]["any"]["households"] for u in units)
    assert len(set(covered_by_level.values())) == 1


def test_a_building_next_to_a_site_is_covered(session: Session) -> None:
    lon, lat = session.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM service_site WHERE ext_id = 'S001'")
    ).one()
    _add_building(session, lon + 0.0001, lat)  # about 10 m east
    row = _row(_cov(session), "T-BLD")
    assert row["covered"] and row["walk_any_m"] < 100 and row["walk_centre_site"] == "S001"


def _across_the_river(session: Session) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two points 40 m either side of the river where it is farthest from a bridge (metric CRS)."""
    x, y, x2, y2 = session.execute(
        text(
            "WITH r AS (SELECT ST_Transform(geom, :s) g FROM river LIMIT 1), "
            "b AS (SELECT ST_Collect(ST_Transform(geom, :s)) bg FROM walk_edge WHERE kind = 'bridge'), "
            "c AS (SELECT ST_LineInterpolatePoint(g, f) p, ST_LineInterpolatePoint(g, f + 0.002) q "
            "      FROM r, generate_series(0.05, 0.95, 0.01) f) "
            "SELECT ST_X(p), ST_Y(p), ST_X(q), ST_Y(q) FROM c, b ORDER BY ST_Distance(p, bg) DESC LIMIT 1"
        ),
        {"s": SRID},
    ).one()
    length = math.hypot(x2 - x, y2 - y)
    nx, ny = -(y2 - y) / length, (x2 - x) / length
    return (x + 40 * nx, y + 40 * ny), (x - 40 * nx, y - 40 * ny)


def test_the_river_is_a_wall_the_circle_ignores(session: Session) -> None:
    here, there = _across_the_river(session)
    _add_site(session, *_wgs84(session, *here))
    _add_building(session, *_wgs84(session, *there))
    cov = _cov(session, "gb5")
    site = int(np.flatnonzero(cov.sites["ext_id"].to_numpy() == "T-SITE")[0])
    bld = int(np.flatnonzero(cov.buildings["ext_id"].to_numpy() == "T-BLD")[0])
    walk = building_site_distances(cov.graph, cov.building_points, cov.site_points, cov.node_dist)[site, bld]
    straight = math.hypot(
        cov.site_points.x[site] - cov.building_points.x[bld],
        cov.site_points.y[site] - cov.building_points.y[bld],
    )
    assert straight < 100 < cov.threshold.metres < walk  # the circle covers it; on foot it is a bridge away
    assert np.isfinite(walk)
    # Both snapped to their own bank: neither snap leg is longer than the way to the water.
    assert cov.site_points.snap_m[site] < 40 and cov.building_points.snap_m[bld] < 40


def test_edge_parts_count_up_to_the_point_reached(session: Session) -> None:
    cov = _cov(session, "gb5")
    lengths = areas.site_lengths(cov, areas.reached_parts(cov, cov.threshold.metres))
    with_parts = [s for s in lengths if s["partial_edges"]]
    assert len(with_parts) == len(lengths)
    for s in with_parts:
        assert s["whole_edges_m"] < s["reached_m"] < s["whole_edges_m"] + s["partial_edges_m"]


def test_a_building_on_an_island_is_unreachable_not_dropped(session: Session) -> None:
    bid, ext, lon, lat, hh = session.execute(
        text(
            "SELECT id, ext_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), households "
            "FROM building ORDER BY id LIMIT 1"
        )
    ).one()
    # A path of its own, 1 m from the building's point, joined to nothing.
    a = session.execute(
        text(
            "INSERT INTO walk_node (id, geom) SELECT max(id) + 1, ST_SetSRID(ST_MakePoint(:x, :y), 4326) "
            "FROM walk_node RETURNING id"
        ),
        {"x": lon - 0.0002, "y": lat + 0.00001},
    ).scalar_one()
    b = session.execute(
        text(
            "INSERT INTO walk_node (id, geom) SELECT max(id) + 1, ST_SetSRID(ST_MakePoint(:x, :y), 4326) "
            "FROM walk_node RETURNING id"
        ),
        {"x": lon + 0.0002, "y": lat + 0.00001},
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO walk_edge (id, source, target, kind, length_m, geom) SELECT "
            "(SELECT max(id) + 1 FROM walk_edge), :a, :b, 'path', "
            "ST_Length(g::geography), g FROM (SELECT ST_MakeLine(n1.geom, n2.geom) g FROM walk_node n1, "
            "walk_node n2 WHERE n1.id = :a AND n2.id = :b) x"
        ),
        {"a": a, "b": b},
    )
    cov = _cov(session, "10min")
    row = _row(cov, ext)
    assert row["walk_any_m"] is None and row["unreachable"] and not row["covered"]
    assert row["straight_any_m"] is not None
    micro = next(u for u in summary.per_level(cov, level="micro") if u["code"] == row["micro_code"])
    assert micro["unreachable_households"] >= hh and micro["uncovered_households"] >= hh


def test_a_site_far_from_the_network_is_snapped_and_flagged(session: Session) -> None:
    lon, lat = session.execute(
        text("SELECT ST_XMin(e), ST_YMin(e) FROM (SELECT ST_Extent(geom) e FROM walk_edge) x")
    ).one()
    _add_site(session, lon - 0.004, lat - 0.004)  # about 500 m beyond the network's south-west corner
    cov = _cov(session)
    far = cov.sites[cov.sites["ext_id"] == "T-SITE"].iloc[0]
    assert far["on_network"] and far["far_from_network"] and far["snap_m"] > 200


def _get(client: TestClient, session: Session, url: str, user: str = "auditor") -> Any:
    return client.get(url, headers={"Authorization": bearer(session, client, user)})


def test_summary_api_says_its_threshold_and_compares_the_circle(client: TestClient, session: Session) -> None:
    res = _get(client, session, "/api/coverage/summary?threshold=gb5&level=general&worst=3")
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["threshold"]["metres"] == 300 and body["threshold"]["source"] == "gb50180"
    assert body["totals"]["households"] == sum(u["households"] for u in body["units"])
    assert (
        body["totals"]["straight_line"]["any"]["households"] >= body["totals"]["network"]["any"]["households"]
    )
    assert len(body["worst_compounds"]) == 3
    # A planner scoped to 莲花社区 sees its own units only.
    scoped = _get(client, session, "/api/coverage/summary?level=general", "planner_lh").json()
    assert scoped["units"] and all(u["name"] for u in scoped["units"])
    assert scoped["totals"]["households"] < body["totals"]["households"]


def test_buildings_export_csv_and_geojson(client: TestClient, session: Session) -> None:
    session.execute(
        text("UPDATE compound SET name = '=HYPERLINK(1)' WHERE id = (SELECT min(id) FROM compound)")
    )
    res = _get(client, session, "/api/coverage/buildings?format=csv&threshold=10min@adult")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(res.text.lstrip("\ufeff"))))
    assert len(rows) == session.execute(text("SELECT count(*) FROM building")).scalar_one()
    assert any(r["compound_name"] == "'=HYPERLINK(1)" for r in rows)
    geo = _get(client, session, "/api/coverage/buildings?format=geojson").json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == len(rows)
    assert geo["properties"]["threshold"]["spec"] == "10min"


def test_service_areas_and_gaps_api(client: TestClient, session: Session) -> None:
    res = _get(client, session, "/api/coverage/service-areas?kind=community&threshold=gb5")
    assert res.status_code == 200, res.text
    feats = res.json()["features"]
    assert len(feats) == 10 and all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in feats)
    assert all(f["properties"]["threshold_m"] == 300 for f in feats)
    gaps = _get(client, session, "/api/coverage/gaps?threshold=gb5").json()
    hh = sum(f["properties"]["households"] for f in gaps["buildings"]["features"])
    assert hh == sum(f["properties"]["households"] for f in gaps["areas"]["features"]) > 0


def test_bad_input_is_a_422_naming_the_value(client: TestClient, session: Session) -> None:
    for url, field, value in (
        ("/api/coverage/summary?threshold=0", "threshold", "0"),
        ("/api/coverage/summary?threshold=99999m", "threshold", "99999m"),
        ("/api/coverage/gaps?threshold=10min@sprint", "threshold", "10min@sprint"),
        ("/api/coverage/service-areas?kind=shop", "kind", "shop"),
    ):
        res = _get(client, session, url)
        assert res.status_code == 422, (url, res.text)
        err = res.json()["error"]
        assert err["field"] == field and err["value"] == value and err["expected"], err
    res = _get(client, session, "/api/coverage/summary?level=street")
    assert res.status_code == 422 and "street" in res.text
