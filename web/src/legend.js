// The legend: site symbols, grid-level line styles, special grids, walking network, water and base map.
// Every text carries data-i18n, so the language switch re-labels it in place.

import { t } from "./i18n.js";
import {
  BUILDING_STYLE,
  COMPOUND_STYLE,
  RIVER_STYLE,
  SPECIAL_COLOURS,
  WALK_STYLES,
  bankLine,
  gridLine,
  siteSymbolHtml,
  swatchSvg,
} from "./styles.js";

function item(symbolHtml, i18nKey, extra = "") {
  return `<li${extra}><span class="legend-symbol">${symbolHtml}</span>` +
    `<span data-i18n="${i18nKey}">${t(i18nKey)}</span></li>`;
}

function group(i18nKey, items) {
  return `<section><h3 data-i18n="${i18nKey}">${t(i18nKey)}</h3><ul>${items.join("")}</ul></section>`;
}

function legendHtml() {
  const grids = ["subdistricts", "communities", "general_grids", "micro_grids"].map((name) =>
    item(swatchSvg(gridLine(name)), `layer.${name}`, ` data-legend="${name}"`));
  const sites = ["centre", "community", "outpost"].map((kind) =>
    item(siteSymbolHtml(kind), `site.${kind}`, ` data-legend="site-${kind}"`));
  const special = Object.entries(SPECIAL_COLOURS).map(([kind, colour]) =>
    item(swatchSvg({ color: colour, weight: 2, dashArray: "1 4", fillColor: colour, fillOpacity: 0.12 },
      { area: true }), `special.${kind}`));
  const walk = Object.entries(WALK_STYLES).map(([kind, style]) => item(swatchSvg(style), `walk.${kind}`));
  const water = [
    item(swatchSvg(RIVER_STYLE), "layer.rivers"),
    item(swatchSvg(bankLine("left")), "side.left"),
    item(swatchSvg(bankLine("right")), "side.right"),
  ];
  const base = [
    item(swatchSvg(COMPOUND_STYLE, { area: true }), "layer.compounds"),
    item(swatchSvg(BUILDING_STYLE, { area: true }), "layer.buildings"),
  ];
  return group("legend.sites", sites) + group("legend.grids", grids) + group("legend.special", special) +
    group("legend.walk", walk) + group("legend.water", water) + group("legend.base", base);
}

/** Add the legend (a collapsible box, bottom left: the layer panel takes the right) to the map. */
export function addLegend(map) {
  const control = L.control({ position: "bottomleft" });
  control.onAdd = () => {
    const div = L.DomUtil.create("div", "leaflet-bar gg-legend");
    div.innerHTML = `<details open><summary data-i18n="legend.title">${t("legend.title")}</summary>` +
      `${legendHtml()}</details>`;
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  return control.addTo(map);
}
