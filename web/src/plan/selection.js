// @ts-check
// The selected micro-grid: its outline and shared edges as the draft has them (a moved edge follows the draft's
// newest reshape of it; edges of grids the draft split, merged or recoded wait for the save), its panel, and the
// tool buttons that fit it.

import { el } from "../lib/html.js";
import { t } from "../lib/i18n.js";
import { inScope } from "../lib/session.js";
import { describeError } from "../layers/basemap.js";
import * as api from "./api.js";
import { editing, els, state } from "./state.js";

/** @typedef {import("./state.js").Selected} Selected */

/** Micro-grids the draft has already changed by other steps than moving their shared edges. */
export function lockedCodes() {
  const s = state.workspace.draft.state;
  const pv = s.preview;
  if (!pv) return new Set();
  const reshaped = new Set(s.ops.flatMap((op) => (op.op === "reshape" ? [op.a, op.b] : op.op === "rename"
    ? [op.code] : [])));
  return new Set(pv.units.filter((/** @type {any} */ u) => u.level === "micro"
    && (u.change !== "changed" || !reshaped.has(u.code))).map((/** @type {any} */ u) => u.code));
}

/**
 * @param {number[][]} a
 * @param {number[][]} b
 */
function sameEnds(a, b) {
  const eq = (/** @type {number[]} */ p, /** @type {number[]} */ q) => Math.abs(p[0] - q[0]) < 2e-7
    && Math.abs(p[1] - q[1]) < 2e-7;
  const [a0, a1, b0, b1] = [a[0], a[a.length - 1], b[0], b[b.length - 1]];
  return (eq(a0, b0) && eq(a1, b1)) || (eq(a0, b1) && eq(a1, b0));
}

/** The selected grid's edges as the draft has them: moved edges follow the draft's newest reshape of them. */
export function draftEdges() {
  const sel = state.selected;
  if (!sel) return [];
  const locked = lockedCodes();
  const ops = state.workspace.draft.state.ops;
  return sel.edges.map((edge) => {
    let line = edge.line;
    ops.forEach((op) => {
      const pair = (op.a === sel.code && op.b === edge.neighbour) || (op.b === sel.code && op.a === edge.neighbour);
      if (op.op === "reshape" && pair && sameEnds(op.line, line.coordinates)) {
        line = { type: "LineString", coordinates: op.line };
      }
    });
    const lockedBy = state.at !== null ? "plan.edge_locked_past"
      : locked.has(sel.code) || locked.has(edge.neighbour) ? "plan.edge_locked_draft" : undefined;
    return { ...edge, line, lockedBy };
  });
}

// The selected grid ------------------------------------------------------------------------------------------
export function renderGrid() {
  const sel = state.selected;
  if (!sel) {
    els.grid.replaceChildren(el("p", { className: "plan-hint", text: t("plan.select_hint") }));
    return;
  }
  const edges = draftEdges();
  const rows = edges.map((e, i) => {
    const editable = e.editable && !e.lockedBy;
    const why = editable ? t("plan.edge_editable") : t(e.lockedBy || (e.same_parent ? "plan.edge_locked"
      : "plan.edge_locked_scope"));
    return el("li", { className: editable ? "plan-edge-row editable" : "plan-edge-row locked",
      attrs: { "data-neighbour": e.neighbour, "data-edge": String(i) } },
    el("span", { text: e.neighbour_name }), " ", el("code", { text: e.neighbour }), " ",
    el("span", { className: "plan-muted", text: `${t("unit.m", { n: Math.round(e.length_m) })} · ${why}` }));
  });
  const locked = lockedCodes().has(sel.code);
  els.grid.replaceChildren(...[
    el("h2", { className: "plan-grid-title" }, el("span", { text: sel.name }), " ", el("code", { text: sel.code })),
    locked ? el("p", { className: "plan-note", text: t("plan.grid_in_draft") }) : null,
    !inScope(sel.code) ? el("p", { className: "plan-note", text: t("plan.out_of_scope") }) : null,
    el("p", { className: "plan-hint", text: t("plan.edges_hint") }),
    el("ul", { className: "plan-edges" }, ...rows),
  ].filter((node) => node !== null));
}

export function redrawSelection() {
  const sel = state.selected;
  // The outline as the draft has it (none when the draft retires the grid: its parts show in the preview).
  const unit = state.workspace.draft.state.preview?.units.find((/** @type {any} */ u) => u.code === sel?.code);
  if (sel) state.editor.show({ code: sel.code, name: sel.name, geometry: unit ? unit.geometry_after : sel.geometry },
    draftEdges());
  else state.editor.clear();
  renderGrid();
  renderTools();
}

/**
 * Select micro-grid `code`: read its outline and shared edges (and its versions for the history tab).
 * @param {string} code
 */
export async function selectGrid(code) {
  const run = async () => {
    state.history.load(code);
    try {
      const data = await api.gridEdges(code);
      state.selected = { ...data, edges: data.edges || [] };
    } catch (err) {
      state.selected = null;
      state.workspace.say("plan.select_failed", { code, message: describeError(err) }, "error");
    }
    redrawSelection();
  };
  state.selecting = state.selecting.then(run, run);
  return state.selecting;
}

/** Read the selected grid again (after a save, a rebase): it may have been retired. */
export async function reselect() {
  const code = state.selected?.code;
  if (!code) return;
  try {
    const data = await api.gridEdges(code);
    state.selected = { ...data, edges: data.edges || [] };
  } catch {
    state.selected = null;
  }
  redrawSelection();
  state.history.load(state.selected ? code : null);
}

/** The codes the draft's splits created (for naming them). */
export function splitCodes() {
  const results = state.workspace.draft.state.preview?.results || [];
  return results.flatMap((/** @type {any} */ r) => r.codes || []);
}

/** The tool buttons: usable on a selected micro-grid in scope that the draft has not retired or reshaped. */
export function renderTools() {
  const sel = state.selected;
  const usable = Boolean(sel) && editing() && sel?.level === "micro" && inScope(sel.code)
    && !lockedCodes().has(sel.code);
  document.querySelectorAll(".plan-tools [data-tool]").forEach((b) => {
    const tool = b.dataset.tool;
    b.disabled = !(usable || (tool === "rename" && editing() && splitCodes().length > 0));
    b.setAttribute("aria-pressed", String(state.tool === tool));
  });
}

