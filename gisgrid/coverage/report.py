"""The coverage-audit report: one set of figures (the API's own answers) rendered as a self-contained HTML file
or, through WeasyPrint, a PDF.

Maps and the chart are SVG drawn here from our own layers (grids, sites, uncovered buildings), the same in both
formats: the HTML report is a file an auditor mails or opens offline, and the app's pages forbid inline scripts
(Content-Security-Policy), so an interactive folium map (inline script, Leaflet from a CDN by default) fits
neither. Every name from the data reaches the page through Jinja2's autoescape, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import shapely
from markupsafe import Markup
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from gisgrid.config import CoverageSettings
from gisgrid.coverage import answers, siting, summary, thresholds
from gisgrid.coverage.compute import Coverage
from gisgrid.errors import Forbidden, InvalidInput, NotFound

FORMATS = ("pdf", "html")
TEMPLATE = Path(__file__).with_name("report.html.j2")
SITING_K = 3
MAP_W, MAP_H = 760, 560
SHARE_CLASSES = ((0.5, "#d7301f"), (0.8, "#fc8d59"), (0.95, "#fdcc8a"), (0.9999, "#d9f0a3"), (2.0, "#78c679"))
SITE_STYLE = {"centre": ("#6a3d9a", 7), "community": ("#1f78b4", 5), "outpost": ("#33a02c", 3.5)}

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def check_scope(session: Session, community: str | None, scope_codes: tuple[str, ...]) -> str | None:
    """The community asked for, checked to exist and to lie in the caller's scope."""
    if community is None:
        return None
    found = session.execute(
        text("SELECT code FROM grid_unit WHERE code = :c AND level = 'community' AND valid_to IS NULL"),
        {"c": community},
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(
            f"没有该社区 No community {community!r}.",
            field="community",
            value=community,
            expected="the code of a current community (GET /api/layers/communities)",
        )
    if scope_codes and not any(community.startswith(s) or s.startswith(community) for s in scope_codes):
        raise Forbidden(
            f"社区 {community} 不在您的范围内 Community {community} is outside your scope.",
            field="community",
            value=community,
            expected="a community within your scope: " + ", ".join(scope_codes),
        )
    return community


def build(
    session: Session,
    *,
    threshold: str | None,
    settings: CoverageSettings,
    srid: int,
    community: str | None = None,
    scope_codes: tuple[str, ...] = (),
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Every figure, table, map and chart of the report."""
    community = check_scope(session, community, scope_codes)
    scope = (community,) if community else scope_codes
    steps = 6
    progress("计算步行距离 walking distances", 0, steps)
    cov = answers.run(session, threshold=threshold, settings=settings, srid=srid)
    progress("汇总覆盖 coverage per grid", 1, steps)
    by_community = answers.summary_answer(session, cov, level="community", worst=20, scope_codes=scope)
    by_general = answers.summary_answer(session, cov, level="general", worst=0, scope_codes=scope)
    by_micro = answers.summary_answer(session, cov, level="micro", worst=0, scope_codes=scope)
    progress("盲区 gaps", 2, steps)
    gaps = summary.gaps(session, cov, srid=srid, merge_m=settings.coverage_buffer_m, scope_codes=scope)
    progress("选址建议 siting", 3, steps)
    totals = by_community["totals"]
    against = "any" if totals["uncovered_households"] > 0 else "outpost"
    try:
        site_rec: dict[str, Any] | None = siting.recommend(
            session,
            cov,
            k=SITING_K,
            candidates=siting.compound_candidates(session),
            against=against,
            srid=srid,
            scope_codes=scope,
        )
    except InvalidInput:
        site_rec = None  # every compound has an outpost: nothing to recommend
    progress("绘制地图 maps", 4, steps)
    svg_map = coverage_map(session, cov, by_micro["units"], srid=srid, scope=scope)
    chart = distance_chart(cov, scope)
    progress("生成报告 rendering", 5, steps)
    names = summary.unit_names(session)
    return {
        "title": "服务圈覆盖审计报告 Coverage-audit report of the 10-minute service circle",
        "scope_name": names.get(community, community)
        if community
        else ("全街道 whole subdistrict" if not scope else ", ".join(names.get(s, s) for s in scope)),
        "community": community,
        "data_date": cov.data_as_of,
        "generated_at": datetime.now(UTC),
        "threshold": cov.threshold.as_dict(),
        "engine": cov.engine,
        "method": answers.METHOD,
        "sources": thresholds.__doc__ or "",
        "buffer_m": settings.coverage_buffer_m,
        "totals": totals,
        "communities": by_community["units"],
        "generals": by_general["units"],
        "micro_gaps": [u for u in by_micro["units"] if u["uncovered_households"] > 0],
        "micro_count": len(by_micro["units"]),
        "worst_compounds": by_community["worst_compounds"],
        "gap_areas": sorted((a["properties"] for a in gaps["areas"]), key=lambda p: -p["households"])[:20],
        "gap_buildings": len(gaps["buildings"]),
        "unreachable_buildings": by_community["unreachable_buildings"],
        "flagged_sites": by_community["flagged_sites"],
        "siting": site_rec,
        "map_svg": svg_map,
        "chart_svg": chart,
        "legend": legend_classes(),
        "site_style": SITE_STYLE,
    }


def _share(covered: int, total: int) -> str:
    return f"{covered / total:.1%}" if total else "—"


def render_html(data: dict[str, Any]) -> str:
    """The report as one self-contained HTML document (no script, no external file)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["share"] = lambda unit, kind="any", how="network": _share(
        unit[how][kind]["households"], unit["households"]
    )
    env.filters["when"] = lambda d: d.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if d else "—"
    env.filters["m"] = lambda v: "不可达 unreachable" if v is None else f"{v:,.0f} m"
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(**data, svg=Markup)


def render_pdf(html: str) -> bytes:
    """The HTML report as a PDF (WeasyPrint; the CJK fonts come from fontconfig: fonts-noto-cjk)."""
    import weasyprint

    return bytes(weasyprint.HTML(string=html).write_pdf())


def write(path: Path, data: dict[str, Any], fmt: str) -> int:
    """Write the report in `fmt` (pdf|html) to `path`; its size in bytes."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"未知报告格式 Unknown report format {fmt!r}.", field="format", value=fmt, expected="pdf or html"
        )
    html = render_html(data)
    body = render_pdf(html) if fmt == "pdf" else html.encode("utf-8")
    path.write_bytes(body)
    return len(body)


def format_of(path: Path) -> str:
    """pdf or html from a file name; InvalidInput naming the file otherwise."""
    fmt = path.suffix.lower().lstrip(".")
    fmt = "html" if fmt == "htm" else fmt
    if fmt not in FORMATS:
        raise InvalidInput(
            f"报告文件须为 .pdf 或 .html The report file must end in .pdf or .html: {path.name}.",
            field="out",
            value=path.name,
            expected="FILE.pdf or FILE.html",
        )
    return fmt


# --- SVG ----------------------------------------------------------------------------------------------------


MAP_SQL = """
SELECT 'grid' AS what, code AS key, ST_AsBinary(ST_Transform(geom, :srid)) AS wkb
  FROM grid_unit WHERE level = 'micro' AND valid_to IS NULL
UNION ALL
SELECT 'community', code, ST_AsBinary(ST_Transform(geom, :srid))
  FROM grid_unit WHERE level = 'community' AND valid_to IS NULL
UNION ALL
SELECT 'river', name, ST_AsBinary(ST_Transform(geom, :srid)) FROM river
"""


def coverage_map(
    session: Session, cov: Coverage, micro_units: list[dict[str, Any]], *, srid: int, scope: tuple[str, ...]
) -> str:
    """Micro-grids shaded by the share of households covered, community outlines, the river, the sites by kind
    and the uncovered buildings (red), as one SVG."""
    rows = session.execute(text(MAP_SQL), {"srid": srid}).all()

    def keep(code: str) -> bool:
        return not scope or any(code.startswith(s) or s.startswith(code) for s in scope)

    grids = {r.key: shapely.from_wkb(bytes(r.wkb)) for r in rows if r.what == "grid" and keep(r.key)}
    if not grids:
        return ""
    bounds = shapely.total_bounds(list(grids.values()))
    pad = 60.0
    x0, y0, x1, y1 = bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad
    scale = min(MAP_W / (x1 - x0), MAP_H / (y1 - y0))
    width, height = (x1 - x0) * scale, (y1 - y0) * scale

    def path(geom: BaseGeometry) -> str:
        geom = shapely.simplify(geom, 1.5)
        parts: list[str] = []
        polys = list(getattr(geom, "geoms", [geom]))
        for g in polys:
            rings = [g.exterior, *g.interiors] if g.geom_type == "Polygon" else [g]
            for ring in rings:
                xy = np.asarray(ring.coords)
                if len(xy) < 2:
                    continue
                px = (xy[:, 0] - x0) * scale
                py = (y1 - xy[:, 1]) * scale
                close = "Z" if g.geom_type == "Polygon" else ""
                parts.append("M" + " L".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True)) + close)
        return " ".join(parts)

    share = {
        u["code"]: (u["network"]["any"]["households"] / u["households"] if u["households"] else None)
        for u in micro_units
    }
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="coverage map">',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#f7f7f7"/>',
    ]
    for code, geom in grids.items():
        value = share.get(code)
        fill = "#eeeeee" if value is None else next(c for limit, c in SHARE_CLASSES if value <= limit)
        out.append(f'<path d="{path(geom)}" fill="{fill}" stroke="#888" stroke-width="0.4"/>')
    for r in rows:
        if r.what == "community" and keep(r.key):
            out.append(
                f'<path d="{path(shapely.from_wkb(bytes(r.wkb)))}" fill="none" stroke="#333" stroke-width="1.4"/>'
            )
        elif r.what == "river":
            geom = shapely.from_wkb(bytes(r.wkb)).intersection(shapely.box(x0, y0, x1, y1))
            if not geom.is_empty:
                out.append(
                    f'<path d="{path(geom)}" fill="#a6cee3" stroke="#1f78b4" stroke-width="0.6" fill-opacity="0.8"/>'
                )
    frame = summary.in_scope(cov.buildings, scope)
    gap = frame[~frame["walk_any_m"].le(cov.threshold.metres)]
    idx = cov.buildings.index.get_indexer(gap.index)
    for x, y in zip(cov.building_points.x[idx], cov.building_points.y[idx], strict=True):
        out.append(
            f'<rect x="{(x - x0) * scale - 2:.1f}" y="{(y1 - y) * scale - 2:.1f}" width="4" height="4" fill="#67000d" stroke="#fff" stroke-width="0.6"/>'
        )
    for site, sx, sy in zip(cov.sites.itertuples(), cov.site_points.x, cov.site_points.y, strict=True):
        if not (x0 <= sx <= x1 and y0 <= sy <= y1):
            continue
        color, radius = SITE_STYLE.get(site.kind, ("#000", 3))
        out.append(
            f'<circle cx="{(sx - x0) * scale:.1f}" cy="{(y1 - sy) * scale:.1f}" r="{radius}" fill="{color}" '
            f'stroke="#fff" stroke-width="1"><title>{escape(str(site.name))}</title></circle>'
        )
    bar = 500.0  # metres of the scale bar
    out.append(
        f'<g font-size="11" font-family="Noto Sans CJK SC, sans-serif"><line x1="12" y1="{height - 14:.0f}" '
        f'x2="{12 + bar * scale:.1f}" y2="{height - 14:.0f}" stroke="#000" stroke-width="2"/>'
        f'<text x="12" y="{height - 20:.0f}">500 m</text></g></svg>'
    )
    return "".join(out)


def distance_chart(cov: Coverage, scope: tuple[str, ...]) -> str:
    """Households by walking distance to the nearest site (bins of a tenth of the threshold up to twice it, then
    beyond, then unreachable), the threshold marked, as an SVG bar chart."""
    frame = summary.in_scope(cov.buildings, scope)
    t = cov.threshold.metres
    step = t / 10
    walk = frame["walk_any_m"].to_numpy(dtype=float)
    hh = frame["households"].to_numpy(dtype=float)
    edges = np.arange(0, 2 * t + step / 2, step)
    counts = list(
        np.histogram(
            np.where(np.isfinite(walk), np.minimum(walk, 2 * t - 1e-9), np.nan)[
                np.isfinite(walk) & (walk < 2 * t)
            ],
            bins=edges,
            weights=hh[np.isfinite(walk) & (walk < 2 * t)],
        )[0]
    )
    counts.append(float(hh[np.isfinite(walk) & (walk >= 2 * t)].sum()))
    counts.append(float(hh[~np.isfinite(walk)].sum()))
    labels = [f"{e:.0f}" for e in edges[:-1]] + [f"≥{2 * t:.0f}", "✕"]
    w, h, left, bottom = 720, 260, 56, 40
    top = max(counts) or 1.0
    bw = (w - left - 10) / len(counts)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="distance distribution" font-family="Noto Sans CJK SC, sans-serif" font-size="10">'
    ]
    ticks = 4
    for i in range(ticks + 1):
        v = top * i / ticks
        y = h - bottom - (h - bottom - 10) * i / ticks
        out.append(f'<line x1="{left}" x2="{w - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{v:,.0f}</text>')
    for i, (c, label) in enumerate(zip(counts, labels, strict=True)):
        bh = (h - bottom - 10) * c / top
        x = left + i * bw
        beyond = i >= 10
        color = "#e31a1c" if i == len(counts) - 1 else ("#fc8d59" if beyond else "#41ab5d")
        out.append(
            f'<rect x="{x + 1:.1f}" y="{h - bottom - bh:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" fill="{color}"/>'
        )
        if i % 2 == 0 or i >= len(counts) - 2:
            out.append(
                f'<text x="{x + bw / 2:.1f}" y="{h - bottom + 12}" text-anchor="middle">{escape(label)}</text>'
            )
    tx = left + 10 * bw
    out.append(
        f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="6" y2="{h - bottom}" stroke="#000" stroke-dasharray="4 3"/>'
    )
    out.append(f'<text x="{tx + 4:.1f}" y="16">阈值 threshold {t:.0f} m</text>')
    out.append(
        f'<text x="{(w + left) / 2:.0f}" y="{h - 8}" text-anchor="middle">步行距离（米）walking distance to the '
        "nearest site (m) — 户数 households; ✕ 不可达 unreachable</text></svg>"
    )
    return "".join(out)


def legend_classes() -> list[tuple[str, str]]:
    """The map's share classes as (label, colour)."""
    out, lower = [], 0.0
    for limit, color in SHARE_CLASSES:
        label = "100%" if limit > 1 else f"{lower:.0%}–{min(limit, 1):.0%}"
        out.append((label, color))
        lower = limit
    return out
