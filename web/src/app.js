// The map shell: fits the data extent, loads every layer page by page, wires popups, search, legend, the
// language switch and the account (log-in, role-based edit buttons). Exposes window.gisgrid = {map, layers, ready,
// refreshed} for tests and for the console.

import { initAccount } from "./account.js";
import { mapConfig } from "./api.js";
import { openGridEditor } from "./editor.js";
import { applyTo, hasStoredChoice, onLangChange, setLang, t } from "./i18n.js";
import { IDENTIFY_ORDER, featuresAt } from "./identify.js";
import { createLayer, fillLayer, refreshProperties, relabel, updateLabelZoom } from "./layers.js";
import { addLegend } from "./legend.js";
import { createLayerPanel } from "./panel.js";
import { popupHtml } from "./popup.js";
import { initSearch } from "./search.js";
import { canEditGrid, initSession, onUserChange } from "./session.js";
import { HIGHLIGHT, LAYER_DEFS } from "./styles.js";
import { initChrome, setLoading, showBanner } from "./ui.js";

// Niushikou metro station (WGS 84): where the map opens when the database has no grids yet.
const NIUSHIKOU = [30.640091, 104.105206];
const GRID_LAYER_OF_LEVEL = { subdistrict: "subdistricts", community: "communities", general: "general_grids",
  micro: "micro_grids" };
const POLYGON_LAYERS = new Set(IDENTIFY_ORDER);

let resolveReady;
const state = {
  map: null,
  layers: {},
  ready: new Promise((r) => (resolveReady = r)),
  // Settles when the layers have been re-read after the latest log-in, log-out or expiry.
  refreshed: Promise.resolve(),
  popup: null,
  highlighted: null,
};
window.gisgrid = state;

function createMap() {
  // SVG renderer (not canvas) so every feature is a DOM element tests and CSS can see.
  const map = L.map("map", { minZoom: 10, maxZoom: 20, renderer: L.svg({ padding: 0.5 }), zoomSnap: 0.5 });
  // Leaflet only watches the window; the banner or a wrapping header also resize the map, and a stale size
  // would put clicks and popups in the wrong place.
  new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(map.getContainer());
  return map;
}

function controlWidth(selector) {
  const el = document.querySelector(selector);
  return el ? el.offsetWidth + 20 : 10;
}

function fitExtent(map, extent) {
  if (!extent) {
    map.setView(NIUSHIKOU, 15);
    showBanner("notice.empty", {}, "notice");
    return;
  }
  const [minx, miny, maxx, maxy] = extent;
  // On a wide screen keep the data clear of the legend (left) and the layer panel (right).
  const left = controlWidth(".gg-legend");
  const right = controlWidth(".gg-panel");
  const wide = map.getSize().x > 2 * (left + right);
  map.fitBounds([[miny, minx], [maxy, maxx]], {
    paddingTopLeft: [wide ? left : 10, 10],
    paddingBottomRight: [wide ? right : 10, 10],
  });
}

function renderPopup(hits) {
  return popupHtml(hits, { canEdit: canEditGrid });
}

/** Re-render the open popup (language, user or feature properties changed). */
function refreshPopup() {
  if (state.popup && state.map.hasLayer(state.popup)) state.popup.setContent(renderPopup(state.popup.hits));
}

/** A grid unit was saved through the edit form: show the new values on the map without reloading it. */
function onGridSaved(unit) {
  const group = state.layers[GRID_LAYER_OF_LEVEL[unit.level]];
  const lyr = group?.index.get(String(unit.code));
  if (lyr) {
    const { name, name_en, households, population, version } = unit;
    Object.assign(lyr.feature.properties, { name, name_en, households, population, version });
  }
  // Child labels drop their parent's name, so a renamed parent changes its children's labels too.
  Object.values(state.layers).forEach(relabel);
  refreshPopup();
}

function onPopupClick(event) {
  const button = event.target.closest(".popup-edit");
  if (button) openGridEditor(button.dataset.code, { onSaved: onGridSaved });
}

