"""Command line: python -m gisgrid.demo --seed 7 --scale niushikou --out data/geo"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gisgrid.demo.generate import generate


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate the data set and print the counts."""
    parser = argparse.ArgumentParser(prog="python -m gisgrid.demo", description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", choices=("niushikou", "city"), default="niushikou")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--subdistricts", type=int, default=None, help="city scale only (default 170)")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        print(f"\r{stage}: {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    counts = generate(
        seed=args.seed, scale=args.scale, out_dir=args.out, subdistricts=args.subdistricts, progress=progress
    )
    for name, n in counts.items():
        print(f"{name:15s} {n:>9d}")
    print(f"{'seconds':15s} {time.perf_counter() - started:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
