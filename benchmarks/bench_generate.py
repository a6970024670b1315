"""Benchmark: generate the city-scale synthetic data set (>= 100 subdistricts, >= 100,000 micro-grids).

Reports the wall time of gisgrid.demo.generate(scale="city") with its 2 worker processes, the feature counts, and
two baselines measured in the same run:

* serial: the mean time to build one city subdistrict in this process (a sample of --sample subdistricts)
  times the number of subdistricts, i.e. what one core would need; ratio = parallel speed-up;
* write-only: the time pyogrio needs to write the same features again (read back from the .fgb files), i.e.
  the share of the run that is file output.

Usage: python benchmarks/bench_generate.py [--subdistricts 170] [--seed 7] [--sample 4] [--record]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import pyogrio
import pyproj
import shapely
from pyogrio.raw import read, write

from gisgrid.demo import generate
from gisgrid.demo.generate import build_packed
from gisgrid.demo.specs import city_specs

RESULTS = Path(__file__).resolve().parent / "results" / "generate.md"
NOTES = (
    "## How to read this",
    "",
    "- Baseline 1 is measured in the same run, after the parallel run: the mean time to build one city",
    "  subdistrict in the main process, times the number of subdistricts. The speed-up is bounded by 2 (two",
    "  workers); the workers also pay a one-off start-up (spawned interpreters import shapely, pyproj) and the",
    "  main process merges results and writes the files at the end.",
    "- 'Effective cores used' = CPU seconds of the main process and the workers / wall time. Below the speed-up",
    "  bound, the rest of the machine was busy (see the load average): the workers waited for a core.",
    "- Baseline 2 re-writes the same features with pyogrio alone: file output is a small share of the run;",
    "  the time goes into geometry (recursive splitting, noding, polygonizing, unions, building layout).",
    "- Loading into PostGIS is not part of this benchmark.",
    "",
)


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def serial_sample(*, seed: int, count: int, sample: int) -> float:
    """Mean seconds to build one city subdistrict in this process, over an evenly spread sample."""
    specs = city_specs(seed=seed, count=count)
    picks = [specs[round(i * (count - 1) / max(sample - 1, 1))] for i in range(sample)]
    started = time.perf_counter()
    for spec in picks:
        build_packed((spec, seed))
    return (time.perf_counter() - started) / len(picks)


def write_only(out: Path) -> float:
    """Seconds to write the generated .fgb layers again with pyogrio (reading them is not timed)."""
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(out.glob("*.fgb")):
            meta, _, geometry, fields = read(path)
            started = time.perf_counter()
            write(
                str(Path(tmp) / path.name),
                geometry,
                fields,
                meta["fields"],
                crs=meta["crs"],
                driver="FlatGeobuf",
                geometry_type=meta["geometry_type"],
                encoding="UTF-8",
            )
            total += time.perf_counter() - started
    return total


def main() -> None:
    """Run the benchmark and print (and optionally record) a Markdown report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subdistricts", type=int, default=170)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--record", action="store_true", help=f"write the report to {RESULTS}")
    args = parser.parse_args()
    load_before = os.getloadavg()
    out = args.out or Path(tempfile.mkdtemp(prefix="gisgrid-city-"))
    cpu_before = _cpu()
    started = time.perf_counter()
    counts = generate(seed=args.seed, scale="city", out_dir=out, subdistricts=args.subdistricts)
    wall = time.perf_counter() - started
    cpu = tuple(b - a for a, b in zip(cpu_before, _cpu(), strict=True))
    load_after = os.getloadavg()
    per_subdistrict = serial_sample(seed=args.seed, count=args.subdistricts, sample=args.sample)
    serial = per_subdistrict * args.subdistricts
    writing = write_only(out)
    size_mb = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    report = _report(
        args, counts, wall, per_subdistrict, serial, writing, size_mb, (load_before, load_after), cpu
    )
    print(report)
    if args.record:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report, encoding="utf-8")


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) used so far by this process and by its finished child processes."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _report(
    args: argparse.Namespace,
    counts: dict[str, int],
    wall: float,
    per_subdistrict: float,
    serial: float,
    writing: float,
    size_mb: float,
    load: tuple,
    cpu: tuple,
) -> str:
    """The Markdown report."""
    lines = [
        "# Benchmark: city-scale synthetic data generation",
        "",
        "Command: `python benchmarks/bench_generate.py "
        f"--subdistricts {args.subdistricts} --seed {args.seed} --sample {args.sample}`",
        "",
        "## Machine",
        "",
        f"- CPU: {cpu_model()}, nproc = {os.cpu_count()}",
        f"- load average (1 min) before / after the run: {load[0][0]:.2f} / {load[1][0]:.2f} "
        "(other work on the machine competes with the 2 workers)",
        f"- Python {platform.python_version()}, shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), "
        f"pyproj {pyproj.__version__} (PROJ {pyproj.proj_version_str}), pyogrio {pyogrio.__version__} "
        f"(GDAL {pyogrio.__gdal_version_string__})",
        "",
        "## Result",
        "",
        "| measure | value |",
        "|---|---|",
        f"| subdistricts | {args.subdistricts} |",
        *[f"| {name} | {n:,} |" for name, n in counts.items()],
        f"| output size | {size_mb:.1f} MB (FlatGeobuf + CSV) |",
        f"| **wall time, generate(scale='city'), 2 worker processes** | **{wall:.1f} s** |",
        f"| baseline 1: one subdistrict built serially (mean of {args.sample}) | {per_subdistrict:.2f} s |",
        f"| baseline 1 × {args.subdistricts} subdistricts = serial estimate | {serial:.1f} s |",
        f"| **speed-up = serial estimate / wall time** | **{serial / wall:.2f}×** |",
        f"| CPU time: main process / 2 workers | {cpu[0]:.1f} s / {cpu[1]:.1f} s |",
        f"| effective cores used = CPU time / wall time | {(cpu[0] + cpu[1]) / wall:.2f} |",
        f"| baseline 2: write the same features again with pyogrio | {writing:.1f} s |",
        f"| write-only / wall time | {writing / wall:.1%} |",
        "",
        *NOTES,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
