"""GeoJSON layers by bbox with a feature limit and paging; bad parameters give 4xx in the one error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from gisgrid.layers import REGISTRY
from tests.conftest import login

LAYERS = REGISTRY.map_layers


def _db_count(connection: Connection, name: str, bbox: str | None = None) -> int:
    layer = LAYERS[name]
    dataset = REGISTRY.datasets[layer.dataset]
    where = f"({dataset.current}) AND {layer.where}"
    if bbox:
        where += f" AND t.geom && ST_MakeEnvelope({bbox}, 4326)"
    return int(connection.execute(text(f"SELECT count(*) FROM {dataset.table} t WHERE {where}")).scalar_one())  # noqa: S608


@pytest.mark.parametrize("name", list(LAYERS))
def test_each_layer_returns_all_its_features(client: TestClient, connection: Connection, name: str) -> None:
    body = client.get(f"/api/layers/{name}").json()
    assert body["type"] == "FeatureCollection"
    expected = _db_count(connection, name)
    assert expected > 0, f"demo data has no {name}"
    assert body["numberMatched"] == expected
    assert body["numberReturned"] == min(expected, 5000)
    feat = body["features"][0]
    assert feat["type"] == "Feature" and feat["geometry"]["type"]


def test_list_layers_counts_match_database(client: TestClient, connection: Connection) -> None:
    listed = {row["name"]: row["count"] for row in client.get("/api/layers").json()}
    assert listed == {name: _db_count(connection, name) for name in LAYERS}


def test_bbox_filters_and_paging_walks_every_feature(client: TestClient, connection: Connection) -> None:
    ext = client.get("/api/map-config").json()["extent"]
    minx, miny, maxx, maxy = ext
    bbox = f"{minx},{miny},{(minx + maxx) / 2},{(miny + maxy) / 2}"
    expected = _db_count(connection, "micro_grids", bbox)
    assert 0 < expected < _db_count(connection, "micro_grids")
    seen, offset = [], 0
    while offset is not None:
        page = client.get(f"/api/layers/micro_grids?bbox={bbox}&limit=50&offset={offset}").json()
        assert page["numberReturned"] <= 50
        seen += [f["properties"]["code"] for f in page["features"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == expected


def test_grid_features_carry_workers_and_households(client: TestClient) -> None:
    login(client, "dispatcher")
    feats = client.get("/api/layers/micro_grids?limit=20").json()["features"]
    props = feats[0]["properties"]
    assert {"code", "name", "households", "population", "workers", "parent_code"} <= set(props)
    assert all(f["properties"]["workers"] for f in feats)
    worker = next(w for f in feats for w in f["properties"]["workers"])
    assert {"name", "role", "title", "phone"} <= set(worker) and "****" in worker["phone"]


def test_offset_past_the_end_is_an_empty_page(client: TestClient) -> None:
    body = client.get("/api/layers/communities?offset=100000").json()
    assert body["numberReturned"] == 0 and body["numberMatched"] > 0 and body["next_offset"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=104.2,30.6,104.1,30.7", "bbox"),
        ("bbox=30.6,104.1,30.7,104.2", "bbox"),
        ("bbox=nan,1,2,3", "bbox"),
        ("limit=0", "limit"),
        ("limit=999999", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_bad_parameters_name_the_value(client: TestClient, query: str, field: str) -> None:
    res = client.get(f"/api/layers/communities?{query}")
    assert res.status_code == 422
    err = res.json()["error"]
    assert err["field"] == field and err["expected"]


def test_grid_layers_as_of_a_time_show_the_grids_then(client: TestClient, connection: Connection) -> None:
    a, b = connection.execute(
        text(
            "SELECT a.code, b.code FROM grid_unit a JOIN grid_unit b ON a.parent_code = b.parent_code "
            "AND a.code < b.code AND b.level = 'micro' AND b.valid_to IS NULL "
            "AND ST_Relate(a.geom, b.geom, '****1****') WHERE a.level = 'micro' AND a.valid_to IS NULL "
            "ORDER BY a.code LIMIT 1"
        )
    ).one()
    before = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
    csrf = login(client, "admin")
    draft = client.post(
        "/api/grids/changes", json={"operations": [{"op": "merge", "codes": [a, b]}]}, headers=csrf
    )
    assert draft.status_code == 201, draft.text
    saved = client.post(
        f"/api/grids/changes/{draft.json()['id']}/save", json={"confirm_warnings": True}, headers=csrf
    )
    assert saved.status_code == 200, saved.text

    def codes(query: str) -> set[str]:
        body = client.get(f"/api/layers/micro_grids?limit=5000{query}").json()
        return {f["properties"]["code"] for f in body["features"]}

    then = codes("&at=" + before.isoformat().replace("+", "%2B"))
    assert {a, b} <= then and len(then) == _db_count(connection, "micro_grids") + 1
    assert b not in codes("")
    # The layer list says which layers answer `at`; one that keeps no history refuses it, and a time without its
    # UTC offset is refused, never guessed.
    history = {row["name"]: row["history"] for row in client.get("/api/layers").json()}
    assert history["micro_grids"] and history["communities"] and not history["compounds"]
    for query, field in (
        ("compounds?at=2026-01-01T00:00:00%2B08:00", "at"),
        ("micro_grids?at=2026-01-01T00:00:00", "at"),
    ):
        res = client.get(f"/api/layers/{query}")
        assert res.status_code == 422 and res.json()["error"]["field"] == field, res.text


def test_swapped_bbox_says_so(client: TestClient) -> None:
    err = client.get("/api/layers/communities?bbox=30.6,104.1,30.7,104.2").json()["error"]
    assert "longitude comes first" in err["message"]


def test_unknown_layer_is_404_listing_layers(client: TestClient) -> None:
    res = client.get("/api/layers/roads';DROP TABLE grid_unit;--")
    assert res.status_code == 404
    assert "micro_grids" in res.json()["error"]["expected"]


def test_map_config_defaults_offline(client: TestClient) -> None:
    cfg = client.get("/api/map-config").json()
    assert cfg["tile_url"] is None
    assert cfg["default_language"] == "zh"
    assert len(cfg["extent"]) == 4 and cfg["extent"][0] < cfg["extent"][2]


def test_layer_answer_has_a_weak_etag_and_revalidates_to_304(client: TestClient) -> None:
    url = "/api/layers/micro_grids?limit=50"
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "no-cache"
    assert first.headers["content-type"].startswith("application/json")
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # The strong form of the same tag, a list and * all match (If-None-Match compares weakly).
    for header in (etag.removeprefix("W/"), f'"other", {etag}', "*"):
        assert client.get(url, headers={"If-None-Match": header}).status_code == 304, header
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_etag_differs_by_query_and_by_private_fields(client: TestClient) -> None:
    tags = {
        client.get("/api/layers/micro_grids?limit=50").headers["etag"],
        client.get("/api/layers/micro_grids?limit=50&offset=1").headers["etag"],
        client.get("/api/layers/general_grids?limit=50").headers["etag"],
    }
    assert len(tags) == 3
    anonymous = client.get("/api/layers/micro_grids?limit=50")
    login(client, "planner")
    planner = client.get("/api/layers/micro_grids?limit=50")
    assert "households" in planner.json()["features"][0]["properties"]
    assert "households" not in anonymous.json()["features"][0]["properties"]
    assert planner.headers["etag"] != anonymous.headers["etag"]
    # A visitor's tag does not unlock the planner's answer from a cache.
    assert (
        client.get(
            "/api/layers/micro_grids?limit=50", headers={"If-None-Match": anonymous.headers["etag"]}
        ).status_code
        == 200
    )


def test_etag_changes_when_the_data_change(client: TestClient, connection: Connection) -> None:
    code = connection.execute(
        text("SELECT code FROM grid_unit WHERE valid_to IS NULL AND level = 'micro' ORDER BY code LIMIT 1")
    ).scalar_one()
    url = "/api/layers/micro_grids?limit=5"
    before = client.get(url).headers["etag"]
    connection.execute(
        text("UPDATE grid_unit SET name = name || '改' WHERE code = :c AND valid_to IS NULL"), {"c": code}
    )
    after = client.get(url, headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before


def test_large_answers_are_gzipped_and_small_ones_not(client: TestClient) -> None:
    big = client.get("/api/layers/micro_grids", headers={"Accept-Encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert int(big.headers["content-length"]) * 3 < len(
        big.content
    )  # httpx decodes; the wire size is smaller
    assert big.json()["numberReturned"] > 0
    small = client.get("/api/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    plain = client.get("/api/layers/micro_grids", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_phones_are_full_for_dispatchers_masked_for_other_roles_absent_for_anonymous(
    client: TestClient, connection: Connection
) -> None:
    code = connection.execute(
        text(
            "SELECT wg.grid_code FROM worker_grid wg JOIN grid_unit g ON g.code = wg.grid_code "
            "WHERE g.level = 'micro' AND g.valid_to IS NULL ORDER BY wg.grid_code LIMIT 1"
        )
    ).scalar_one()
    connection.execute(
        text(
            "UPDATE worker SET phone = '13800001234' WHERE id IN "
            "(SELECT worker_id FROM worker_grid WHERE grid_code = :c)"
        ),
        {"c": code},
    )

    def phones() -> set[str | None]:
        feats = client.get("/api/layers/micro_grids?limit=5000").json()["features"]
        (props,) = [f["properties"] for f in feats if f["properties"]["code"] == code]
        return {w.get("phone", "absent") for w in props["workers"]}

    assert phones() == {"absent"}
    login(client, "planner")
    assert phones() == {"138****1234"}
    client.cookies.clear()
    login(client, "dispatcher")
    assert phones() == {"13800001234"}
