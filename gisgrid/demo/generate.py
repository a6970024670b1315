"""generate(): the Niushikou demo data set or a city-scale one, written as layer files with a manifest."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from pathlib import Path

import shapely

from gisgrid.demo import writer
from gisgrid.demo.layout import Spec
from gisgrid.demo.specs import city_specs, demo_spec
from gisgrid.demo.subdistrict import LAYERS, build_subdistrict

GENERATOR_VERSION = "1.0.0"
GENERATED_AT = "2023-02-28T00:00:00+08:00"  # fixed, not the wall clock: output must be reproducible
CITY_SUBDISTRICTS = 170
WORKERS = 2
Progress = Callable[[str, int, int], None]
Packed = tuple[dict[str, tuple[list[bytes], list[dict]]], list[dict]]

LICENCE = {
    "synthetic_layers": "CC0-1.0 (synthetic data: public domain dedication)",
    "anchors": "Station positions used as anchors: © OpenStreetMap contributors, ODbL 1.0 "
    "(https://www.openstreetmap.org/copyright)",
    "names": "牛市口街道, 莲花社区, 一心桥社区, 莲花新区, 朝阳逸景, 龙舟坝坝茶, 微莲动·花自开 and the 1+10+31 "
    "figures come from a 2023 华西社区报 article; all other names are invented.",
}


def generate(
    *,
    seed: int = 7,
    scale: str = "niushikou",
    out_dir: Path,
    subdistricts: int | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Generate a data set and write its layer files to out_dir; return feature counts per layer."""
    specs = _specs(seed=seed, scale=scale, subdistricts=subdistricts)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, done, total: None)
    layers, workers = _collect(_run(specs, seed, report), len(specs), report)
    fmt = "geojson" if scale == "niushikou" else "fgb"
    files = _write(out_dir, layers, workers, fmt, report)
    counts = {name: len(layers[name][1]) for name in LAYERS} | {"workers": len(workers)}
    levels: dict[str, int] = {}
    for p in layers["grids"][1]:
        levels[p["level"]] = levels.get(p["level"], 0) + 1
    writer.write_manifest(
        out_dir / "manifest.json",
        {
            "generator": "gisgrid.demo",
            "version": GENERATOR_VERSION,
            "seed": seed,
            "scale": scale,
            "subdistricts": len(specs),
            "generated_at": GENERATED_AT,
            "synthetic": True,
            "crs": "EPSG:4326 (WGS 84 lon/lat, RFC 7946), coordinates rounded to 7 decimals",
            "metric_crs": "EPSG:4544 (CGCS2000 / 3-degree Gauss-Kruger CM 105E)",
            "format": fmt,
            "counts": counts,
            "grid_levels": levels,
            "files": files,
            "licence": LICENCE,
        },
    )
    return counts


def _specs(*, seed: int, scale: str, subdistricts: int | None) -> list[Spec]:
    if scale == "niushikou":
        if subdistricts not in (None, 1):
            raise ValueError("the niushikou scale has exactly one subdistrict")
        return [demo_spec()]
    if scale == "city":
        count = CITY_SUBDISTRICTS if subdistricts is None else subdistricts
        if count < 1:
            raise ValueError("subdistricts must be at least 1")
        return city_specs(seed=seed, count=count)
    raise ValueError(f"unknown scale {scale!r}: use 'niushikou' or 'city'")


def build_packed(args: tuple[Spec, int]) -> Packed:
    """Build one subdistrict and pack its geometries as WKB (cheap to send between processes)."""
    spec, seed = args
    result = build_subdistrict(spec, seed=seed)
    packed = {
        name: (list(shapely.to_wkb([g for g, _ in feats])), [p for _, p in feats])
        for name, feats in result.layers.items()
    }
    return packed, result.workers


def _run(specs: list[Spec], seed: int, report: Progress) -> Iterator[Packed]:
    report("subdistricts", 0, len(specs))
    jobs = [(s, seed) for s in specs]
    if len(specs) == 1:
        yield build_packed(jobs[0])
        return
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        yield from pool.imap(build_packed, jobs, chunksize=1)


def _collect(
    results: Iterator[Packed], total: int, report: Progress
) -> tuple[dict[str, tuple[list[bytes], list[dict]]], list[dict]]:
    """Concatenate subdistricts in order and give every feature its global id."""
    layers: dict[str, tuple[list[bytes], list[dict]]] = {name: ([], []) for name in LAYERS}
    workers: list[dict] = []
    for done, (packed, rows) in enumerate(results, start=1):
        offset = len(layers["compounds"][1])
        for name in LAYERS:
            wkb, props = packed[name]
            layers[name][0].extend(wkb)
            layers[name][1].extend(_renumber(name, props, offset, len(layers[name][1])))
        base = len(workers)
        workers.extend([{"id": f"W{base + k:04d}", **r} for k, r in enumerate(rows, start=1)])
        report("subdistricts", done, total)
    return layers, workers


def _renumber(name: str, props: list[dict], compound_offset: int, start: int) -> list[dict]:
    def cid(local: int | None) -> str | None:
        return None if local is None else f"C{compound_offset + local + 1:04d}"

    if name == "compounds":
        return [{**p, "id": cid(p["id"])} for p in props]
    prefix = {"buildings": ("B", 5), "sites": ("S", 3), "walk_edges": ("E", 5)}.get(name)
    if prefix is None:
        return props
    out = []
    for k, p in enumerate(props, start=start + 1):
        q = {"id": f"{prefix[0]}{k:0{prefix[1]}d}", **p}
        if "compound_id" in q:
            q["compound_id"] = cid(q["compound_id"])
        out.append(q)
    return out


def _write(
    out_dir: Path,
    layers: dict[str, tuple[list[bytes], list[dict]]],
    workers: list[dict],
    fmt: str,
    report: Progress,
) -> dict[str, dict]:
    files = {}
    total = len(LAYERS) + 1
    for k, name in enumerate(LAYERS, start=1):
        path = out_dir / f"{name}.{fmt}"
        if path.exists():
            path.unlink()
        wkb, props = layers[name]
        (writer.write_geojson if fmt == "geojson" else writer.write_fgb)(
            path, name=name, wkb=wkb, props=props
        )
        files[path.name] = {"features": len(props), "sha256": writer.sha256(path)}
        report("write", k, total)
    path = out_dir / "workers.csv"
    writer.write_workers(path, workers)
    files[path.name] = {"rows": len(workers), "sha256": writer.sha256(path)}
    report("write", total, total)
    return files