/** Open a popup listing `hits` ([{layer, properties}]) at `latlng`; it re-renders on a language switch. */
function showPopup(latlng, hits) {
  state.popup = L.popup({ maxWidth: 340, maxHeight: 380, className: "gg-popup-wrap" })
    .setLatLng(latlng)
    .setContent(renderPopup(hits))
    .openOn(state.map);
  state.popup.hits = hits;
  // Leaflet stops clicks inside a popup from reaching the document, so listen on the popup itself.
  state.popup.getElement().addEventListener("click", onPopupClick);
}

function clearHighlight() {
  const lyr = state.highlighted;
  if (!lyr) return;
  if (lyr.setStyle) state.layers[lyr.layerName].resetStyle(lyr);
  lyr.getElement()?.classList.remove("highlight");
  state.highlighted = null;
}

function highlight(lyr) {
  clearHighlight();
  if (lyr.setStyle) {
    lyr.setStyle(HIGHLIGHT);
    lyr.bringToFront();
  }
  lyr.getElement()?.classList.add("highlight");
  state.highlighted = lyr;
}

function onFeatureClick(name, lyr, event) {
  if (POLYGON_LAYERS.has(name)) {
    const hits = featuresAt(state.map, state.layers, event.latlng);
    const list = hits.length ? hits : [{ layer: name, properties: lyr.feature.properties, leafletLayer: lyr }];
    showPopup(event.latlng, list);
    // The finest grid unit is what the click is "in"; fall back to whatever was hit.
    const grid = list.find((h) => GRID_LAYER_OF_LEVEL[h.properties.level] === h.layer) || list[0];
    highlight(grid.leafletLayer);
    return;
  }
  showPopup(lyr.getLatLng ? lyr.getLatLng() : event.latlng, [{ layer: name, properties: lyr.feature.properties }]);
  highlight(lyr);
}

function layerOfResult(result) {
  if (result.kind === "grid") return GRID_LAYER_OF_LEVEL[result.subkind];
  return result.kind === "compound" ? "compounds" : "sites";
}

function zoomTo(result) {
  const [minx, miny, maxx, maxy] = result.bbox;
  // A point (a site) has an empty bbox; fitBounds would zoom to the maximum.
  if (maxx - minx < 1e-6 && maxy - miny < 1e-6) state.map.setView([result.lat, result.lon], 18);
  else state.map.fitBounds([[miny, minx], [maxy, maxx]], { maxZoom: 18, padding: [40, 40] });
}

/** A search result was picked: zoom to it, switch its layer on, open and highlight it. */
function focusResult(result) {
  const name = layerOfResult(result);
  const group = state.layers[name];
  if (group && !state.map.hasLayer(group)) state.map.addLayer(group);
  zoomTo(result);
  const lyr = group?.index.get(String(result.kind === "grid" ? result.code : result.id));
  const properties = lyr ? lyr.feature.properties : { name: result.name, code: result.code };
  showPopup(L.latLng(result.lat, result.lon), [{ layer: name, properties }]);
  if (lyr) highlight(lyr);
}

function addTiles(config) {
  // Online tiles only when configured: the page must work offline, drawing its own base from our layers.
  if (!config.tile_url) return null;
  return L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "", maxZoom: 20 });
}

function buildLayers(config) {
  const served = new Set((config.layers || []).map((l) => l.name));
  LAYER_DEFS.filter((def) => served.has(def.name)).forEach((def) => {
    const group = createLayer(state.map, def, { onFeatureClick });
    state.layers[def.name] = group;
    if (def.visible) group.addTo(state.map);
  });
  // The panel lists layers in the API's order (administrative levels first), the tile layer last.
  const entries = (config.layers || []).filter((l) => state.layers[l.name])
    .map((l) => ({ name: l.name, layer: state.layers[l.name], i18nKey: `layer.${l.name}` }));
  const tiles = addTiles(config);
  if (tiles) entries.push({ name: "tiles", layer: tiles, i18nKey: "layer.tiles" });
  return createLayerPanel(state.map, entries);
}

