"""Load the city-scale synthetic set into PostGIS and time it.

Baseline (measured in the same run): the row-wise importer (`load_dataset`, the path `gisgrid demo load` uses)
on the one-subdistrict demo set, in features per second. Measured: the COPY-based bulk loader
(`gisgrid.io.bulk.bulk_load`) on the city set. Prints counts, seconds and the ratio of the two rates, and writes
benchmarks/results/load.md.

    .venv/bin/python benchmarks/bench_load.py [--subdistricts 170] [--out benchmarks/out/city] [--validate]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gisgrid.config import Settings
from gisgrid.db import migrate
from gisgrid.db.cluster import LocalCluster
from gisgrid.db.engine import drop_database, ensure_database, make_engine
from gisgrid.io.bulk import bulk_load
from gisgrid.io.importer import load_dataset

ROOT = Path(__file__).resolve().parent
BENCH_DB = "gisgrid_bench"


def machine() -> str:
    """CPU model, cores and memory of this machine."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def ensure_city(out: Path, subdistricts: int) -> float | None:
    """Generate the city set unless it is already there; return generation seconds (None if reused)."""
    if (out / "manifest.json").exists():
        return None
    from gisgrid.demo import generate

    start = time.perf_counter()
    generate(seed=7, scale="city", out_dir=out, subdistricts=subdistricts)
    return time.perf_counter() - start


def city_database(settings: Settings, dbname: str, city: Path, *, pool_size: int = 1) -> Engine:
    """An engine on benchmark database `dbname`: created, migrated and bulk-loaded with the city set at `city`
    unless it already holds it (as the admin: a bulk load truncates the layers)."""
    url = settings.db.admin_url(dbname=dbname)
    ensure_database(url)
    engine = make_engine(url, pool_size=pool_size)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        micro = conn.execute(text("SELECT count(*) FROM grid_unit WHERE level = 'micro'")).scalar_one()
    if micro < 100_000:
        bulk_load(engine, folder=city)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subdistricts", type=int, default=170)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "city")
    parser.add_argument(
        "--validate", action="store_true", help="also time the topology rules on the city set"
    )
    args = parser.parse_args()
    settings = Settings()
    if not settings.db.external:
        LocalCluster(root=settings.db.db_cluster_dir, port=settings.db.db_port).up()
    gen_seconds = ensure_city(args.out, args.subdistricts)

    url = settings.db.admin_url(dbname=BENCH_DB)
    drop_database(url)
    ensure_database(url)
    engine = make_engine(url, pool_size=2)
    migrate.upgrade(engine)

    start = time.perf_counter()
    demo = load_dataset(engine, folder=settings.data.demo_dir, if_changed=False)
    base_s = time.perf_counter() - start
    base_n = sum(demo.counts.values())
    base_rate = base_n / base_s

    start = time.perf_counter()
    city = bulk_load(engine, folder=args.out)
    bulk_s = time.perf_counter() - start
    bulk_n = sum(v for k, v in city["counts"].items() if k not in ("walk_nodes", "worker_grids"))
    bulk_rate = bulk_n / bulk_s
    with engine.connect() as conn:
        levels: dict[str, int] = dict(
            conn.execute(text("SELECT level, count(*) FROM grid_unit GROUP BY level")).all()
        )
        size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()

    validate_line = ""
    if args.validate:
        from gisgrid.grids.topology import validate

        start = time.perf_counter()
        with Session(engine) as session:
            report = validate(session, rules=settings.grid_rules)
        validate_line = (
            f"| topology rules on the city set | {time.perf_counter() - start:.1f} s | "
            f"{report['errors']} errors, {report['warnings']} warnings |\n"
        )
    engine.dispose()
    drop_database(url)

    ratio = bulk_rate / base_rate
    lines = [
        f"# Loading the city-scale set into PostGIS ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"Machine: {machine()}. PostgreSQL/PostGIS: the project's own cluster. Command: "
        f"`.venv/bin/python benchmarks/bench_load.py --subdistricts {args.subdistricts}"
        f"{' --validate' if args.validate else ''}`.",
        "",
        "| what | time | records |",
        "|---|---|---|",
        f"| generate city set ({args.subdistricts} subdistricts) | "
        f"{'reused' if gen_seconds is None else f'{gen_seconds:.1f} s'} | see manifest |",
        f"| **baseline**: row-wise importer, demo set (1 subdistrict) | {base_s:.2f} s | {base_n} "
        f"({base_rate:,.0f} features/s) |",
        f"| bulk COPY loader, city set | {bulk_s:.1f} s | {bulk_n} ({bulk_rate:,.0f} features/s) |",
        validate_line.rstrip("\n"),
        "",
        f"Ratio bulk/baseline (features per second): **{ratio:.1f}×**.",
        "",
        "City set: " + ", ".join(f"{k} {v:,}" for k, v in city["counts"].items()) + ".",
        "Grid units by level: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(levels.items()))
        + f". Database {size}.",
        "Seconds per bulk step: " + ", ".join(f"{k} {v:.1f}" for k, v in city["seconds"].items()) + ".",
        "",
    ]
    report_text = "\n".join(line for line in lines if line is not None)
    print(report_text)
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "load.md").write_text(report_text.replace("\n\n\n", "\n\n"), encoding="utf-8")


if __name__ == "__main__":
    main()
