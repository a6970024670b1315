// @ts-check
// The selected micro-grid's shared edges on the map. An edge the planner may move gets handles: a square on each
// inner vertex (drag it; right-click, long-press or Delete removes it), a small circle in the middle of each
// segment (drag it to add a vertex), and fixed dots at its two end nodes (where a third grid meets: they stay). A
// drag ends in the edge's new line, which the page sends as a `reshape` step. Edges of other communities (outside
// the planner's scope) or of grids the draft has already split, merged or recoded are drawn grey, without handles.
// Every name reaches the map as text (tooltips get text nodes, never HTML).

import { textSpan } from "../lib/html.js";
import { t } from "../lib/i18n.js";
import { snapPoint } from "./snap.js";

/**
 * @typedef {{neighbour: string, neighbour_name: string, same_parent: boolean, editable: boolean, length_m: number,
 *   line: {type: string, coordinates: number[][]}, lockedBy?: string}} Edge
 * @typedef {{code: string, name: string, geometry: any}} Grid  geometry null: the draft retires it
 */

const PANES = { grid: "plan-grid", edges: "plan-edges", handles: "plan-handles" };
const PANE_Z = { "plan-grid": 610, "plan-edges": 620, "plan-handles": 640 };

/**
 * @param {number[]} c
 * @returns {L.LatLng}
 */
const toLatLng = (c) => L.latLng(c[1], c[0]);
/**
 * @param {L.LatLng} p
 * @returns {number[]}
 */
const toCoord = (p) => [Number(p.lng.toFixed(7)), Number(p.lat.toFixed(7))];

/**
 * @param {L.Layer} layer
 * @param {{[key: string]: string}} data
 */
function tag(layer, data) {
  const set = () => {
    const el = /** @type {any} */ (layer).getElement?.();
    if (el) Object.entries(data).forEach(([k, v]) => el.setAttribute(`data-${k}`, v));
  };
  layer.on("add", set);
}

/**
 * @param {L.Map} map
 * @param {{onReshape: (edge: Edge, coords: number[][]) => void,
 *   targets: (box: L.LatLngBounds) => L.LatLng[]}} options
 */
