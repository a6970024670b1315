// @ts-check
// Drawing a line on the map (the split tool): each click adds a point (snapped to nearby vertices, see snap.js),
// a dashed segment follows the pointer, a double-click or Enter finishes, Backspace takes the last point back and
// Escape gives up. The map does not zoom on the double-click meanwhile.

import { snapPoint } from "./snap.js";

// Clicks this close (pixels) to the previous point are the two clicks of a double-click, not a new point.
const SAME_POINT_PX = 4;

/**
 * Start drawing; `onFinish([[lon, lat], …])` gets the line (two points at least), `onCancel()` the give-up.
 * @param {L.Map} map
 * @param {{onFinish: (coords: number[][]) => void, onCancel: () => void,
 *   targets: (box: L.LatLngBounds) => L.LatLng[], onPoint?: (count: number) => void}} options
 * @returns {{stop: () => void, points: () => L.LatLng[], finish: () => void}}
 */
export function drawLine(map, { onFinish, onCancel, targets, onPoint = () => {} }) {
  /** @type {L.LatLng[]} */
  const points = [];
  const drawn = L.polyline([], { pane: "plan-handles", className: "plan-drawing", color: "#d50000", weight: 3,
    interactive: false }).addTo(map);
  const rubber = L.polyline([], { pane: "plan-handles", className: "plan-rubber", color: "#d50000", weight: 2,
    dashArray: "5 5", interactive: false }).addTo(map);
  const dots = L.layerGroup().addTo(map);
  const near = targets(map.getBounds().pad(0.2));
  const zoomed = map.doubleClickZoom.enabled();
  map.doubleClickZoom.disable();
  map.getContainer().classList.add("plan-drawing-cursor");

  /**
   * @param {L.LatLng} latlng
   * @param {MouseEvent | KeyboardEvent | undefined} event
   */
  const snapped = (latlng, event) => snapPoint(map, latlng, near, { off: Boolean(event?.altKey) }).latlng;

  const redraw = () => {
    drawn.setLatLngs(points);
    dots.clearLayers();
    points.forEach((p) => L.circleMarker(p, { pane: "plan-handles", radius: 4, className: "plan-drawing-point",
      color: "#d50000", fillColor: "#fff", fillOpacity: 1, interactive: false }).addTo(dots));
    onPoint(points.length);
  };

  /** @param {L.LeafletMouseEvent} e */
  const click = (e) => {
    const p = snapped(e.latlng, e.originalEvent);
    const last = points[points.length - 1];
    if (last && map.latLngToContainerPoint(last).distanceTo(map.latLngToContainerPoint(p)) < SAME_POINT_PX) return;
    points.push(p);
    redraw();
  };
  /** @param {L.LeafletMouseEvent} e */
  const move = (e) => {
    const last = points[points.length - 1];
    rubber.setLatLngs(last ? [last, snapped(e.latlng, e.originalEvent)] : []);
  };

  const stop = () => {
    map.off("click", click);
    map.off("mousemove", move);
    map.off("dblclick", finish);
    document.removeEventListener("keydown", key, true);
    [drawn, rubber, dots].forEach((l) => l.remove());
    if (zoomed) setTimeout(() => map.doubleClickZoom.enable(), 0); // after this double-click's own handlers
    map.getContainer().classList.remove("plan-drawing-cursor");
  };
  function finish() {
    if (points.length < 2) return;
    const coords = points.map((p) => [Number(p.lng.toFixed(7)), Number(p.lat.toFixed(7))]);
    stop();
    onFinish(coords);
  }
  /** @param {KeyboardEvent} e */
  function key(e) {
    const target = /** @type {HTMLElement} */ (e.target);
    if (target.closest?.("input, textarea, select")) return;
    if (e.key === "Enter") {
      e.preventDefault();
      finish();
    } else if (e.key === "Escape") {
      e.preventDefault();
      stop();
      onCancel();
    } else if (e.key === "Backspace" && points.length) {
      e.preventDefault();
      points.pop();
      rubber.setLatLngs([]);
      redraw();
    }
  }
  map.on("click", click);
  map.on("mousemove", move);
  map.on("dblclick", finish);
  document.addEventListener("keydown", key, true);
  return { stop, points: () => [...points], finish };
}
