// @ts-check
// Load each visible layer for the visible area, not the whole data set: after the map stops moving (debounced),
// every layer that is switched on and allowed at this zoom (map-config min_zoom) is asked for a bounding box a
// little larger than the view, snapped outward to a grid so that the same box (and URL) comes back when the user
// returns — the browser then revalidates it with its ETag and the server answers 304. Pages follow next_offset;
// features that have moved far out of view are dropped. A newer move cancels the loads of an older one.

import { loadLayer } from "../lib/api.js";
import { addFeatures, pruneFeatures } from "./layers.js";

/**
 * @typedef {import("./layers.js").LayerGroup} LayerGroup
 * @typedef {import("./layers.js").FeatureLayer} FeatureLayer
 * @typedef {{count?: number | null, failed?: boolean, zoomIn?: boolean, loading?: boolean}} LayerStatus
 * @typedef {{group: LayerGroup, loaded: L.LatLngBounds | null, pending: L.LatLngBounds | null,
 *   bbox: string | null, controller: AbortController | null, task: Promise<void> | null, error: unknown}} Slot
 */

const DEBOUNCE_MS = 120;
// Fetched box = view padded by this fraction on every side; features beyond KEEP_PAD of the view are dropped.
const FETCH_PAD = 0.35;
const KEEP_PAD = 1.5;

/**
 * The box to fetch for `bounds`: padded, then snapped outward to a grid of a power of two degrees (about a third
 * of the view's width), so nearby views ask for the same box.
 * @param {L.LatLngBounds} bounds
 * @returns {L.LatLngBounds}
 */
export function snappedBox(bounds) {
  const padded = bounds.pad(FETCH_PAD);
  const span = Math.max(padded.getEast() - padded.getWest(), padded.getNorth() - padded.getSouth(), 1e-6);
  const cell = 2 ** Math.floor(Math.log2(span / 3));
  const down = (/** @type {number} */ v) => Math.floor(v / cell) * cell;
  const up = (/** @type {number} */ v) => Math.ceil(v / cell) * cell;
  return L.latLngBounds(
    [Math.max(down(padded.getSouth()), -90), Math.max(down(padded.getWest()), -180)],
    [Math.min(up(padded.getNorth()), 90), Math.min(up(padded.getEast()), 180)],
  );
}

/** @param {L.LatLngBounds} b */
function bboxParam(b) {
  const r = (/** @type {number} */ v) => Number(v.toFixed(7));
  return `${r(b.getWest())},${r(b.getSouth())},${r(b.getEast())},${r(b.getNorth())}`;
}

/**
 * Keep `groups` filled for the view of `map`.
 * @param {L.Map} map
 * @param {LayerGroup[]} groups
 * @param {{pageSize: number, onStatus?: (name: string, status: LayerStatus) => void,
 *   onError?: (name: string, error: unknown) => void, onLoaded?: (group: LayerGroup) => void,
 *   pinned?: (lyr: FeatureLayer) => boolean, params?: (group: LayerGroup) => {[key: string]: unknown}}} options
 *   `params`: more query parameters of a layer's requests (the planner's page asks for the grids `at` a time)
 */
export function createLoader(map, groups, { pageSize, onStatus = () => {}, onError = () => {}, onLoaded = () => {},
  pinned = () => false, params = () => ({}) }) {
  /** @type {Map<string, Slot>} */
  const slots = new Map(groups.map((group) => [group.layerName, { group, loaded: null, pending: null,
    bbox: null, controller: null, task: null, error: null }]));
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let loads = 0;

  /** @param {Slot} slot */
  const abort = (slot) => {
    slot.controller?.abort();
    slot.controller = null;
  };

  /**
   * @param {Slot} slot
   * @param {L.LatLngBounds} box
   */
  const fetchBox = (slot, box) => {
    abort(slot);
    const controller = new AbortController();
    const group = slot.group;
    const bbox = bboxParam(box);
    slot.controller = controller;
    group.status = "loading";
    onStatus(group.layerName, { loading: true, count: group.featureCount });
    const task = loadLayer(group.layerName, {
      pageSize,
      bbox,
      params: params(group),
      signal: controller.signal,
      onPage: (page) => {
        if (controller.signal.aborted) return;
        addFeatures(group, page.features);
        group.numberMatched = page.numberMatched;
      },
    }).then(() => {
      if (controller.signal.aborted) return;
      Object.assign(slot, { loaded: box, bbox, controller: null, error: null });
      pruneFeatures(group, map.getBounds().pad(KEEP_PAD).extend(box), pinned);
      group.status = "loaded";
      loads += 1;
      onStatus(group.layerName, { count: group.featureCount });
      onLoaded(group);
    }, (/** @type {any} */ err) => {
      if (controller.signal.aborted || err?.name === "AbortError") return;
      Object.assign(slot, { loaded: null, controller: null, error: err });
      group.status = "failed";
      onStatus(group.layerName, { failed: true });
      onError(group.layerName, err);
    });
    slot.task = task;
    return task;
  };

  /**
   * Bring every visible layer up to date with the view; `force` re-reads boxes already loaded.
   * @param {{force?: boolean}} [options]
   */
  const update = ({ force = false } = {}) => {
    clearTimeout(timer);
    timer = undefined;
    const zoom = map.getZoom();
    const view = map.getBounds();
    slots.forEach((slot) => {
      const group = slot.group;
      if (!map.hasLayer(group)) return; // switched off: keep what it has, load when switched on
      if (zoom < group.cfg.map.min_zoom) {
        // Too far out for this layer (thousands of buildings would freeze the page): draw none until zoomed in.
        abort(slot);
        pruneFeatures(group, null, pinned);
        Object.assign(slot, { loaded: null, bbox: null });
        group.status = "zoom";
        onStatus(group.layerName, { zoomIn: true });
        return;
      }
      if (!force && slot.loaded && slot.loaded.contains(view.pad(0.05))) return;
      if (!force && slot.controller && slot.pending && slot.pending.contains(view.pad(0.05))) return;
      const box = snappedBox(view);
      slot.pending = box;
      fetchBox(slot, box);
    });
  };

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => update(), DEBOUNCE_MS);
  };
  map.on("moveend", schedule);
  // A layer switched on (from the panel, or by a search result) loads for the current view.
  map.on("layeradd", (e) => {
    if (groups.includes(/** @type {LayerGroup} */ (e.layer))) schedule();
  });

  /** Resolve once no layer is loading (the loads of the latest view are done, failed or cancelled). */
  const settled = async () => {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      // A scheduled update starts loads; run it now rather than wait for the debounce.
      if (timer !== undefined) update();
      const running = [...slots.values()].filter((s) => s.controller && s.task).map((s) => s.task);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  };

  return {
    update,
    settled,
    /** Re-read what is drawn (after a log-in or log-out: the properties change, the shapes do not). */
    refresh: () => {
      update({ force: true });
      return settled();
    },
    /** Drop every feature and read the view again (the shapes changed: a saved edit, another `params` time). */
    reload: () => {
      slots.forEach((slot) => {
        abort(slot);
        pruneFeatures(slot.group, null);
        Object.assign(slot, { loaded: null, pending: null, bbox: null });
      });
      update({ force: true });
      return settled();
    },
    /** The bbox last loaded for each layer ("minlon,minlat,maxlon,maxlat"), for tests and the console. */
    boxes: () => Object.fromEntries([...slots].map(([name, slot]) => [name, slot.bbox])),
    loads: () => loads,
  };
}
