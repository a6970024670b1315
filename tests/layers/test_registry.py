"""The layer registry is the one definition of the layers: every stored layer is in it, and a layer added to it
appears in the GeoJSON API, the map configuration, file import and export and the bulk loader at once."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from gisgrid.io import bulk
from gisgrid.io.export import export_file
from gisgrid.io.importer import import_file
from gisgrid.layers.registry import REGISTRY, Dataset, MapLayer, f
from tests.conftest import as_owner, login


def test_every_table_with_geometry_is_a_registered_layer(connection: Connection) -> None:
    stored = set(
        connection.execute(
            text("SELECT f_table_name FROM geometry_columns WHERE f_table_schema = 'public'")
        ).scalars()
    )
    missing = stored - REGISTRY.tables()
    assert not missing, f"tables with geometry missing from the layer registry (gisgrid/layers): {missing}"


def test_every_map_layer_views_a_dataset_and_every_field_has_labels() -> None:
    for layer in REGISTRY.map_layers.values():
        assert layer.dataset in REGISTRY.datasets, layer.name
    for dataset in REGISTRY.datasets.values():
        for fs in dataset.fields + dataset.extra:
            assert fs.zh and fs.en, f"{dataset.name}.{fs.name} has no zh/en label"
            assert fs.ref is None or fs.ref in REGISTRY.datasets, (
                f"{dataset.name}.{fs.name} refers to {fs.ref}"
            )


WELLS = Dataset(
    "test_wells",
    "测试水井",
    "Test wells",
    "test_well",
    "Point",
    "id",
    (
        f("id", zh="编号", en="ID", column="ext_id"),
        f("name", zh="名称", en="Name"),
        f("depth_m", "float", "深度", "Depth", required=False),
        f("keeper_phone", zh="管护人电话", en="Keeper's phone", required=False, private=True),
    ),
    "test_wells.geojson",
)
WELL_LAYER = MapLayer(
    "test_wells",
    "test_wells",
    "测试水井",
    "Test wells",
    "point",
    650,
    order="t.ext_id",
    style={"color": "#123456"},
)


def _wells_file(path: Path, n: int) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {
                "id": f"W{i}",
                "name": f"井 {i}",
                "depth_m": 3.5 + i,
                "keeper_phone": "13800000000",
            },
            "geometry": {"type": "Point", "coordinates": [104.1 + i / 1000, 30.64]},
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_a_new_layer_is_one_registry_entry(
    client: TestClient, connection: Connection, session: Session, tmp_path: Path
) -> None:
    with as_owner(connection):  # a migration's work: the app role gets its rights by default privileges
        connection.execute(
            text(
                "CREATE TABLE test_well (id serial PRIMARY KEY, ext_id varchar(32) UNIQUE NOT NULL, name text "
                "NOT NULL, depth_m double precision, keeper_phone varchar(32), geom geometry(Point, 4326) NOT NULL)"
            )
        )
    with REGISTRY.extended(WELLS, WELL_LAYER):
        # file import (all or nothing, checked against the registry's fields)
        result = import_file(session, layer="test_wells", path=_wells_file(tmp_path / "in.geojson", 3))
        assert (result.imported, result.added) == (3, 3)
        # file export gives exactly the registry's fields back
        out = tmp_path / "out.geojson"
        assert export_file(session, layer="test_wells", path=out) == 3
        props = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
        assert list(props) == ["id", "name", "depth_m", "keeper_phone"]
        session.flush()

        # the GeoJSON API, with the private field hidden from anonymous callers
        body = client.get("/api/layers/test_wells").json()
        assert body["numberMatched"] == 3
        assert "keeper_phone" not in body["features"][0]["properties"]
        login(client, "dispatcher")
        assert client.get("/api/layers/test_wells").json()["features"][0]["properties"]["keeper_phone"]

        # the map configuration: title, style and field labels for the page
        cfg = {layer["name"]: layer for layer in client.get("/api/map-config").json()["layers"]}
        well = cfg["test_wells"]
        assert well["title"] == {"zh": "测试水井", "en": "Test wells"}
        assert well["map"]["style"] == {"color": "#123456"} and well["count"] == 3
        assert [fs["label"]["zh"] for fs in well["fields"]] == ["编号", "名称", "深度", "管护人电话"]

        # the bulk loader's generic COPY path
        connection.execute(text("DELETE FROM test_well"))
        keys: bulk.Keys = {}
        loaded = bulk._load_features(
            connection,
            folder=_wells_file(tmp_path / "test_wells.geojson", 5).parent,
            spec=WELLS,
            keys=keys,
            valid_from="2023-01-01T00:00:00+08:00",
        )
        assert loaded == {"test_wells": 5} and set(keys["test_wells"]) == {f"W{i}" for i in range(5)}
        assert "test_well" in bulk._truncated()
    assert "test_wells" not in REGISTRY.datasets and "test_wells" not in REGISTRY.map_layers


def test_the_demo_generator_writes_registered_layers() -> None:
    from gisgrid.demo.subdistrict import LAYERS

    assert set(LAYERS) <= set(REGISTRY.datasets)
    assert {d.name for d in REGISTRY.datasets.values() if d.geometry} == set(LAYERS)
