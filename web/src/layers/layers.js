// @ts-check
// One L.GeoJSON group per API layer, each in its own pane (so the drawing order is fixed whatever loads first),
// drawn with Leaflet's SVG renderer from the server's style hints. Every rendered path or marker carries
// data-layer="<name>" and the class gg-<name>, so tests (and CSS) can find a layer's elements; each group keeps
// an index of its features by key, so a feature loaded twice (overlapping bounding boxes) is drawn once.

import { textSpan } from "../lib/html.js";
import { lang } from "../lib/i18n.js";
import { featureStyle } from "./config.js";
import { SITE_ICON_SIZE, SITE_Z, siteSymbolHtml } from "./symbols.js";

/**
 * @typedef {import("./config.js").LayerConfig} LayerConfig
 * @typedef {{type: "Feature", geometry: any, properties: {[key: string]: any}}} Feature
 * @typedef {L.Layer & {feature: Feature, layerName: string, getBounds?: () => L.LatLngBounds,
 *   getLatLng?: () => L.LatLng, setStyle?: (s: L.PathOptions) => void, bringToFront?: () => void,
 *   getElement?: () => HTMLElement | undefined}} FeatureLayer
 * @typedef {L.GeoJSON & {layerName: string, cfg: LayerConfig, featureCount: number, index: Map<string, FeatureLayer>,
 *   status: string, numberMatched?: number}} LayerGroup
 * @typedef {(name: string, lyr: FeatureLayer, event: L.LeafletMouseEvent) => void} FeatureClick
 */

// Grid units by code, from every grid layer, so a label can drop its parent's name.
const gridsByCode = new Map();

/** @param {{[key: string]: any}} properties */
function localName(properties) {
  return (lang() === "en" && properties.name_en) || properties.name || "";
}

/**
 * The text of a permanent label, in the current language. Names repeat their parent's ("莲花社区第3网格第05微网格")
 * and the parent is labelled on the map already, so the label keeps only the rest ("第05微网格").
 * @param {{[key: string]: any}} properties
 */
export function labelText(properties) {
  const name = localName(properties);
  const parent = gridsByCode.get(properties.parent_code);
  const prefix = parent ? localName(parent) : "";
  return prefix && name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length).trim() : name;
}

/** @param {L.LeafletEvent} event */
function tagElement(event) {
  const target = /** @type {FeatureLayer} */ (event.target);
  const el = target.getElement && target.getElement();
  if (el) el.setAttribute("data-layer", target.layerName);
}

/**
 * @param {LayerConfig} cfg
 * @param {Feature} feature
 * @param {L.LatLng} latlng
 * @param {string} pane
 */
function pointMarker(cfg, feature, latlng, pane) {
  if (cfg.map.symbol === "site") {
    const kind = feature.properties.kind;
    const size = SITE_ICON_SIZE[kind] || SITE_ICON_SIZE.outpost;
    const icon = L.divIcon({
      html: siteSymbolHtml(kind),
      className: `gg-feature gg-${cfg.name} site-icon site-icon-${kind}`,
      iconSize: [size, size],
    });
    return L.marker(latlng, { pane, icon, riseOnHover: true, zIndexOffset: SITE_Z[kind] || 0 });
  }
  return L.circleMarker(latlng, { pane, radius: 5, className: `gg-feature gg-${cfg.name}`,
    ...featureStyle(cfg, feature) });
}

/**
 * @param {LayerGroup} group
 * @param {Feature} feature
 * @param {FeatureLayer} lyr
 * @param {FeatureClick} onFeatureClick
 * @param {boolean} interactive
 */
function prepareFeature(group, feature, lyr, onFeatureClick, interactive) {
  const cfg = group.cfg;
  lyr.layerName = cfg.name;
  lyr.on("add", tagElement);
  if (feature.properties.level && feature.properties.code) gridsByCode.set(feature.properties.code, feature.properties);
  group.index.set(String(feature.properties[cfg.key]), lyr);
  if (cfg.map.label) {
    // Names come from users and files: a text node, never HTML (a tooltip string is HTML to Leaflet).
    lyr.bindTooltip(textSpan(labelText(feature.properties)), {
      permanent: true,
      direction: "center",
      offset: cfg.map.label.offset || [0, 0],
      interactive: false,
      pane: `gg-${cfg.name}-labels`,
      className: `grid-label label-${cfg.name}`,
    });
  } else if (cfg.geometry === "point") {
    lyr.bindTooltip(textSpan(feature.properties.name), { direction: "top", offset: [0, -8] });
  }
  if (interactive) lyr.on("click", (e) => onFeatureClick(cfg.name, lyr, /** @type {L.LeafletMouseEvent} */ (e)));
}

