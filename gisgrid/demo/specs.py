"""Subdistrict specifications: the Niushikou demo around the real station, and a city of cells around Chengdu."""

from __future__ import annotations

import math

import numpy as np

from gisgrid.demo.geometry import lonlat_to_metric
from gisgrid.demo.layout import Spec
from gisgrid.demo.names import DEMO_SUBDISTRICT, DISTRICTS, RIVERS, NamePool

# Real anchors (OpenStreetMap, © OpenStreetMap contributors, ODbL 1.0), WGS 84 lon/lat.
NIUSHIKOU_STATION = (104.105206, 30.6400907)
DONGDALU_STATION = (104.1096421, 30.6360419)
DEMO_CODE = "510104003"
CITY_CENTRE = (104.066, 30.657)  # central Chengdu (天府广场 area), WGS 84
CELL = (2900.0, 2500.0)  # city cell size in metres (east, north)


def demo_spec() -> Spec:
    """The Niushikou demo: one subdistrict centred near 牛市口 station, the river east of it flowing south."""
    sx, sy = lonlat_to_metric(*NIUSHIKOU_STATION)
    return Spec(
        index=0,
        code=DEMO_CODE,
        name=DEMO_SUBDISTRICT[0],
        name_en=f"{DEMO_SUBDISTRICT[1]} Subdistrict",
        district="锦江区",
        centre=(sx + 60.0, sy - 200.0),
        radii=(1200.0, 900.0),
        grid_angle=math.radians(6.0),
        flow=(math.sin(math.radians(8.0)), -math.cos(math.radians(8.0))),
        river_offset=540.0,
        river=RIVERS[0],
        anchors=(lonlat_to_metric(*NIUSHIKOU_STATION), lonlat_to_metric(*DONGDALU_STATION)),
        demo=True,
    )


def city_specs(*, seed: int, count: int) -> list[Spec]:
    """count subdistricts, one per cell of a grid centred on central Chengdu, numbered per district."""
    rng = np.random.default_rng([seed, 1_000_003])
    cols = math.ceil(math.sqrt(count * CELL[1] / CELL[0]))
    rows = math.ceil(count / cols)
    cx, cy = lonlat_to_metric(*CITY_CENTRE)
    cells = [(r, c) for r in range(rows) for c in range(cols)]
    cells.sort(key=lambda rc: ((rc[0] - (rows - 1) / 2) ** 2 + (rc[1] - (cols - 1) / 2) ** 2, rc))
    cells = sorted(cells[:count])  # the count cells nearest the centre, north row first, west to east
    pool = NamePool(rng)
    per_district: dict[str, int] = {}
    specs = []
    for index, (r, c) in enumerate(cells):
        x = cx + (c - (cols - 1) / 2) * CELL[0]
        y = cy + ((rows - 1) / 2 - r) * CELL[1]
        district_code, district = _district(x - cx, y - cy)
        per_district[district_code] = per_district.get(district_code, 0) + 1
        name, pinyin = pool.unique(("街道",))
        specs.append(
            _city_spec(
                rng,
                index,
                f"{district_code}{per_district[district_code]:03d}",
                name,
                f"{pinyin} Subdistrict",
                district,
                (x, y),
            )
        )
    return specs


def _district(dx: float, dy: float) -> tuple[str, str]:
    """A district for a cell by its direction and distance from the centre (a rough caricature of Chengdu)."""
    angle = math.degrees(math.atan2(dy, dx)) % 360
    inner = math.hypot(dx, dy) < 12000
    ring = (4, 3, 1, 2, 0) if inner else (5, 7, 9, 10, 8)  # sectors E-NE, N, W-NW, SW, SE
    bounds = (45, 120, 200, 260, 330)
    sector = next((i for i, b in enumerate(bounds) if angle < b), 0)
    return DISTRICTS[ring[sector]]


def _city_spec(
    rng: np.random.Generator,
    index: int,
    code: str,
    name: str,
    name_en: str,
    district: str,
    centre: tuple[float, float],
) -> Spec:
    flow_angle = rng.uniform(0, 2 * math.pi)
    return Spec(
        index=index,
        code=code,
        name=name,
        name_en=name_en,
        district=district,
        centre=centre,
        radii=(CELL[0] * 0.4 * rng.uniform(0.94, 1.0), CELL[1] * 0.4 * rng.uniform(0.94, 1.0)),
        grid_angle=math.radians(rng.uniform(-15, 15)),
        flow=(math.cos(flow_angle), math.sin(flow_angle)),
        river_offset=float(rng.choice([-1, 1]) * rng.uniform(150, 420)),
        river=RIVERS[int(rng.integers(len(RIVERS)))],
    )
