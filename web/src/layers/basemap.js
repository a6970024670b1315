// @ts-check
// What every map page shares (the map, dispatch and planner's pages): the Leaflet map drawn with SVG, our own layers
// from /api/map-config as L.GeoJSON groups with their layer panel, labels that follow the zoom and the language,
// the data attribution, and the loader that keeps the switched-on layers filled for the view. Each page picks its
// layers and what a click on a feature does.

import { t, onLangChange } from "../lib/i18n.js";
import { setLoading, showBanner } from "../lib/ui.js";
import { localText } from "./config.js";
import { createLayer, relabel, updateLabelZoom } from "./layers.js";
import { createLoader } from "./loader.js";
import { createLayerPanel } from "./panel.js";

/**
 * @typedef {import("./config.js").MapConfig} MapConfig
 * @typedef {import("./config.js").LayerConfig} LayerConfig
 * @typedef {import("./layers.js").LayerGroup} LayerGroup
 * @typedef {import("./layers.js").FeatureLayer} FeatureLayer
 * @typedef {import("./layers.js").FeatureClick} FeatureClick
 * @typedef {import("./panel.js").PanelEntry} PanelEntry
 * @typedef {{layers: {[name: string]: LayerGroup}, cfgs: {[name: string]: LayerConfig},
 *   panel: ReturnType<typeof createLayerPanel>}} BaseLayers
 */

/**
 * A Leaflet map in `element` (an id or the element) with the SVG renderer, so every feature is a DOM element tests
 * and CSS can see.
 * @param {string | HTMLElement} element
 * @returns {L.Map}
 */
export function createMap(element) {
  const map = L.map(element, { minZoom: 10, maxZoom: 20, renderer: L.svg({ padding: 0.5 }), zoomSnap: 0.5 });
  // Leaflet only watches the window; a banner or a wrapping header also resize the map, and a stale size would put
  // clicks and popups in the wrong place.
  new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(map.getContainer());
  return map;
}

/**
 * One group per layer of `config` that `names` lists (all when omitted), added to the map when the registry says
 * it is visible (or `visible(cfg)`), and the layer panel listing them top first, with `extra` entries below.
 * @param {L.Map} map
 * @param {MapConfig} config
 * @param {{onFeatureClick: FeatureClick, names?: string[], interactive?: (cfg: LayerConfig) => boolean,
 *   visible?: (cfg: LayerConfig) => boolean, extra?: PanelEntry[], first?: PanelEntry[]}} options
 * @returns {BaseLayers}
 */
export function buildLayers(map, config, { onFeatureClick, names, interactive, visible, extra = [], first = [] }) {
  const cfgs = (config.layers || []).filter((cfg) => !names || names.includes(cfg.name));
  /** @type {BaseLayers["layers"]} */
  const layers = {};
  /** @type {BaseLayers["cfgs"]} */
  const byName = {};
  cfgs.forEach((cfg) => {
    const group = createLayer(map, cfg, { onFeatureClick, interactive: interactive ? interactive(cfg) : undefined });
    layers[cfg.name] = group;
    byName[cfg.name] = cfg;
    if (visible ? visible(cfg) : cfg.map.visible) group.addTo(map);
  });
  /** @type {PanelEntry[]} */
  const entries = [...cfgs].sort((a, b) => b.map.z_index - a.map.z_index)
    .map((cfg) => ({ name: cfg.name, layer: layers[cfg.name], title: cfg.title }));
  const panel = createLayerPanel(map, [...first, ...entries, ...extra]);
  return { layers, cfgs: byName, panel };
}

/**
 * Labels shown from their zoom and re-labelled on a language switch; the data attribution in the current language.
 * @param {L.Map} map
 * @param {{[name: string]: LayerGroup}} layers
 * @param {{onLanguage?: () => void}} [options]
 */
export function wireLabels(map, layers, { onLanguage } = {}) {
  const refreshLabels = () => updateLabelZoom(map, Object.values(layers));
  map.on("zoomend", refreshLabels);
  refreshLabels();
  /** @type {string | null} */
  let attribution = null;
  const setAttribution = () => {
    // Leaflet re-renders attribution from stored strings, so swap the whole string on a language change.
    if (attribution) map.attributionControl.removeAttribution(attribution);
    attribution = t("attribution.data");
    map.attributionControl.addAttribution(attribution);
  };
  setAttribution();
  onLangChange(() => {
    Object.values(layers).forEach(relabel);
    setAttribution();
    onLanguage?.();
  });
  return refreshLabels;
}

/**
 * @param {unknown} err
 * @returns {string}
 */
export function describeError(err) {
  const e = /** @type {any} */ (err);
  return e?.describe ? e.describe() : String(err);
}

/**
 * The loader of `base` for the view of `map`: the panel shows each layer's count or state, the header the progress,
 * a failed layer a banner; labels are shortened once parents are known. Starts loading the current view.
 * @param {L.Map} map
 * @param {BaseLayers} base
 * @param {{pageSize: number, pinned?: (lyr: FeatureLayer) => boolean,
 *   params?: (group: LayerGroup) => {[key: string]: unknown}}} options
 */
export function startLoader(map, base, { pageSize, pinned, params }) {
  const groups = Object.values(base.layers);
  const loader = createLoader(map, groups, {
    pageSize,
    params,
    onStatus: (name, status) => {
      base.panel.setStatus(name, status);
      setLoading(groups.filter((g) => g.status !== "loading").length, groups.length);
    },
    onError: (name, err) => {
      showBanner("error.layer", { layer: localText(base.cfgs[name]?.title) || name, message: describeError(err) });
    },
    // Layers arrive in any order: shorten labels by their parents' names now that parents may be known.
    onLoaded: () => groups.forEach(relabel),
    pinned,
  });
  loader.update();
  return loader;
}
