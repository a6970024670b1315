"""Same seed and scale give byte-identical files; the committed demo set is what the generator makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gisgrid.demo import generate

COMMITTED = Path(__file__).resolve().parents[2] / "data" / "geo"


def _files(path: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.suffix in (".geojson", ".csv", ".json")
    }


def test_same_seed_same_bytes(demo_dir: Path, tmp_path: Path) -> None:
    counts = generate(seed=7, scale="niushikou", out_dir=tmp_path)
    first, second = _files(demo_dir), _files(tmp_path)
    assert set(first) == set(second) and len(first) == 10
    for name in first:
        assert first[name] == second[name], name
    assert counts["grids"] > 700


def test_other_seed_differs(demo_dir: Path, tmp_path: Path) -> None:
    generate(seed=8, scale="niushikou", out_dir=tmp_path)
    assert _files(tmp_path)["grids.geojson"] != _files(demo_dir)["grids.geojson"]


def test_committed_demo_is_current(demo_dir: Path) -> None:
    committed = _files(COMMITTED)
    fresh = _files(demo_dir)
    stale = [n for n in fresh if committed.get(n) != fresh[n]]
    assert not stale, f"data/geo is stale, regenerate with: python -m gisgrid.demo --out data/geo ({stale})"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate(scale="town", out_dir=Path("/nonexistent"))
    with pytest.raises(ValueError):
        generate(scale="niushikou", subdistricts=3, out_dir=Path("/nonexistent"))
