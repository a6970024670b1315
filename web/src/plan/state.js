// @ts-check
// The planner's page state, shared by its modules: the map and its layers, the selected grid, the tool in use, the
// time the map shows, the user; the page's elements; and who may edit now. Exposed as window.gisgridPlan for tests
// and the console.

import { can } from "../lib/session.js";

/**
 * @typedef {import("./edges.js").Edge} Edge
 * @typedef {{code: string, name: string, level: string, parent_code: string | null, version: number,
 *   geometry: any, edges: Edge[]}} Selected
 */

/**
 * @type {{map: L.Map, layers: {[name: string]: import("../layers/layers.js").LayerGroup}, cfgs: {[name: string]: any},
 *   loader: ReturnType<typeof import("../layers/basemap.js").startLoader> | null, ready: Promise<any>,
 *   selected: Selected | null, tool: string | null, compound: any, at: string | null,
 *   drawing: ReturnType<typeof import("./draw.js").drawLine> | null, user: any, selecting: Promise<void>,
 *   workspace: ReturnType<typeof import("./workspace.js").createWorkspace>,
 *   editor: ReturnType<typeof import("./edges.js").createEdgeEditor>,
 *   history: ReturnType<typeof import("./history.js").createHistory>, tab: string}}
 */
export const state = /** @type {any} */ ({
  map: null,
  layers: {},
  cfgs: {},
  loader: null,
  ready: null,
  selected: null,
  tool: null,
  compound: null,
  at: null,
  drawing: null,
  user: null,
  selecting: Promise.resolve(),
  tab: "edit",
});
window.gisgridPlan = state;

/** An element of the page by id. */
export const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
export const els = {
  gate: $("plan-gate"),
  gateText: $("plan-gate-text"),
  gateLogin: $("plan-gate-login"),
  work: $("plan-work"),
  grid: $("plan-grid"),
  past: $("plan-past"),
  hint: $("plan-tool-hint"),
  pick: $("plan-pick"),
  rename: /** @type {HTMLFormElement} */ ($("plan-rename")),
};

/** A planner or an administrator is logged in. */
export const allowed = () => Boolean(state.user?.authenticated && can("grids.edit"));
/** Editing needs a planner and the map at 现在 (not in the past). */
export const editing = () => allowed() && state.at === null;
