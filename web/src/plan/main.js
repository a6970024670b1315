// @ts-check
// The planner's page (/static/plan.html): boundary edits on our own base map. Click a micro-grid to select it: its shared edges
// are drawn, and those the planner may move get handles (edges.js); a drag becomes a `reshape` step. The tools split
// the grid along a drawn line, merge it with a neighbour, move a compound to a neighbour and name grids. Every step
// goes to the server at once as the draft's whole list (draft.js), which answers with its preview (workspace.js,
// preview.js); the draft is saved as one grid generation. The history tab lists the selected grid's versions with a
// revert, and moves the map back in time (history.js). Exposes window.gisgridPlan = {map, layers, ready, …} for
// tests and the console.

import "./strings.js";
import { initAccount } from "../lib/account.js";
import { mapConfig } from "../lib/api.js";
import { applyTo, hasStoredChoice, onLangChange, setLang, t } from "../lib/i18n.js";
import { currentUser, initSession, onUserChange } from "../lib/session.js";
import { initChrome, showBanner } from "../lib/ui.js";
import { buildLayers, createMap, describeError, startLoader, wireLabels } from "../layers/basemap.js";
import { featuresAt } from "../map/identify.js";
import { createEdgeEditor } from "./edges.js";
import { createHistory, localTime } from "./history.js";
import { redrawSelection, reselect, selectGrid } from "./selection.js";
import { $, allowed, editing, els, state } from "./state.js";
import { apply, hint, merge, moveCompound, neighbourButtons, setTool, snapTargets, stopTool } from "./tools.js";
import { createWorkspace } from "./workspace.js";

/**
 * @typedef {import("./api.js").Operation} Operation
 * @typedef {import("./state.js").Selected} Selected
 */

const NIUSHIKOU = /** @type {L.LatLngTuple} */ ([30.640091, 104.105206]);
// The base for planning: grid levels, compounds and buildings, roads and rivers (no service sites, no incidents).
const BASE_LAYERS = ["compounds", "buildings", "rivers", "walk_edges", "micro_grids", "general_grids", "communities",
  "subdistricts"];
const TOOLS = ["split", "merge", "move", "rename"];

/** @type {(summary: any) => void} */
let resolveReady = () => {};
state.ready = new Promise((r) => (resolveReady = r));

// The map ----------------------------------------------------------------------------------------------------
/** @param {L.LeafletMouseEvent} event */
function onMapClick(event) {
  if (state.drawing || !allowed()) return; // the line being drawn takes the clicks
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
  if (micro && state.at !== null) state.history.load(String(micro.code)); // the past: its versions, no edges
  else if (micro) selectGrid(String(micro.code));
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
    if (allowed()) {
      state.history.loadGenerations();
      state.workspace.offerResume(user.username);
    }
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
    resume: $("plan-resume"),
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
