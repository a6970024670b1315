// @ts-check
// "What is here?": every visible polygon feature containing a clicked point. Grid levels nest and overlap
// compounds, so whichever SVG path catches the click, the popup lists the building, compound, micro-grid, general
// grid, community and subdistrict at that spot (finest first: the server's identify_rank) — the question a grid
// worker actually asks. Only what is loaded (the visible area) is asked, which is all a click can hit.

/**
 * Even-odd ray casting on lon/lat: exact enough at grid scale (no feature spans more than a few km).
 * @param {number} x
 * @param {number} y
 * @param {number[][]} ring
 */
function inRing(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * @param {number} x
 * @param {number} y
 * @param {number[][][]} rings
 */
function inPolygon(x, y, rings) {
  // The first ring is the shell, the rest are holes.
  return inRing(x, y, rings[0]) && !rings.slice(1).some((hole) => inRing(x, y, hole));
}

/**
 * True when GeoJSON `geometry` (Polygon or MultiPolygon) contains lon `x`, lat `y`.
 * @param {{type: string, coordinates: any} | null | undefined} geometry
 * @param {number} x
 * @param {number} y
 */
export function contains(geometry, x, y) {
  if (!geometry) return false;
  if (geometry.type === "Polygon") return inPolygon(x, y, geometry.coordinates);
  if (geometry.type === "MultiPolygon") return geometry.coordinates.some((p) => inPolygon(x, y, p));
  return false;
}

/**
 * [{layer, properties, leafletLayer}] for every feature of the visible layers containing `latlng`, in `order`.
 * @param {L.Map} map
 * @param {{[name: string]: import("../layers/layers.js").LayerGroup}} layers
 * @param {L.LatLng} latlng
 * @param {string[]} order
 */
export function featuresAt(map, layers, latlng, order) {
  /** @type {{layer: string, properties: {[key: string]: any}, leafletLayer: import("../layers/layers.js").FeatureLayer}[]} */
  const hits = [];
  for (const name of order) {
    const group = layers[name];
    if (!group || !map.hasLayer(group)) continue;
    group.index.forEach((lyr) => {
      // The bounds test skips almost every feature before the exact test.
      if (lyr.getBounds?.().contains(latlng) && contains(lyr.feature.geometry, latlng.lng, latlng.lat)) {
        hits.push({ layer: name, properties: lyr.feature.properties, leafletLayer: lyr });
      }
    });
  }
  return hits;
}
