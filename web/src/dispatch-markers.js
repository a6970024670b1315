// Incidents on the map: one pin per incident, filled by status and ringed by deadline colour (yellow: ≥ 80 % of
// the step's time used, red: overdue). Where dots would crowd, a simple screen-grid clustering draws one
// numbered circle per cell instead (no plugin: the server serves only Leaflet itself). Clusters are recomputed
// on zoom only, from global pixel coordinates, so panning costs nothing.

import { onLangChange, t } from "./i18n.js";
import { esc, statusLabel } from "./dispatch-format.js";

// A cell of this many screen pixels holds at most one symbol; from UNCLUSTER_ZOOM on every incident is drawn.
export const CELL_PX = 44;
export const UNCLUSTER_ZOOM = 18;
const DEADLINE_RANK = { red: 3, yellow: 2, green: 1, none: 0 };

/**
 * Group points ({x, y} in pixels, plus anything else) by square cells of `cell` pixels. Returns clusters
 * {x, y, items} with the mean position; `cell` 0 gives one cluster per point.
 */
export function clusterPoints(points, cell) {
  if (!cell) return points.map((p) => ({ x: p.x, y: p.y, items: [p] }));
  const cells = new Map();
  points.forEach((p) => {
    const key = `${Math.floor(p.x / cell)}:${Math.floor(p.y / cell)}`;
    const c = cells.get(key);
    if (c) c.items.push(p);
    else cells.set(key, { items: [p] });
  });
  return [...cells.values()].map((c) => ({
    x: c.items.reduce((s, p) => s + p.x, 0) / c.items.length,
    y: c.items.reduce((s, p) => s + p.y, 0) / c.items.length,
    items: c.items,
  }));
}

/** The most urgent deadline colour among features. */
export function worstDeadline(features) {
  return features.reduce((worst, f) => {
    const c = f.properties.colour || "none";
    return (DEADLINE_RANK[c] ?? 0) > (DEADLINE_RANK[worst] ?? 0) ? c : worst;
  }, "none");
}

function dotHtml(p, selected) {
  const colour = p.colour || "none";
  return `<span class="incident-dot status-${esc(p.status)} deadline-${esc(colour)}${selected ? " selected" : ""}" ` +
    `data-id="${esc(p.id)}" data-status="${esc(p.status)}" data-deadline="${esc(colour)}"></span>`;
}

function clusterHtml(features) {
  const worst = worstDeadline(features);
  return `<span class="incident-cluster deadline-${worst}" data-count="${features.length}">${features.length}</span>`;
}

/**
 * The incident layer. `onPick(id)` is called when an incident is clicked. Returns {layer, setFeatures(collection),
 * select(id), features()}.
 */
export function createIncidentLayer(map, { onPick }) {
  map.createPane("gg-incidents").style.zIndex = "670";
  const group = L.layerGroup().addTo(map);
  let features = [];
  let selected = null;

  const single = (feature) => {
    const p = feature.properties;
    const [lon, lat] = feature.geometry.coordinates;
    const marker = L.marker([lat, lon], {
      pane: "gg-incidents",
      // The pin's tip (its turned corner) is 16·√2/2 ≈ 11 px below the middle of the 20 px box.
      icon: L.divIcon({ html: dotHtml(p, p.id === selected), className: "incident-marker", iconSize: [20, 20],
        iconAnchor: [10, 21], tooltipAnchor: [0, -12] }),
      riseOnHover: true,
      zIndexOffset: p.id === selected ? 1000 : (DEADLINE_RANK[p.colour] || 0) * 100,
      keyboard: false,
    });
    marker.bindTooltip(`#${esc(p.id)} ${esc(p.title)} · ${esc(statusLabel(p.status, p.status_label))}`,
      { direction: "top" });
    marker.on("click", () => onPick(p.id));
    return marker;
  };

  const cluster = (c) => {
    const items = c.items.map((i) => i.feature);
    const latlng = map.unproject([c.x, c.y], map.getZoom());
    const size = items.length < 10 ? 26 : items.length < 100 ? 32 : 38;
    const marker = L.marker(latlng, {
      pane: "gg-incidents",
      icon: L.divIcon({ html: clusterHtml(items), className: "incident-cluster-icon", iconSize: [size, size] }),
      keyboard: false,
    });
    marker.bindTooltip(t("dispatch.cluster", { n: items.length }), { direction: "top", offset: [0, -size / 2] });
    marker.on("click", () => {
      const bounds = L.latLngBounds(items.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]));
      // Incidents at one spot stay together at every zoom: jump to the zoom where clustering stops.
      if (bounds.getNorthEast().distanceTo(bounds.getSouthWest()) < 2) map.setView(bounds.getCenter(), UNCLUSTER_ZOOM);
      else map.fitBounds(bounds, { padding: [40, 40], maxZoom: UNCLUSTER_ZOOM });
    });
    return marker;
  };

  const render = () => {
    group.clearLayers();
    const zoom = map.getZoom();
    const points = features.map((feature) => {
      const [lon, lat] = feature.geometry.coordinates;
      const p = map.project([lat, lon], zoom);
      return { x: p.x, y: p.y, feature };
    });
    // The selected incident is always drawn on its own, so it can be seen and clicked.
    const chosen = points.filter((p) => p.feature.properties.id === selected);
    const rest = points.filter((p) => p.feature.properties.id !== selected);
    clusterPoints(rest, zoom >= UNCLUSTER_ZOOM ? 0 : CELL_PX).forEach((c) => {
      group.addLayer(c.items.length === 1 ? single(c.items[0].feature) : cluster(c));
    });
    chosen.forEach((p) => group.addLayer(single(p.feature)));
  };

  map.on("zoomend", render);
  onLangChange(render); // the tooltips speak the page's language
  return {
    layer: group,
    setFeatures(collection) {
      features = (collection && collection.features) || [];
      render();
    },
    select(id) {
      selected = id;
      render();
    },
    features: () => features,
    render,
  };
}