export function createEdgeEditor(map, { onReshape, targets }) {
  Object.entries(PANE_Z).forEach(([name, z]) => (map.createPane(name).style.zIndex = String(z)));
  const group = L.layerGroup().addTo(map);
  /** @type {{grid: Grid | null, edges: Edge[], enabled: boolean}} */
  const state = { grid: null, edges: [], enabled: true };

  /**
   * A draggable handle; `moved(latlng)` gives the edge's coordinates with the handle at `latlng`.
   * @param {L.LatLng} at
   * @param {string} kind  "vertex" | "midpoint"
   * @param {Edge} edge
   * @param {L.Polyline} line
   * @param {(p: L.LatLng) => L.LatLng[]} moved
   * @param {{[key: string]: string}} data
   */
  const handle = (at, kind, edge, line, moved, data) => {
    const size = kind === "vertex" ? 12 : 10;
    const marker = L.marker(at, {
      pane: PANES.handles,
      draggable: state.enabled,
      keyboard: true,
      title: t(kind === "vertex" ? "plan.vertex_title" : "plan.midpoint_title"),
      icon: L.divIcon({ className: `plan-handle plan-${kind}`, iconSize: [size, size] }),
    });
    tag(marker, { edge: data.edge, neighbour: edge.neighbour, ...data });
    /** @type {L.LatLng[]} */
    let near = [];
    /** @type {L.LatLng[]} */
    let working = [];
    marker.on("dragstart", () => {
      const box = line.getBounds().pad(0.5);
      const own = line.getLatLngs();
      // The edge's own vertices are not targets: snapping onto them would fold the line.
      near = targets(box).filter((p) => !own.some((o) => /** @type {L.LatLng} */ (o).equals(p, 1e-9)));
      working = moved(at);
    });
    marker.on("drag", (event) => {
      const e = /** @type {L.LeafletMouseEvent} */ (event);
      const { latlng, snapped } = snapPoint(map, e.latlng, near, { off: Boolean(e.originalEvent?.altKey) });
      if (snapped) marker.setLatLng(latlng);
      marker.getElement()?.classList.toggle("snapped", snapped);
      working = moved(latlng);
      line.setLatLngs(working);
    });
    marker.on("dragend", () => onReshape(edge, working.map(toCoord)));
    return marker;
  };

  /**
   * @param {Edge} edge
   * @param {number} index
   */
  const drawEdge = (edge, index) => {
    const latlngs = edge.line.coordinates.map(toLatLng);
    const editable = edge.editable && !edge.lockedBy;
    const line = L.polyline(latlngs, {
      pane: PANES.edges,
      className: `plan-edge ${editable ? "plan-edge-editable" : "plan-edge-locked"}`,
      color: editable ? "#e65100" : "#78909c",
      weight: editable ? 5 : 4,
      opacity: 0.9,
      dashArray: editable ? undefined : "6 5",
    });
    const why = editable ? "" : ` · ${t(edge.lockedBy || (edge.same_parent ? "plan.edge_locked" : "plan.edge_locked_scope"))}`;
    line.bindTooltip(textSpan(`${edge.neighbour_name} (${edge.neighbour})${why}`), { sticky: true });
    tag(line, { edge: String(index), neighbour: edge.neighbour, editable: String(editable) });
    line.addTo(group);
    const ends = [latlngs[0], latlngs[latlngs.length - 1]];
    ends.forEach((p) => L.circleMarker(p, { pane: PANES.handles, radius: 4, className: "plan-node",
      color: "#37474f", weight: 2, fillColor: "#fff", fillOpacity: 1, interactive: false }).addTo(group));
    if (!editable) return;
    const closed = latlngs.length > 3 && latlngs[0].equals(latlngs[latlngs.length - 1]);
    for (let j = 1; j < latlngs.length - 1; j += 1) {
      const vertex = handle(latlngs[j], "vertex", edge, line, (p) => latlngs.map((q, k) => (k === j ? p : q)),
        { vertex: String(j), edge: String(index) });
      const remove = () => {
        if (!state.enabled || latlngs.length <= (closed ? 4 : 2)) return;
        onReshape(edge, latlngs.filter((_, k) => k !== j).map(toCoord));
      };
      vertex.on("contextmenu", (e) => {
        L.DomEvent.preventDefault(/** @type {any} */ (e).originalEvent);
        remove();
      });
      vertex.on("add", () => vertex.getElement()?.addEventListener("keydown", (e) => {
        if (e.key === "Delete" || e.key === "Backspace") {
          e.preventDefault();
          remove();
        }
      }));
      vertex.addTo(group);
    }
    for (let j = 0; j < latlngs.length - 1; j += 1) {
      const a = latlngs[j];
      const b = latlngs[j + 1];
      const mid = L.latLng((a.lat + b.lat) / 2, (a.lng + b.lng) / 2);
      handle(mid, "midpoint", edge, line, (p) => [...latlngs.slice(0, j + 1), p, ...latlngs.slice(j + 1)],
        { segment: String(j), edge: String(index) }).addTo(group);
    }
  };

  const render = () => {
    group.clearLayers();
    if (!state.grid) return;
    if (state.grid.geometry) L.geoJSON(state.grid.geometry, { pane: PANES.grid, interactive: false,
      style: { className: "plan-selected", color: "#ff6f00", weight: 2, fillColor: "#ffb300", fillOpacity: 0.12 } })
      .addTo(group);
    state.edges.forEach(drawEdge);
  };

  return {
    /**
     * Draw `grid` and its edges.
     * @param {Grid} grid
     * @param {Edge[]} edges
     */
    show(grid, edges) {
      Object.assign(state, { grid, edges });
      render();
    },
    clear() {
      Object.assign(state, { grid: null, edges: [] });
      render();
    },
    /**
     * Handles are draggable only while the page waits for nothing and no tool draws.
     * @param {boolean} enabled
     */
    setEnabled(enabled) {
      if (state.enabled === enabled) return;
      state.enabled = enabled;
      render();
    },
    /** The edges drawn (for tests and the console). */
    edges: () => state.edges,
  };
}
