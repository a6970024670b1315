"""Locate and place search, through GET /api/locate and /api/locate/places: the right micro-grid from any
coordinate system, candidates near edges, generations, walking distances, and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid import crs
from tests.conftest import login

STATION = (104.105206, 30.640091)


@pytest.fixture
def dispatcher(client: TestClient) -> TestClient:
    login(client, "dispatcher")
    return client


def _locate(client: TestClient, lon: float, lat: float, system: str = "wgs84", **extra: object) -> dict:
    res = client.get("/api/locate", params={"lon": lon, "lat": lat, "crs": system, **extra})
    assert res.status_code == 200, res.text
    return res.json()


def test_full_answer_at_the_station(dispatcher: TestClient) -> None:
    body = _locate(dispatcher, *STATION)
    assert [p["level"] for p in body["path"]] == ["subdistrict", "community", "general", "micro"]
    codes = [p["code"] for p in body["path"]]
    assert all(codes[i + 1].startswith(codes[i]) for i in range(3))
    assert body["micro_grid"]["code"] == codes[-1]
    roles = {w["role"] for w in body["workers"]}
    assert roles == {"micro_grid_worker", "grid_worker", "community_head"}
    assert all("****" in w["phone"] for w in body["workers"])
    sites = body["nearest_sites"]
    assert [s["rank"] for s in sites] == [1, 2, 3]
    assert sites == sorted(sites, key=lambda s: s["walk_m"])
    assert all(s["walk_m"] >= s["straight_m"] - 0.5 for s in sites)
    assert body["wgs84"] == {"lon": STATION[0], "lat": STATION[1], "shift_m": 0.0}


def _near_edge_points(session: Session, n: int) -> list[tuple[str, float, float]]:
    rows = session.execute(
        text(
            "WITH m AS (SELECT code, geom FROM grid_unit WHERE level='micro' AND valid_to IS NULL ORDER BY code "
            "LIMIT :n), e AS (SELECT code, geom, ST_LineInterpolatePoint(ST_ExteriorRing(ST_GeometryN(geom, 1)), 0.37)"
            " AS b FROM m) SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, ST_ClosestPoint(ST_Buffer(geom::geography,"
            " -3)::geometry, b) AS p FROM e) q"
        ),
        {"n": n},
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_gcj02_point_3m_inside_an_edge_lands_in_the_same_micro_grid(
    dispatcher: TestClient, session: Session
) -> None:
    points = _near_edge_points(session, 40)
    assert len(points) == 40
    lon = np.array([p[1] for p in points])
    lat = np.array([p[2] for p in points])
    for system, (x, y) in (
        ("gcj02", crs.wgs84_to_gcj02(lon, lat)),
        ("bd09", crs.gcj02_to_bd09(*crs.wgs84_to_gcj02(lon, lat))),
    ):
        for (code, _, _), gx, gy in zip(points, x, y, strict=True):
            body = _locate(dispatcher, float(gx), float(gy), system, accuracy=0)
            assert body["micro_grid"]["code"] == code, (system, code)
            assert body["wgs84"]["shift_m"] > 200


def test_point_on_a_shared_vertex_is_ambiguous_and_owned_by_the_smallest_code(
    dispatcher: TestClient, session: Session
) -> None:
    a, b, x, y = session.execute(
        text(
            "SELECT a.code, b.code, ST_X(v.geom), ST_Y(v.geom) FROM grid_unit a JOIN grid_unit b ON a.code < b.code "
            "AND a.level = 'micro' AND b.level = 'micro' AND a.valid_to IS NULL AND b.valid_to IS NULL "
            "AND ST_Touches(a.geom, b.geom) CROSS JOIN LATERAL ST_DumpPoints(a.geom) v "
            "WHERE ST_Covers(b.geom, v.geom) ORDER BY a.code, b.code LIMIT 1"
        )
    ).one()
    first = _locate(dispatcher, x, y, accuracy=1)
    again = _locate(dispatcher, x, y, accuracy=1)
    covering = sorted(c["code"] for c in first["candidates"] if c["covers"])
    assert first["ambiguous"] and {a, b} <= {c["code"] for c in first["candidates"]}
    assert first["micro_grid"]["code"] == covering[0] == again["micro_grid"]["code"]


def test_outside_every_grid_is_422_naming_the_nearest(dispatcher: TestClient) -> None:
    res = dispatcher.get("/api/locate", params={"lon": 104.2, "lat": 30.64, "crs": "wgs84"})
    assert res.status_code == 422
    err = res.json()["error"]
    assert (
        err["details"]["nearest"]["distance_m"] > 1000 and err["details"]["nearest"]["code"] in err["message"]
    )


def test_a_wgs84_point_sent_as_gcj02_is_not_silently_moved(dispatcher: TestClient) -> None:
    body = _locate(dispatcher, *STATION, "gcj02")
    assert body["wgs84"]["shift_m"] > 300  # converted, and says by how much


def test_at_uses_the_generation_in_force(dispatcher: TestClient, session: Session) -> None:
    code, gen_id = session.execute(
        text("SELECT code, id FROM grid_unit WHERE level='micro' AND valid_to IS NULL ORDER BY code LIMIT 1")
    ).one()
    x, y = session.execute(
        text(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grid_unit WHERE id = :i"
        ),
        {"i": gen_id},
    ).one()
    cut = datetime.now(UTC) - timedelta(days=1)
    session.execute(text("UPDATE grid_unit SET valid_to = :t WHERE id = :i"), {"t": cut, "i": gen_id})
    session.execute(
        text(
            "INSERT INTO grid_unit (code, level, parent_code, name, households, population, geom, valid_from, version) "
            "SELECT code, level, parent_code, name || '（新）', households, population, geom, :t, version + 1 "
            "FROM grid_unit WHERE id = :i"
        ),
        {"t": cut, "i": gen_id},
    )
    session.flush()
    old = _locate(dispatcher, x, y, at=(cut - timedelta(days=30)).isoformat())
    new = _locate(dispatcher, x, y)
    assert old["micro_grid"]["unit_id"] == gen_id and old["micro_grid"]["code"] == code
    assert new["micro_grid"]["unit_id"] != gen_id and new["micro_grid"]["name"].endswith("（新）")
    assert new["micro_grid"]["version"] == old["micro_grid"]["version"] + 1
    first = session.execute(
        text("SELECT generation_id FROM grid_unit WHERE id = :i"), {"i": gen_id}
    ).scalar_one()
    assert old["micro_grid"]["generation_id"] == first
    before_any = dispatcher.get(
        "/api/locate", params={"lon": x, "lat": y, "crs": "wgs84", "at": "2020-01-01T00:00:00Z"}
    )
    assert before_any.status_code == 422 and before_any.json()["error"]["field"] == "at"


def test_walking_distance_goes_round_by_a_bridge(dispatcher: TestClient, session: Session) -> None:
    # Points 25 m from the river; a site across the water is much farther on foot than in a straight line.
    rows = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Project(ST_LineInterpolatePoint(geom, f)::geography, 25, "
            "radians(90))::geometry AS p FROM river, generate_series(0.1, 0.9, 0.2) f) q"
        )
    ).all()
    detours = 0
    for x, y in rows:
        for site in _locate(dispatcher, x, y)["nearest_sites"]:
            crosses = session.execute(
                text(
                    "SELECT ST_Intersects(geom, ST_SetSRID(ST_MakeLine(ST_MakePoint(:x, :y), ST_MakePoint(:sx, :sy)), 4326)) "
                    "FROM river"
                ),
                {"x": x, "y": y, "sx": site["lon"], "sy": site["lat"]},
            ).scalar()
            assert site["walk_m"] >= site["straight_m"] - 0.5
            if crosses:
                detours += 1
                assert site["walk_m"] > site["straight_m"] + 20
    assert detours > 0, "no sample reached a site across the river"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lon": 104.1, "lat": 30.6}, "crs"),
        ({"lon": 104.1, "lat": 30.6, "crs": "mars"}, "crs"),
        ({"lon": 30.64, "lat": 104.1, "crs": "wgs84"}, "lat"),
        ({"lon": "abc", "lat": 30.6, "crs": "wgs84"}, "lon"),
        ({"lon": 104.1, "lat": 30.6, "crs": "wgs84", "accuracy": 5000}, "accuracy"),
        # Without an offset the time could be Beijing time or UTC, 8 hours apart: refused, never guessed.
        ({"lon": STATION[0], "lat": STATION[1], "crs": "wgs84", "at": "2026-01-01T08:00:00"}, "at"),
    ],
)
def test_bad_input_is_422_naming_the_field(dispatcher: TestClient, params: dict, field: str) -> None:
    res = dispatcher.get("/api/locate", params=params)
    assert res.status_code == 422, res.text
    assert res.json()["error"]["field"] == field


def test_swapped_coordinates_say_so(dispatcher: TestClient) -> None:
    res = dispatcher.get("/api/locate", params={"lon": 30.64, "lat": 104.1, "crs": "wgs84"})
    assert "swapped" in res.json()["error"]["message"]


def test_anonymous_may_not_locate(client: TestClient) -> None:
    assert (
        client.get("/api/locate", params={"lon": STATION[0], "lat": STATION[1], "crs": "wgs84"}).status_code
        == 401
    )


def test_places_by_compound_and_building_then_locate(dispatcher: TestClient) -> None:
    hits = dispatcher.get("/api/locate/places", params={"q": "莲花新区3栋"}).json()
    assert hits and all(h["compound"].startswith("莲花新区") and h["building"] == "3栋" for h in hits)
    body = _locate(dispatcher, hits[0]["lon"], hits[0]["lat"])
    assert body["compound"]["name"] == hits[0]["compound"] and body["building"]["label"] == "3栋"


def test_places_typo_alias_and_missing_building(dispatcher: TestClient) -> None:
    assert dispatcher.get("/api/locate/places", params={"q": "朝阳一景"}).json()[0]["compound"] == "朝阳逸景"
    assert dispatcher.get("/api/locate/places", params={"q": "逸景"}).json()[0]["compound"] == "朝阳逸景"
    missing = dispatcher.get("/api/locate/places", params={"q": "朝阳逸景 99-1"}).json()
    assert missing[0]["compound"] == "朝阳逸景" and missing[0]["building_not_found"] == "99栋"
    assert missing[0]["unit"] == "1"
    assert dispatcher.get("/api/locate/places", params={"q": "%_"}).json() == []
