// @ts-check
// The planner's page (/plan): boundary edits on our own base map. Click a micro-grid to select it: its shared edges
// are drawn, and those the planner may move get handles (edges.js); a drag becomes a `reshape` step. The tools split
// the grid along a drawn line, merge it with a neighbour, move a compound to a neighbour and name grids. Every step
// goes to the server at once as the draft's whole list (draft.js), which answers with its preview (workspace.js,
// preview.js); the draft is saved as one grid generation. The history tab lists the selected grid's versions with a
// revert, and moves the map back in time (history.js). Exposes window.gisgridPlan = {map, layers, ready, …} for
// tests and the console.

import "./strings.js";
import { initAccount } from "../lib/account.js";
import { mapConfig } from "../lib/api.js";
import { el } from "../lib/html.js";
import { applyTo, hasStoredChoice, onLangChange, setLang, t } from "../lib/i18n.js";
import { can, currentUser, inScope, initSession, onUserChange } from "../lib/session.js";
import { initChrome, showBanner } from "../lib/ui.js";
import { buildLayers, createMap, describeError, startLoader, wireLabels } from "../layers/basemap.js";
import { featuresAt } from "../map/identify.js";
import * as api from "./api.js";
import { drawLine } from "./draw.js";
import { createEdgeEditor } from "./edges.js";
import { createHistory, localTime } from "./history.js";
import { vertexTargets } from "./snap.js";
import { createWorkspace } from "./workspace.js";

/**
 * @typedef {import("./api.js").Operation} Operation
 * @typedef {import("./edges.js").Edge} Edge
 * @typedef {{code: string, name: string, level: string, parent_code: string | null, version: number,
 *   geometry: any, edges: Edge[]}} Selected
 */

const NIUSHIKOU = /** @type {L.LatLngTuple} */ ([30.640091, 104.105206]);
// The base for planning: grid levels, compounds and buildings, roads and rivers (no service sites, no incidents).
const BASE_LAYERS = ["compounds", "buildings", "rivers", "walk_edges", "micro_grids", "general_grids", "communities",
  "subdistricts"];
const TOOLS = ["split", "merge", "move", "rename"];

/** @type {(summary: any) => void} */
let resolveReady = () => {};
/**
 * @type {{map: L.Map, layers: {[name: string]: import("../layers/layers.js").LayerGroup}, cfgs: {[name: string]: any},
 *   loader: ReturnType<typeof startLoader> | null, ready: Promise<any>, selected: Selected | null,
 *   tool: string | null, compound: any, at: string | null, drawing: ReturnType<typeof drawLine> | null,
 *   user: any, selecting: Promise<void>, workspace: ReturnType<typeof createWorkspace>,
 *   editor: ReturnType<typeof createEdgeEditor>, history: ReturnType<typeof createHistory>, tab: string}}
 */
