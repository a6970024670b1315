// @ts-check
// Snapping while the planner drags a vertex or draws a line: a point within SNAP_PX screen pixels of a vertex of a
// nearby micro-grid or compound outline jumps onto that vertex, so a new edge can follow a compound's wall or meet a
// neighbour's corner exactly. Holding Alt turns it off. (The server snaps too, in metres: a reshaped edge's ends
// within GISGRID_EDIT_SNAP_M of the old edge's end nodes are put on them.)

/** How close (screen pixels) a dragged or drawn point must come to a vertex to snap onto it. */
export const SNAP_PX = 10;

/**
 * @typedef {import("../layers/layers.js").LayerGroup} LayerGroup
 * @typedef {{lat: number, lng: number}} LatLngLike
 */

/**
 * Push every vertex of a GeoJSON (multi)polygon or line into `out` as L.LatLng.
 * @param {any} coords
 * @param {L.LatLng[]} out
 */
function collect(coords, out) {
  if (!Array.isArray(coords)) return;
  if (typeof coords[0] === "number") {
    out.push(L.latLng(coords[1], coords[0]));
    return;
  }
  coords.forEach((c) => collect(c, out));
}

/**
 * The vertices of the features of `groups` (drawn, on the map) that lie in `box`, plus `extra` coordinates
 * ([lon, lat] lists: the draft's own shapes).
 * @param {L.Map} map
 * @param {LayerGroup[]} groups
 * @param {L.LatLngBounds} box
 * @param {any[]} [extra]
 * @returns {L.LatLng[]}
 */
export function vertexTargets(map, groups, box, extra = []) {
  /** @type {L.LatLng[]} */
  const out = [];
  groups.forEach((group) => {
    if (!group || !map.hasLayer(group)) return;
    group.index.forEach((lyr) => {
      if (lyr.getBounds && box.intersects(lyr.getBounds())) collect(lyr.feature.geometry?.coordinates, out);
    });
  });
  extra.forEach((coords) => collect(coords, out));
  return out.filter((p) => box.contains(p));
}

/**
 * `latlng`, or the nearest of `targets` within SNAP_PX pixels of it (then `snapped` is true).
 * @param {L.Map} map
 * @param {L.LatLng} latlng
 * @param {L.LatLng[]} targets
 * @param {{off?: boolean, skip?: (p: L.LatLng) => boolean}} [options]
 * @returns {{latlng: L.LatLng, snapped: boolean}}
 */
export function snapPoint(map, latlng, targets, { off = false, skip } = {}) {
  if (off || targets.length === 0) return { latlng, snapped: false };
  const at = map.latLngToContainerPoint(latlng);
  let best = null;
  let bestDistance = SNAP_PX;
  for (const target of targets) {
    if (skip && skip(target)) continue;
    const d = at.distanceTo(map.latLngToContainerPoint(target));
    if (d <= bestDistance) {
      best = target;
      bestDistance = d;
    }
  }
  return best ? { latlng: L.latLng(best.lat, best.lng), snapped: true } : { latlng, snapped: false };
}