async function loadAll(config, panel) {
  const groups = Object.values(state.layers);
  let done = 0;
  setLoading(done, groups.length);
  const pageSize = config.layer_max_features || 1000;
  const results = await Promise.allSettled(groups.map(async (group) => {
    try {
      panel.setStatus(group.layerName, { count: await fillLayer(group, { pageSize }) });
    } catch (err) {
      panel.setStatus(group.layerName, { failed: true });
      const message = err.describe ? err.describe() : String(err);
      showBanner("error.layer", { layer: t(`layer.${group.layerName}`), message });
      throw err;
    } finally {
      setLoading(++done, groups.length);
    }
  }));
  // Layers arrive in any order: shorten labels by their parents' names now that all parents are known.
  groups.forEach(relabel);
  const failed = groups.filter((_, i) => results[i].status === "rejected").map((g) => g.layerName);
  return { loaded: groups.map((g) => g.layerName).filter((n) => !failed.includes(n)), failed };
}

let attribution = null;

function setAttribution() {
  // Leaflet re-renders attribution from stored strings, so swap the whole string on a language change.
  if (attribution) state.map.attributionControl.removeAttribution(attribution);
  attribution = t("attribution.data");
  state.map.attributionControl.addAttribution(attribution);
}

function onLanguage() {
  Object.values(state.layers).forEach(relabel);
  setAttribution();
  refreshPopup();
}

let refreshTicket = 0;

/** Re-read every layer's properties: a log-in adds households, population and phones, a log-out drops them. */
async function refreshLayers() {
  await state.ready;
  const ticket = ++refreshTicket;
  const isStale = () => ticket !== refreshTicket;
  const pageSize = state.config?.layer_max_features || 1000;
  const groups = Object.values(state.layers).filter((g) => g.status === "loaded");
  const results = await Promise.allSettled(groups.map((group) => refreshProperties(group, { pageSize, isStale })));
  if (isStale()) return;
  results.forEach((r, i) => {
    if (r.status === "rejected") {
      const message = r.reason?.describe ? r.reason.describe() : String(r.reason);
      showBanner("error.layer", { layer: t(`layer.${groups[i].layerName}`), message });
    }
  });
  refreshPopup();
}

function watchSession() {
  let wasAuthenticated = null;
  onUserChange((user) => {
    refreshPopup(); // the edit buttons follow the role at once; the figures once the layers are re-read
    const changed = wasAuthenticated !== null && wasAuthenticated !== user.authenticated;
    wasAuthenticated = user.authenticated;
    if (changed) state.refreshed = refreshLayers();
  });
}

function wireMap() {
  const map = state.map;
  const refreshLabels = () => updateLabelZoom(map, Object.values(state.layers));
  map.on("zoomend", refreshLabels);
  refreshLabels();
  map.on("popupclose", clearHighlight);
  addLegend(map);
  setAttribution();
  onLangChange(onLanguage);
}

async function boot() {
  initChrome();
  applyTo(document);
  initAccount(document.getElementById("account"));
  watchSession();
  // The layers are read with whatever session cookie the browser holds; the header only needs to catch up.
  const session = initSession();
  state.map = createMap();
  let config;
  try {
    config = await mapConfig();
  } catch (err) {
    state.map.setView(NIUSHIKOU, 15);
    showBanner("error.config", { message: err.describe ? err.describe() : String(err) });
    return { loaded: [], failed: ["map-config"] };
  }
  state.config = config;
  if (!hasStoredChoice() && config.default_language) setLang(config.default_language, { remember: false });
  const panel = buildLayers(config);
  wireMap();
  fitExtent(state.map, config.extent);
  initSearch({
    form: document.getElementById("search"),
    input: document.getElementById("search-input"),
    list: document.getElementById("search-results"),
    onPick: focusResult,
  });
  const summary = await loadAll(config, panel);
  await session;
  return summary;
}

boot().then(resolveReady, (err) => {
  showBanner("error.config", { message: String(err) });
  resolveReady({ loaded: [], failed: ["boot"], error: String(err) });
});