const state = /** @type {any} */ ({
  map: null,
  layers: {},
  cfgs: {},
  loader: null,
  ready: new Promise((r) => (resolveReady = r)),
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

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const els = {
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

// Who may edit what ------------------------------------------------------------------------------------------
const allowed = () => Boolean(state.user?.authenticated && can("grids.edit"));
// Editing needs a planner, the map at 现在 (not in the past) and no call on the way.
const editing = () => allowed() && state.at === null;

/** Micro-grids the draft has already changed by other steps than moving their shared edges. */
function lockedCodes() {
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
function draftEdges() {
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
function renderGrid() {
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

function redrawSelection() {
  const sel = state.selected;
  if (sel) state.editor.show({ code: sel.code, name: sel.name, geometry: sel.geometry }, draftEdges());
  else state.editor.clear();
  renderGrid();
  renderTools();
}

/**
 * Select micro-grid `code`: read its outline and shared edges (and its versions for the history tab).
 * @param {string} code
 */
async function selectGrid(code) {
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
async function reselect() {
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

// Tools ------------------------------------------------------------------------------------------------------
/** The neighbours a merge or a compound move may go to: the selected grid's neighbours (one button each). */
function neighbourButtons(/** @type {(code: string) => void} */ onPick, /** @type {boolean} */ sameParent) {
  const seen = new Set();
  const buttons = draftEdges().filter((e) => e.editable && !e.lockedBy && (!sameParent || e.same_parent)
    && !seen.has(e.neighbour) && seen.add(e.neighbour))
    .map((e) => {
      const b = el("button", { attrs: { type: "button", "data-code": e.neighbour } }, el("span", { text:
        e.neighbour_name }), " ", el("code", { text: e.neighbour }));
      b.addEventListener("click", () => onPick(e.neighbour));
      return b;
    });
  els.pick.replaceChildren(...(buttons.length ? buttons : [el("p", { className: "plan-muted",
    text: t("plan.no_neighbours") })]));
  els.pick.hidden = false;
}

/**
 * @param {string | null} key
 * @param {{[k: string]: unknown}} [params]
 */
function hint(key, params = {}) {
  els.hint.hidden = !key;
  els.hint.textContent = key ? t(key, params) : "";
  els.hint.dataset.key = key || "";
}

function stopTool() {
  state.drawing?.stop();
  state.drawing = null;
  state.tool = null;
  state.compound = null;
  els.pick.hidden = true;
  els.pick.replaceChildren();
  els.rename.hidden = true;
  hint(null);
  state.editor.setEnabled(editing());
  renderTools();
}

/**
 * Add a step to the draft; the tool in use ends either way.
 * @param {Operation} op
 */
async function apply(op) {
  stopTool();
  const ok = await state.workspace.push(op);
  redrawSelection();
  return ok;
}

function startSplit() {
  const sel = /** @type {Selected} */ (state.selected);
  hint("plan.hint.split");
  state.editor.setEnabled(false);
  state.drawing = drawLine(state.map, {
    targets: snapTargets,
    onPoint: (n) => hint(n < 2 ? "plan.hint.split" : "plan.hint.split_more", { n }),
    onCancel: () => stopTool(),
    onFinish: async (line) => {
      state.drawing = null;
      const ok = await apply({ op: "split", code: sel.code, line });
      if (ok) state.workspace.say("plan.split_done", { codes: splitCodes().join(", ") }, "success");
    },
  });
}

/** The codes the draft's splits created (for naming them). */
function splitCodes() {
  const results = state.workspace.draft.state.preview?.results || [];
  return results.flatMap((/** @type {any} */ r) => r.codes || []);
}

/** @param {string} code */
const merge = (code) => apply({ op: "merge", codes: [/** @type {Selected} */ (state.selected).code, code],
  keep: /** @type {Selected} */ (state.selected).code });

/** @param {string} to */
const moveCompound = (to) => apply({ op: "move_place", kind: "compound", ext_id: String(state.compound.id), to });

function startRename() {
  const select = els.rename.elements.namedItem("code");
  const units = state.workspace.draft.state.preview?.units || [];
  const nameOf = (/** @type {string} */ code) => units.find((/** @type {any} */ u) => u.code === code)?.name
    || (code === state.selected?.code ? state.selected?.name : code);
  const gone = new Set(units.filter((/** @type {any} */ u) => ["retired", "recoded"].includes(u.change))
    .map((/** @type {any} */ u) => u.code));
  const codes = [...new Set([...(state.selected ? [state.selected.code] : []), ...splitCodes()])]
    .filter((c) => !gone.has(c));
  select.replaceChildren(...codes.map((c) => el("option", { text: `${nameOf(c)} (${c})`, attrs: { value: c } })));
  const fill = () => {
    els.rename.elements.namedItem("name").value = nameOf(select.value) || "";
  };
  select.onchange = fill;
  fill();
  els.rename.hidden = false;
  hint("plan.hint.rename");
  els.rename.elements.namedItem("name").focus();
}

/** @param {string} tool */
function setTool(tool) {
  const again = state.tool === tool;
  stopTool();
  if (again || !state.selected || !editing()) return;
  state.tool = tool;
  if (tool === "split") startSplit();
  else if (tool === "merge") {
    hint("plan.hint.merge");
    neighbourButtons(merge, true);
  } else if (tool === "move") hint("plan.hint.move");
  else if (tool === "rename") startRename();
  renderTools();
}

function renderTools() {
  const sel = state.selected;
  const usable = Boolean(sel) && editing() && sel?.level === "micro" && inScope(sel.code)
    && !lockedCodes().has(sel.code);
  document.querySelectorAll(".plan-tools [data-tool]").forEach((b) => {
    const tool = b.dataset.tool;
    b.disabled = !(usable || (tool === "rename" && editing() && splitCodes().length > 0));
    b.setAttribute("aria-pressed", String(state.tool === tool));
  });
}

/** Vertices to snap to near `box`: the drawn micro-grids and compounds, and the draft's new shapes. */
function snapTargets(/** @type {L.LatLngBounds} */ box) {
  const units = state.workspace.draft.state.preview?.units || [];
  const extra = units.map((/** @type {any} */ u) => u.geometry_after?.coordinates).filter(Boolean);
  return vertexTargets(state.map, [state.layers.micro_grids, state.layers.compounds], box, extra);
}

// The map ----------------------------------------------------------------------------------------------------
/** @param {L.LeafletMouseEvent} event */
function onMapClick(event) {
  if (state.drawing) return; // the line being drawn takes the clicks
  const hits = featuresAt(state.map, state.layers, event.latlng, ["compounds", "micro_grids"]);
  const micro = hits.find((h) => h.layer === "micro_grids")?.properties;
  const compound = hits.find((h) => h.layer === "compounds")?.properties;
  const selected = state.selected?.code;
  if (state.tool === "merge") {
    if (micro && micro.code !== selected) merge(String(micro.code));
    return;
  }
  if (state.tool === "move") {
    if (!state.compound) {
      if (!compound) return hint("plan.hint.move_none");
      state.compound = compound;
      hint("plan.hint.move_to", { name: compound.name });
      neighbourButtons(moveCompound, false);
    } else if (micro && micro.code !== selected) {
      moveCompound(String(micro.code));
    }
    return;
  }
  if (micro) selectGrid(String(micro.code));
}

/**
 * Show the grids as they were at `at` (null: now); editing waits until the map is back at now.
 * @param {string | null} at
 */
async function showAt(at) {
  state.at = at;
  stopTool();
  els.past.hidden = at === null;
  els.past.textContent = at === null ? "" : t("plan.past", { at: localTime(at) });
  redrawSelection();
  state.workspace.render();
  await state.loader?.reload();
}

function onKey(/** @type {KeyboardEvent} */ e) {
  const target = /** @type {HTMLElement} */ (e.target);
  if (target.closest?.("input, textarea, select") || !editing()) return;
  const key = e.key.toLowerCase();
  if ((e.ctrlKey || e.metaKey) && key === "z") {
    e.preventDefault();
    if (e.shiftKey) state.workspace.draft.redo();
    else state.workspace.draft.undo();
  } else if ((e.ctrlKey || e.metaKey) && key === "y") {
    e.preventDefault();
    state.workspace.draft.redo();
  } else if (e.key === "Escape" && state.tool) {
    stopTool();
  }
}

// Who is here ------------------------------------------------------------------------------------------------
function renderGate() {
  const user = state.user;
  if (!user || allowed()) return;
  els.gateText.textContent = user.authenticated ? t("plan.gate_role", { role: t(`userrole.${user.role}`) })
    : t("plan.gate");
  els.gateLogin.hidden = user.authenticated;
}

/** @param {any} user */
function applyUser(user) {
  const before = state.user?.username;
  state.user = user;
  els.gate.hidden = allowed();
  els.work.hidden = !allowed();
  renderGate();
  if (before !== user.username) {
    // Another person: their own draft, selection and history (the server keeps the previous one's draft).
    stopTool();
    state.workspace.forget();
    state.selected = null;
    redrawSelection();
    state.history.load(null);
    if (allowed()) state.history.loadGenerations();
  }
  state.editor.setEnabled(editing());
}

function showTab(/** @type {string} */ name) {
  state.tab = name;
  document.querySelectorAll(".plan-tabs [data-tab]").forEach((b) => {
    b.setAttribute("aria-selected", String(b.dataset.tab === name));
  });
  document.querySelectorAll(".plan-panel").forEach((p) => {
    p.hidden = p.dataset.panel !== name;
  });
}

/** After a save or a rebase the grids in the database changed: read the map, the selection and the times again. */
async function afterServerChange() {
  await Promise.all([state.loader?.reload(), reselect(), state.history.loadGenerations()]);
}

// Boot -------------------------------------------------------------------------------------------------------
function initPanels() {
  state.editor = createEdgeEditor(state.map, {
    targets: snapTargets,
    onReshape: (edge, line) => {
      const sel = /** @type {Selected} */ (state.selected);
      apply({ op: "reshape", a: sel.code, b: edge.neighbour, line });
    },
  });
  state.workspace = createWorkspace(state.map, {
    ops: $("plan-ops"),
    status: $("plan-status"),
    preview: $("plan-preview"),
    stale: $("plan-stale"),
    form: $("plan-save"),
    confirm: $("plan-confirm"),
    save: $("plan-save-button"),
    cancel: $("plan-cancel"),
    undo: $("plan-undo"),
    redo: $("plan-redo"),
  }, {
    editable: editing,
    onChange: () => {
      if (!state.editor || !state.history) return;
      state.editor.setEnabled(editing() && !state.workspace.draft.state.busy && !state.drawing);
      redrawSelection();
    },
    onSaved: () => afterServerChange(),
    onRebased: () => afterServerChange(),
  });
  state.history = createHistory(state.map, {
    list: $("plan-history"),
    status: $("plan-history-status"),
    range: $("plan-asof-range"),
    rangeLabel: $("plan-asof-label"),
    now: $("plan-asof-now"),
    canRevert: () => editing() && state.workspace.draft.state.ops.length === 0,
    onRevert: (cs) => {
      state.workspace.adopt(cs);
      showTab("edit");
      state.workspace.say("plan.revert_ready", { id: cs.operations[0]?.generation }, "info");
    },
    onAt: (at) => showAt(at),
  });
  document.querySelectorAll(".plan-tools [data-tool]").forEach((b) => {
    if (TOOLS.includes(b.dataset.tool)) b.addEventListener("click", () => setTool(b.dataset.tool));
  });
  els.rename.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = els.rename;
    const value = (/** @type {string} */ name) => form.elements.namedItem(name)
      .value.trim();
    if (!value("name")) return form.reportValidity();
    /** @type {Operation} */
    const op = { op: "rename", code: value("code"), name: value("name") };
    if (value("name_en")) op.name_en = value("name_en");
    apply(op);
  });
  els.rename.querySelector(".cancel")?.addEventListener("click", stopTool);
  document.querySelector(".plan-tabs")?.addEventListener("click", (event) => {
    const tab = /** @type {HTMLElement} */ (event.target).closest("[data-tab]");
    if (tab instanceof HTMLElement && tab.dataset.tab) showTab(tab.dataset.tab);
  });
  document.addEventListener("keydown", onKey);
  state.workspace.render();
  onLangChange(() => {
    renderGate();
    redrawSelection();
    if (els.hint.dataset.key) hint(els.hint.dataset.key);
    if (state.at) els.past.textContent = t("plan.past", { at: localTime(state.at) });
  });
}

async function boot() {
  initChrome();
  applyTo(document);
  const account = initAccount(/** @type {HTMLElement} */ ($("account")), { planLink: false });
  els.gateLogin.addEventListener("click", () => account.openLogin());
  state.map = createMap("plan-map");
  initPanels();
  onUserChange(applyUser);
  const session = initSession();
  /** @type {import("../layers/config.js").MapConfig} */
  let config;
  try {
    config = await mapConfig();
  } catch (err) {
    state.map.setView(NIUSHIKOU, 15);
    showBanner("error.config", { message: describeError(err) });
    await session;
    return { loaded: [], failed: ["map-config"] };
  }
  if (!hasStoredChoice() && config.default_language) setLang(config.default_language, { remember: false });
  // Clicks are read from the map (what is under the pointer, every level), so no layer takes them itself.
  const base = buildLayers(state.map, config, { names: BASE_LAYERS, onFeatureClick: () => {},
    interactive: () => false });
  state.layers = base.layers;
  state.cfgs = base.cfgs;
  wireLabels(state.map, state.layers);
  if (config.extent) {
    const [minx, miny, maxx, maxy] = config.extent;
    state.map.fitBounds([[miny, minx], [maxy, maxx]], { padding: [10, 10] });
  } else {
    state.map.setView(NIUSHIKOU, 15);
  }
  state.map.on("click", onMapClick);
  state.loader = startLoader(state.map, base, { pageSize: config.layer_max_features || 1000,
    // Only layers with history (the grids) go back in time; the base (roads, compounds) stays as it is.
    params: (group) => (state.at && group.cfg.history ? { at: state.at } : {}) });
  await state.loader.settled();
  await session;
  return { loaded: Object.keys(state.layers), user: currentUser().username };
}

boot().then(resolveReady, (err) => {
  showBanner("error.config", { message: String(err) });
  resolveReady({ loaded: [], error: String(err) });
});
