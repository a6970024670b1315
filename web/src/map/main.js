// @ts-check
// The map page: fits the data extent, builds its layers, panel and legend from the server's layer registry
// (/api/map-config), loads each visible layer for the visible area (layers/loader.js), wires popups, search,
// the language switch and the account (log-in, role-based edit buttons). Exposes window.gisgrid = {map, layers,
// loader, ready, refreshed} for tests and for the console.

import "./strings.js";
import { initAccount } from "../lib/account.js";
import { mapConfig } from "../lib/api.js";
import { applyTo, hasStoredChoice, setLang } from "../lib/i18n.js";
import { canEditGrid, initSession, onUserChange } from "../lib/session.js";
import { initChrome, showBanner } from "../lib/ui.js";
import { buildLayers as buildBaseLayers, createMap, describeError, startLoader, wireLabels } from "../layers/basemap.js";
import { identifyOrder } from "../layers/config.js";
import { relabel } from "../layers/layers.js";
import { addLegend } from "../layers/legend.js";
import { HIGHLIGHT } from "../layers/symbols.js";
import { openGridEditor } from "./editor.js";
import { featuresAt } from "./identify.js";
import { popupHtml } from "./popup.js";
import { initSearch } from "./search.js";

/**
 * @typedef {import("../layers/config.js").MapConfig} MapConfig
 * @typedef {import("../layers/config.js").LayerConfig} LayerConfig
 * @typedef {import("../layers/layers.js").LayerGroup} LayerGroup
 * @typedef {import("../layers/layers.js").FeatureLayer} FeatureLayer
 * @typedef {import("../layers/basemap.js").BaseLayers} BaseLayers
 * @typedef {{layer: string, properties: {[key: string]: any}, leafletLayer?: FeatureLayer}} Hit
 */

// Niushikou metro station (WGS 84): where the map opens when the database has no grids yet.
const NIUSHIKOU = /** @type {L.LatLngTuple} */ ([30.640091, 104.105206]);
const GRID_LAYER_OF_LEVEL = /** @type {{[level: string]: string}} */ ({ subdistrict: "subdistricts",
  community: "communities", general: "general_grids", micro: "micro_grids" });

/** @type {(summary: any) => void} */
let resolveReady = () => {};
/**
 * @type {{map: L.Map, layers: {[name: string]: LayerGroup}, config: MapConfig | null,
 *   cfgs: {[name: string]: LayerConfig}, identify: string[], loader: ReturnType<typeof startLoader> | null,
 *   ready: Promise<any>, refreshed: Promise<any>, popup: (L.Popup & {hits?: Hit[]}) | null,
 *   highlighted: FeatureLayer | null}}
 */
const state = {
  map: /** @type {any} */ (null),
  layers: {},
  config: null,
  cfgs: {},
  identify: [],
  loader: null,
  ready: new Promise((r) => (resolveReady = r)),
  // Settles when the layers have been re-read after the latest log-in, log-out or expiry.
  refreshed: Promise.resolve(),
  popup: null,
  highlighted: null,
};
/** @type {any} */ (window).gisgrid = state;

/** @param {string} selector */
function controlWidth(selector) {
  const el = /** @type {HTMLElement | null} */ (document.querySelector(selector));
  return el ? el.offsetWidth + 20 : 10;
}

/**
 * @param {L.Map} map
 * @param {MapConfig["extent"]} extent
 */
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

/** @param {Hit[]} hits */
function renderPopup(hits) {
  return popupHtml(state.cfgs, hits, { canEdit: canEditGrid });
}

/** Re-render the open popup (language, user or feature properties changed). */
function refreshPopup() {
  if (state.popup && state.map.hasLayer(state.popup)) state.popup.setContent(renderPopup(state.popup.hits || []));
}

/**
 * A grid unit was saved through the edit form: show the new values on the map without reloading it.
 * @param {{[key: string]: any}} unit
 */
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

/** @param {Event} event */
function onPopupClick(event) {
  const button = /** @type {HTMLElement} */ (event.target).closest(".popup-edit");
  if (button instanceof HTMLElement && button.dataset.code) openGridEditor(button.dataset.code, { onSaved: onGridSaved });
}

/**
 * Open a popup listing `hits` at `latlng`; it re-renders on a language switch.
 * @param {L.LatLngExpression} latlng
 * @param {Hit[]} hits
 */
function showPopup(latlng, hits) {
  const popup = /** @type {L.Popup & {hits?: Hit[]}} */ (L.popup({ maxWidth: 340, maxHeight: 380,
    className: "gg-popup-wrap", autoPanPadding: [16, 16] }));
  popup.hits = hits;
  popup.setLatLng(latlng).setContent(renderPopup(hits)).openOn(state.map);
  state.popup = popup;
  // Leaflet stops clicks inside a popup from reaching the document, so listen on the popup itself.
  popup.getElement()?.addEventListener("click", onPopupClick);
}

function clearHighlight() {
  const lyr = state.highlighted;
  if (!lyr) return;
  if (lyr.setStyle) state.layers[lyr.layerName]?.resetStyle(lyr);
  lyr.getElement?.()?.classList.remove("highlight");
  state.highlighted = null;
}

/** @param {FeatureLayer} lyr */
function highlight(lyr) {
  clearHighlight();
  if (lyr.setStyle) {
    lyr.setStyle(HIGHLIGHT);
    lyr.bringToFront?.();
  }
  lyr.getElement?.()?.classList.add("highlight");
  state.highlighted = lyr;
}

/**
 * @param {string} name
 * @param {FeatureLayer} lyr
 * @param {L.LeafletMouseEvent} event
 */
