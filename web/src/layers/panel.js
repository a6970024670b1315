// @ts-check
// The layer switcher: one checkbox per layer with its feature count in view (or "zoom in", or a failure mark). A
// small custom control rather than L.control.layers because its labels follow the language switch and show the
// loading state. On a phone it collapses behind a button (see collapsible.js).

import { esc } from "../lib/html.js";
import { onLangChange, t } from "../lib/i18n.js";
import { makeCollapsible } from "./collapsible.js";
import { localText } from "./config.js";

/**
 * @typedef {{name: string, layer: L.Layer, title?: import("./config.js").Text, i18nKey?: string}} PanelEntry
 * @typedef {import("./loader.js").LayerStatus} LayerStatus
 */

/** @param {PanelEntry} entry */
const titleOf = (entry) => (entry.title ? localText(entry.title) : t(entry.i18nKey || entry.name));

/** @param {PanelEntry} entry */
function rowHtml(entry) {
  const name = esc(entry.name);
  return (
    `<label class="layer-row" data-layer="${name}">` +
    `<input type="checkbox" data-layer="${name}"> ` +
    `<span class="layer-title" data-layer-title="${name}">${esc(titleOf(entry))}</span> ` +
    `<span class="layer-count" data-layer-count="${name}"></span></label>`
  );
}

/**
 * A Leaflet control listing `entries`; ticking a box adds the layer to the map.
 * @param {L.Map} map
 * @param {PanelEntry[]} entries
 * @returns {{control: L.Control, setStatus: (name: string, status: LayerStatus) => void}}
 */
export function createLayerPanel(map, entries) {
  const control = new L.Control({ position: "topright" });
  /** @type {Map<L.Layer, PageElement>} */
  const boxes = new Map();
  /** @type {Map<string, LayerStatus>} */
  const statuses = new Map();
  control.onAdd = () => {
    const div = L.DomUtil.create("div", "leaflet-bar gg-panel");
    div.innerHTML = `<h2 data-i18n="panel.title">${esc(t("panel.title"))}</h2>` +
      `<div class="gg-collapse-body">${entries.map(rowHtml).join("")}</div>`;
    // Clicks and wheel turns in the panel must not pan or zoom the map underneath.
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    entries.forEach((entry) => {
      const box = div.querySelector(`input[data-layer="${entry.name}"]`);
      box.checked = map.hasLayer(entry.layer);
      box.addEventListener("change", () => (box.checked ? map.addLayer(entry.layer) : map.removeLayer(entry.layer)));
      boxes.set(entry.layer, box);
    });
    makeCollapsible(map, div, { titleKey: "panel.title" });
    return div;
  };
  // Layers switched on from elsewhere (a search result) tick their box too.
  /** @param {L.LayersControlEvent} e */
  const sync = (e) => {
    const box = boxes.get(e.layer);
    if (box) box.checked = map.hasLayer(e.layer);
  };
  map.on("layeradd layerremove", /** @type {L.LeafletEventHandlerFn} */ (sync));
  control.addTo(map);
  const container = /** @type {HTMLElement} */ (control.getContainer());

  /** @param {string} name */
  const render = (name) => {
    const el = container.querySelector(`[data-layer-count="${name}"]`);
    const status = statuses.get(name);
    if (!el || !status) return;
    const { count = null, failed = false, zoomIn = false, loading = false } = status;
    el.textContent = failed ? t("panel.failed") : zoomIn ? t("panel.zoom_in") : count === null ? "" : String(count);
    el.classList.toggle("failed", failed);
    el.classList.toggle("zoom-in", zoomIn);
    el.classList.toggle("loading", loading);
  };
  onLangChange(() => {
    entries.forEach((entry) => {
      const el = container.querySelector(`[data-layer-title="${entry.name}"]`);
      if (el) el.textContent = titleOf(entry);
    });
    statuses.forEach((_, name) => render(name));
  });
  return {
    control,
    setStatus(name, status) {
      statuses.set(name, status);
      render(name);
    },
  };
}
