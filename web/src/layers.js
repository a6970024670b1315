// One L.GeoJSON group per API layer, each in its own pane (so the drawing order is fixed whatever loads first),
// drawn with Leaflet's SVG renderer. Every rendered path or marker carries data-layer="<name>" and the class
// gg-<name>, so tests (and CSS) can find a layer's elements; each group records featureCount and an index by key.

import { loadLayer } from "./api.js";
import { lang } from "./i18n.js";
import { SITE_ICON_SIZE, siteSymbolHtml } from "./styles.js";

const SITE_Z = { centre: 300, community: 200, outpost: 100 };
// Grid units by code, from every grid layer, so a label can drop its parent's name.
const gridsByCode = new Map();

function localName(properties) {
  return (lang() === "en" && properties.name_en) || properties.name || "";
}

/**
 * The text of a permanent label, in the current language. Names repeat their parent's ("莲花社区第3网格第05微网格")
 * and the parent is labelled on the map already, so the label keeps only the rest ("第05微网格").
 */
export function labelText(properties) {
  const name = localName(properties);
  const parent = gridsByCode.get(properties.parent_code);
  const prefix = parent ? localName(parent) : "";
  return prefix && name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length).trim() : name;
}

function tagElement(event) {
  const el = event.target.getElement && event.target.getElement();
  if (el) el.setAttribute("data-layer", event.target.layerName);
}

function siteMarker(feature, latlng, pane) {
  const kind = feature.properties.kind;
  const size = SITE_ICON_SIZE[kind] || SITE_ICON_SIZE.outpost;
  const icon = L.divIcon({
    html: siteSymbolHtml(kind),
    className: `gg-feature gg-sites site-icon site-icon-${kind}`,
    iconSize: [size, size],
  });
  // Bigger sites stay on top of outposts when they crowd together at low zoom.
  return L.marker(latlng, { pane, icon, riseOnHover: true, zIndexOffset: SITE_Z[kind] || 0 });
}

function prepareFeature(def, group, feature, lyr, onFeatureClick) {
  lyr.layerName = def.name;
  lyr.on("add", tagElement);
  if (feature.properties.level && feature.properties.code) gridsByCode.set(feature.properties.code, feature.properties);
  const key = feature.properties[def.key];
  if (key !== undefined && key !== null) group.index.set(String(key), lyr);
  if (def.label !== undefined) {
    lyr.bindTooltip(labelText(feature.properties), {
      permanent: true,
      direction: "center",
      offset: def.labelOffset || [0, 0],
      interactive: false,
      className: `grid-label label-${def.name}`,
    });
  } else if (def.point) {
    lyr.bindTooltip(feature.properties.name || "", { direction: "top", offset: [0, -8] });
  }
  if (def.interactive !== false) lyr.on("click", (e) => onFeatureClick(def.name, lyr, e));
}

/** An empty L.GeoJSON group for layer `def`, in its own pane, with click handling and labels. */
export function createLayer(map, def, { onFeatureClick }) {
  const pane = `gg-${def.name}`;
  map.createPane(pane).style.zIndex = String(def.zIndex);
  const group = L.geoJSON(null, {
    pane,
    className: `gg-feature gg-${def.name}`,
    interactive: def.interactive !== false,
    style: def.style || undefined,
    pointToLayer: (feature, latlng) => siteMarker(feature, latlng, pane),
    onEachFeature: (feature, lyr) => prepareFeature(def, group, feature, lyr, onFeatureClick),
  });
  Object.assign(group, { layerName: def.name, def, featureCount: 0, index: new Map(), status: "loading" });
  return group;
}

/** Fetch every page of the layer into `group`; resolves to the number of features drawn. */
export async function fillLayer(group, { pageSize }) {
  try {
    await loadLayer(group.layerName, {
      pageSize,
      onPage: (page) => {
        group.addData(page);
        group.featureCount = group.getLayers().length;
        group.numberMatched = page.numberMatched;
      },
    });
    group.status = "loaded";
    return group.featureCount;
  } catch (err) {
    group.status = "failed";
    throw err;
  }
}

function replaceProperties(target, source) {
  // In place: popups, the label index and search hits hold references to this very object.
  Object.keys(target).forEach((k) => delete target[k]);
  Object.assign(target, source);
}

/**
 * Fetch the layer again and swap each drawn feature's properties for the new ones, without redrawing: after a
 * log-in or log-out the API adds or drops households, population and phone numbers. `isStale()` true drops
 * the remaining pages (a newer refresh has started).
 */
export async function refreshProperties(group, { pageSize, isStale = () => false }) {
  await loadLayer(group.layerName, {
    pageSize,
    onPage: (page) => {
      if (isStale()) return;
      const added = page.features.filter((feature) => {
        const lyr = group.index.get(String(feature.properties[group.def.key]));
        if (lyr) replaceProperties(lyr.feature.properties, feature.properties);
        return !lyr;
      });
      if (added.length) group.addData({ type: "FeatureCollection", features: added });
      group.featureCount = group.getLayers().length;
    },
  });
}

/** Re-label permanent labels after a language change, or once every parent grid has loaded. */
export function relabel(group) {
  if (group.def.label === undefined) return;
  group.eachLayer((lyr) => lyr.setTooltipContent(labelText(lyr.feature.properties)));
}

/** Show each layer's labels only from its label zoom on, by a class on the map container (CSS hides them). */
export function updateLabelZoom(map, groups) {
  const zoom = map.getZoom();
  const container = map.getContainer();
  groups.forEach((group) => {
    if (group.def.label === undefined) return;
    container.classList.toggle(`hide-labels-${group.layerName}`, zoom < group.def.label);
  });
}
