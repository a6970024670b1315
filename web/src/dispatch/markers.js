// @ts-check
// Incidents on the map: one pin per incident, filled by status and ringed by deadline colour (yellow: ≥ 80 % of
// the step's time used, red: overdue). Where pins would crowd, leaflet.markercluster (npm, served under
// /vendor/markercluster) draws one numbered circle coloured by the most urgent deadline inside; from
// UNCLUSTER_ZOOM on every incident has its own pin. The selected incident is drawn outside the clusters so it can
// always be seen and clicked.

import { textSpan } from "../lib/html.js";
import { onLangChange, t } from "../lib/i18n.js";
import { esc, statusLabel } from "./format.js";

/** From this zoom on every incident is drawn on its own. */
export const UNCLUSTER_ZOOM = 18;
/** Pins closer than this many screen pixels join a cluster. */
export const CLUSTER_RADIUS_PX = 44;
const DEADLINE_RANK = /** @type {{[colour: string]: number}} */ ({ red: 3, yellow: 2, green: 1, none: 0 });

/**
 * @typedef {{type: "Feature", geometry: {type: "Point", coordinates: [number, number]},
 *   properties: {id: number, status: string, status_label?: string, colour?: string, title?: string}}} IncidentFeature
 * @typedef {L.Marker & {incident?: IncidentFeature}} IncidentMarker
 */

/**
 * The most urgent deadline colour among features.
 * @param {{properties: {colour?: string}}[]} features
 */
export function worstDeadline(features) {
  return features.reduce((worst, f) => {
    const c = f.properties.colour || "none";
    return (DEADLINE_RANK[c] ?? 0) > (DEADLINE_RANK[worst] ?? 0) ? c : worst;
  }, "none");
}

/**
 * @param {IncidentFeature["properties"]} p
 * @param {boolean} selected
 */
function dotHtml(p, selected) {
  const colour = p.colour || "none";
  return `<span class="incident-dot status-${esc(p.status)} deadline-${esc(colour)}${selected ? " selected" : ""}" ` +
    `data-id="${esc(p.id)}" data-status="${esc(p.status)}" data-deadline="${esc(colour)}"></span>`;
}

/** @param {InstanceType<typeof L.MarkerCluster>} cluster */
function clusterIcon(cluster) {
  const features = /** @type {IncidentMarker[]} */ (cluster.getAllChildMarkers())
    .map((m) => /** @type {IncidentFeature} */ (m.incident));
  const n = features.length;
  const size = n < 10 ? 26 : n < 100 ? 32 : 38;
  return L.divIcon({
    html: `<span class="incident-cluster deadline-${worstDeadline(features)}" data-count="${n}">${n}</span>`,
    className: "incident-cluster-icon",
    iconSize: [size, size],
  });
}

/**
 * The incident layer. `onPick(id)` is called when an incident is clicked.
 * @param {L.Map} map
 * @param {{onPick: (id: number) => void}} options
 */
export function createIncidentLayer(map, { onPick }) {
  map.createPane("gg-incidents").style.zIndex = "670";
  const layer = L.layerGroup().addTo(map);
  const clusters = L.markerClusterGroup({
    clusterPane: "gg-incidents",
    maxClusterRadius: CLUSTER_RADIUS_PX,
    disableClusteringAtZoom: UNCLUSTER_ZOOM,
    showCoverageOnHover: false,
    spiderfyOnMaxZoom: false,
    // At most MAP_POINT_LIMIT (2000) pins: all stay drawn, so the count control and the map agree when panning.
    removeOutsideVisibleBounds: false,
    iconCreateFunction: clusterIcon,
  });
  clusters.on("clustermouseover", (e) => {
    const cluster = /** @type {InstanceType<typeof L.MarkerCluster>} */ (/** @type {any} */ (e).layer);
    cluster.bindTooltip(textSpan(t("dispatch.cluster", { n: cluster.getChildCount() })), { direction: "top" })
      .openTooltip();
  });
  layer.addLayer(clusters);
  const lonely = L.layerGroup().addTo(layer); // the selected incident, never inside a cluster
  /** @type {IncidentFeature[]} */
  let features = [];
  /** @type {number | null} */
  let selected = null;

  /** @param {IncidentFeature} feature */
  const single = (feature) => {
    const p = feature.properties;
    const [lon, lat] = feature.geometry.coordinates;
    const marker = /** @type {IncidentMarker} */ (L.marker([lat, lon], {
      pane: "gg-incidents",
      // The pin's tip (its turned corner) is 16·√2/2 ≈ 11 px below the middle of the 20 px box.
      icon: L.divIcon({ html: dotHtml(p, p.id === selected), className: "incident-marker", iconSize: [20, 20],
        iconAnchor: [10, 21], tooltipAnchor: [0, -12] }),
      riseOnHover: true,
      zIndexOffset: p.id === selected ? 1000 : (DEADLINE_RANK[p.colour || "none"] || 0) * 100,
      keyboard: false,
    }));
    marker.incident = feature;
    // The title comes from a reporter: a text node, never HTML (a tooltip string is HTML to Leaflet).
    const tip = `#${p.id} ${p.title} · ${statusLabel(p.status, p.status_label)}`;
    marker.bindTooltip(textSpan(tip), { direction: "top" });
    marker.on("click", () => onPick(p.id));
    return marker;
  };

  const render = () => {
    clusters.clearLayers();
    lonely.clearLayers();
    clusters.addLayers(features.filter((f) => f.properties.id !== selected).map(single));
    features.filter((f) => f.properties.id === selected).forEach((f) => lonely.addLayer(single(f)));
  };

  onLangChange(render); // the tooltips speak the page's language
  return {
    layer,
    /** @param {{features?: IncidentFeature[]} | null} collection */
    setFeatures(collection) {
      features = (collection && collection.features) || [];
      render();
    },
    /** @param {number | null} id */
    select(id) {
      selected = id;
      render();
    },
    features: () => features,
    render,
  };
}