/**
 * An empty L.GeoJSON group for layer `cfg`, in its own pane, with click handling and labels.
 * @param {L.Map} map
 * @param {LayerConfig} cfg
 * @param {{onFeatureClick: FeatureClick, interactive?: boolean}} options
 * @returns {LayerGroup}
 */
export function createLayer(map, cfg, { onFeatureClick, interactive = cfg.map.interactive }) {
  const pane = `gg-${cfg.name}`;
  map.createPane(pane).style.zIndex = String(cfg.map.z_index);
  // Labels in a pane of their own, beside Leaflet's tooltip pane (650): hidden below their zoom as one element.
  if (cfg.map.label) map.createPane(`${pane}-labels`).style.zIndex = "650";
  const group = /** @type {LayerGroup} */ (L.geoJSON(undefined, {
    pane,
    // @ts-expect-error className is a Path option Leaflet passes on to every path of the group
    className: `gg-feature gg-${cfg.name}`,
    interactive,
    style: (feature) => featureStyle(cfg, feature),
    pointToLayer: (feature, latlng) => pointMarker(cfg, feature, latlng, pane),
    onEachFeature: (feature, lyr) =>
      prepareFeature(group, feature, /** @type {FeatureLayer} */ (lyr), onFeatureClick, interactive),
  }));
  Object.assign(group, { layerName: cfg.name, cfg, featureCount: 0, index: new Map(), status: "idle" });
  return group;
}

/**
 * @param {{[key: string]: any}} target
 * @param {{[key: string]: any}} source
 */
function replaceProperties(target, source) {
  // In place: popups, the label index and search hits hold references to this very object.
  Object.keys(target).forEach((k) => delete target[k]);
  Object.assign(target, source);
}

/**
 * Draw the features of one page that are not drawn yet; those that are get the page's properties (a log-in adds
 * households and phone numbers, a log-out drops them) without being redrawn. Returns how many were added.
 * @param {LayerGroup} group
 * @param {Feature[]} features
 */
export function addFeatures(group, features) {
  const added = features.filter((feature) => {
    const lyr = group.index.get(String(feature.properties[group.cfg.key]));
    if (lyr) replaceProperties(lyr.feature.properties, feature.properties);
    return !lyr;
  });
  if (added.length) group.addData(/** @type {any} */ ({ type: "FeatureCollection", features: added }));
  group.featureCount = group.index.size;
  return added.length;
}

/**
 * The bounds of a drawn feature.
 * @param {FeatureLayer} lyr
 * @returns {L.LatLngBounds}
 */
export function boundsOf(lyr) {
  if (lyr.getBounds) return lyr.getBounds();
  const at = /** @type {() => L.LatLng} */ (lyr.getLatLng)();
  return L.latLngBounds(at, at);
}

/**
 * Drop the features that lie wholly outside `keep` (far out of view), so panning across a city keeps memory and
 * the SVG small. Returns how many were dropped.
 * @param {LayerGroup} group
 * @param {L.LatLngBounds | null} keep  null drops everything
 * @param {(lyr: FeatureLayer) => boolean} [pinned]  features never dropped (the highlighted one)
 */
export function pruneFeatures(group, keep, pinned = () => false) {
  let dropped = 0;
  group.index.forEach((lyr, key) => {
    if (pinned(lyr) || (keep && keep.intersects(boundsOf(lyr)))) return;
    group.removeLayer(lyr);
    group.index.delete(key);
    dropped += 1;
  });
  group.featureCount = group.index.size;
  return dropped;
}

/**
 * Re-label permanent labels after a language change, or once parent grids have loaded.
 * @param {LayerGroup} group
 */
export function relabel(group) {
  if (!group.cfg.map.label) return;
  group.eachLayer((lyr) => {
    // Only labels whose text changes: each update lays the tooltip out again, and hundreds of those in a row
    // (every load re-labels) would stall the page for seconds.
    const text = labelText(/** @type {FeatureLayer} */ (lyr).feature.properties);
    const content = lyr.getTooltip()?.getContent();
    const shown = content instanceof HTMLElement ? content.textContent : content;
    if (shown !== text) lyr.setTooltipContent(textSpan(text)); // text, never HTML
  });
}

/**
 * Show each layer's labels only from its label zoom on (their pane is hidden below it).
 * @param {L.Map} map
 * @param {LayerGroup[]} groups
 */
export function updateLabelZoom(map, groups) {
  const zoom = map.getZoom();
  groups.forEach((group) => {
    const label = group.cfg.map.label;
    const pane = map.getPane(`gg-${group.layerName}-labels`);
    if (label && pane) pane.hidden = zoom < label.min_zoom;
  });
}
