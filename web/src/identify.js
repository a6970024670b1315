// "What is here?": every visible polygon feature containing a clicked point. Grid levels nest and overlap
// compounds, so whichever SVG path catches the click, the popup lists the building, compound, micro-grid, general
// grid, community and subdistrict at that spot (finest first) — the question a grid worker actually asks.

/** Finest first: the order popup sections appear in. */
export const IDENTIFY_ORDER = [
  "buildings",
  "compounds",
  "micro_grids",
  "general_grids",
  "communities",
  "subdistricts",
  "special_grids",
];

// Even-odd ray casting on lon/lat: exact enough at grid scale (no feature spans more than a few km).
function inRing(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function inPolygon(x, y, rings) {
  // The first ring is the shell, the rest are holes.
  return inRing(x, y, rings[0]) && !rings.slice(1).some((hole) => inRing(x, y, hole));
}

/** True when GeoJSON `geometry` (Polygon or MultiPolygon) contains lon `x`, lat `y`. */
export function contains(geometry, x, y) {
  if (!geometry) return false;
  if (geometry.type === "Polygon") return inPolygon(x, y, geometry.coordinates);
  if (geometry.type === "MultiPolygon") return geometry.coordinates.some((p) => inPolygon(x, y, p));
  return false;
}

/** [{layer, properties, leafletLayer}] for every feature of the visible layers containing `latlng`. */
export function featuresAt(map, layers, latlng) {
  const hits = [];
  for (const name of IDENTIFY_ORDER) {
    const group = layers[name];
    if (!group || !map.hasLayer(group)) continue;
    group.eachLayer((lyr) => {
      // The bounds test skips almost every feature before the exact test.
      if (lyr.getBounds().contains(latlng) && contains(lyr.feature.geometry, latlng.lng, latlng.lat)) {
        hits.push({ layer: name, properties: lyr.feature.properties, leafletLayer: lyr });
      }
    });
  }
  return hits;
}
