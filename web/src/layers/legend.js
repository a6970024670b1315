// @ts-check
// The legend, from the server's layer hints: one section per layer with several symbols (site kinds, walking
// network, bank sides), and one list of the layers drawn with a single style (grid levels, compounds), each
// named by its layer title as in the layer panel. Rebuilt
// on a language switch. On a phone it collapses behind a button (see collapsible.js).

import { esc } from "../lib/html.js";
import { onLangChange, t } from "../lib/i18n.js";
import { makeCollapsible } from "./collapsible.js";
import { localText } from "./config.js";
import { siteSymbolHtml, swatchSvg } from "./symbols.js";

/**
 * @typedef {import("./config.js").LayerConfig} LayerConfig
 * @typedef {import("./config.js").LegendEntry} LegendEntry
 */

/**
 * @param {LayerConfig} layer
 * @param {LegendEntry} entry
 * @param {string} key
 */
function item(layer, entry, key) {
  const symbol = entry.symbol && layer.map.symbol === "site" ? siteSymbolHtml(symbolKind(entry))
    : swatchSvg(entry.style, { area: Boolean(entry.area) });
  return `<li data-legend="${esc(key)}"><span class="legend-symbol">${symbol}</span>` +
    `<span>${esc(localText(entry.label))}</span></li>`;
}

/**
 * The kind a legend symbol stands for: "site-centre" (or "centre") → "centre".
 * @param {LegendEntry} entry
 */
function symbolKind(entry) {
  return String(entry.symbol || "").replace(/^site-/, "");
}

/** @param {LayerConfig[]} layers */
function legendHtml(layers) {
  // Top of the map first: the order a reader scans it.
  const drawn = layers.filter((l) => l.map.legend.length).sort((a, b) => b.map.z_index - a.map.z_index);
  const singles = drawn.filter((l) => l.map.legend.length === 1);
  const groups = drawn.filter((l) => l.map.legend.length > 1).map((l) => {
    const items = l.map.legend.map((entry, i) => item(l, entry, `${l.name}-${entry.symbol ? symbolKind(entry) : i}`));
    return `<section data-legend-layer="${esc(l.name)}"><h3>${esc(localText(l.title))}</h3>` +
      `<ul>${items.join("")}</ul></section>`;
  });
  const single = singles.length
    ? `<section><h3>${esc(t("legend.layers"))}</h3><ul>${singles.map((l) => item(l, { ...l.map.legend[0], label: l.title }, l.name)).join("")}</ul></section>`
    : "";
  return groups.join("") + single;
}

/**
 * Add the legend (bottom left: the layer panel takes the right) to the map.
 * @param {L.Map} map
 * @param {LayerConfig[]} layers
 */
export function addLegend(map, layers) {
  const control = new L.Control({ position: "bottomleft" });
  control.onAdd = () => {
    const div = L.DomUtil.create("div", "leaflet-bar gg-legend");
    div.innerHTML = `<h2 class="gg-legend-title">${esc(t("legend.title"))}</h2>` +
      `<div class="gg-collapse-body">${legendHtml(layers)}</div>`;
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    makeCollapsible(map, div, { titleKey: "legend.title" });
    onLangChange(() => {
      /** @type {HTMLElement} */ (div.querySelector(".gg-legend-title")).textContent = t("legend.title");
      /** @type {HTMLElement} */ (div.querySelector(".gg-collapse-body")).innerHTML = legendHtml(layers);
    });
    return div;
  };
  return control.addTo(map);
}
