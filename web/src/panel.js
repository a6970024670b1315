// The layer switcher: one checkbox per layer with its feature count (or a failure mark). A small custom control
// rather than L.control.layers because its labels must follow the language switch and show loading state.

import { t } from "./i18n.js";

function rowHtml(name, i18nKey) {
  return (
    `<label class="layer-row" data-layer="${name}">` +
    `<input type="checkbox" data-layer="${name}"> ` +
    `<span class="layer-title" data-i18n="${i18nKey}">${t(i18nKey)}</span> ` +
    `<span class="layer-count" data-layer-count="${name}"></span></label>`
  );
}

/**
 * A Leaflet control listing `entries` ([{name, layer, i18nKey}]); ticking a box adds the layer to the map.
 * Returns {control, setStatus(name, {count, failed})}.
 */
export function createLayerPanel(map, entries) {
  const control = L.control({ position: "topright" });
  const boxes = new Map();
  control.onAdd = () => {
    const div = L.DomUtil.create("div", "leaflet-bar gg-panel");
    div.innerHTML = `<h2 data-i18n="panel.title">${t("panel.title")}</h2>` +
      entries.map((e) => rowHtml(e.name, e.i18nKey)).join("");
    // Clicks and wheel turns in the panel must not pan or zoom the map underneath.
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    entries.forEach((entry) => {
      const box = div.querySelector(`input[data-layer="${entry.name}"]`);
      box.checked = map.hasLayer(entry.layer);
      box.addEventListener("change", () => (box.checked ? map.addLayer(entry.layer) : map.removeLayer(entry.layer)));
      boxes.set(entry.layer, box);
    });
    return div;
  };
  // Layers switched on from elsewhere (a search result) tick their box too.
  const sync = (e) => {
    if (boxes.has(e.layer)) boxes.get(e.layer).checked = map.hasLayer(e.layer);
  };
  map.on("layeradd layerremove", sync);
  control.addTo(map);
  // A count is language-neutral; "failed" is re-labelled by the language switch through data-i18n.
  const setStatus = (name, { count = null, failed = false }) => {
    const el = control.getContainer().querySelector(`[data-layer-count="${name}"]`);
    if (!el) return;
    if (failed) el.dataset.i18n = "panel.failed";
    else delete el.dataset.i18n;
    el.textContent = failed ? t("panel.failed") : count === null ? "" : String(count);
    el.classList.toggle("failed", failed);
  };
  return { control, setStatus };
}