function onFeatureClick(name, lyr, event) {
  if (state.identify.includes(name)) {
    const hits = featuresAt(state.map, state.layers, event.latlng, state.identify);
    /** @type {Hit[]} */
    const list = hits.length ? hits : [{ layer: name, properties: lyr.feature.properties, leafletLayer: lyr }];
    showPopup(event.latlng, list);
    // The finest grid unit is what the click is "in"; fall back to whatever was hit.
    const grid = list.find((h) => GRID_LAYER_OF_LEVEL[h.properties.level] === h.layer) || list[0];
    if (grid.leafletLayer) highlight(grid.leafletLayer);
    return;
  }
  showPopup(lyr.getLatLng ? lyr.getLatLng() : event.latlng, [{ layer: name, properties: lyr.feature.properties }]);
  highlight(lyr);
}

/** @param {{kind: string, subkind?: string}} result */
function layerOfResult(result) {
  if (result.kind === "grid") return GRID_LAYER_OF_LEVEL[result.subkind || ""];
  return result.kind === "compound" ? "compounds" : "sites";
}

/** @param {{bbox: number[], lat: number, lon: number}} result */
function zoomTo(result) {
  const [minx, miny, maxx, maxy] = result.bbox;
  // A point (a site) has an empty bbox; fitBounds would zoom to the maximum.
  if (maxx - minx < 1e-6 && maxy - miny < 1e-6) state.map.setView([result.lat, result.lon], 18, { animate: false });
  else state.map.fitBounds([[miny, minx], [maxy, maxx]], { maxZoom: 18, padding: [40, 40], animate: false });
}

/**
 * A search result was picked: zoom to it, switch its layer on, load the new view, open and highlight it.
 * @param {any} result
 */
async function focusResult(result) {
  const name = layerOfResult(result);
  const group = state.layers[name];
  if (group && !state.map.hasLayer(group)) state.map.addLayer(group);
  zoomTo(result);
  await state.loader?.settled();
  const lyr = group?.index.get(String(result.kind === "grid" ? result.code : result.id));
  const properties = lyr ? lyr.feature.properties : { name: result.name, code: result.code };
  showPopup(L.latLng(result.lat, result.lon), [{ layer: name, properties }]);
  if (lyr) highlight(lyr);
}

/** @param {MapConfig} config */
function addTiles(config) {
  // Online tiles only when configured: the page must work offline, drawing its own base from our layers.
  if (!config.tile_url) return null;
  return L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "", maxZoom: 20 });
}

/** @param {MapConfig} config */
function buildLayers(config) {
  const tiles = addTiles(config);
  // The panel lists the layers as the map stacks them, top first (as the legend does), the tiles last.
  const base = buildBaseLayers(state.map, config, { onFeatureClick,
    extra: tiles ? [{ name: "tiles", layer: tiles, i18nKey: "layer.tiles" }] : [] });
  state.layers = base.layers;
  state.cfgs = base.cfgs;
  state.identify = identifyOrder(config.layers);
  return base;
}

/**
 * Load what the first view shows; resolves to {loaded, failed} (layer names) once every visible layer is in.
 * @param {MapConfig} config
 * @param {BaseLayers} base
 */
async function startLoading(config, base) {
  const groups = Object.values(state.layers);
  const loader = startLoader(state.map, base, {
    pageSize: config.layer_max_features || 1000,
    pinned: (lyr) => lyr === state.highlighted,
  });
  state.loader = loader;
  await loader.settled();
  const failed = groups.filter((g) => g.status === "failed").map((g) => g.layerName);
  const loaded = groups.filter((g) => g.status === "loaded").map((g) => g.layerName);
  return { loaded, failed };
}

/** Re-read the drawn features: a log-in adds households, population and phones, a log-out drops them. */
async function refreshLayers() {
  await state.ready;
  await state.loader?.refresh();
  refreshPopup();
}

function watchSession() {
  /** @type {boolean | null} */
  let wasAuthenticated = null;
  onUserChange((user) => {
    refreshPopup(); // the edit buttons follow the role at once; the figures once the layers are re-read
    const changed = wasAuthenticated !== null && wasAuthenticated !== user.authenticated;
    wasAuthenticated = user.authenticated;
    if (changed) state.refreshed = refreshLayers();
  });
}

/** @param {MapConfig} config */
function wireMap(config) {
  const map = state.map;
  wireLabels(map, state.layers, { onLanguage: refreshPopup });
  map.on("popupclose", clearHighlight);
  addLegend(map, config.layers);
}

async function boot() {
  initChrome();
  applyTo(document);
  initAccount(/** @type {HTMLElement} */ (document.getElementById("account")));
  watchSession();
  // The layers are read with whatever session cookie the browser holds; the header only needs to catch up.
  const session = initSession();
  state.map = createMap("map");
  /** @type {MapConfig} */
  let config;
  try {
    config = await mapConfig();
  } catch (err) {
    state.map.setView(NIUSHIKOU, 15);
    showBanner("error.config", { message: describeError(err) });
    return { loaded: [], failed: ["map-config"] };
  }
  state.config = config;
  if (!hasStoredChoice() && config.default_language) setLang(config.default_language, { remember: false });
  const base = buildLayers(config);
  wireMap(config);
  fitExtent(state.map, config.extent);
  initSearch({
    form: document.getElementById("search"),
    input: document.getElementById("search-input"),
    list: document.getElementById("search-results"),
    onPick: focusResult,
  });
  const summary = await startLoading(config, base);
  await session;
  return summary;
}

boot().then(resolveReady, (err) => {
  showBanner("error.config", { message: String(err) });
  resolveReady({ loaded: [], failed: ["boot"], error: String(err) });
});
