// The dispatcher's page (/static/dispatch.html): our own base map (roads and paths, river, compounds, grid
// outlines, service sites: layers/, loaded for the visible area as on the map page) with the incidents on it, and a side panel with four
// tabs: intake (locate by map click, pasted coordinates or compound/building search → grid panel → report form),
// the filtered list, the detail with its timeline and workflow buttons, statistics, and (dispatch centre) the
// bulk import of 12345-hotline exports. Roles that read incidents
// get the workspace (planners and auditors without intake: a read-only view); everyone else sees the log-in
// button and why. Exposes
// window.gisgridDispatch = {map, layers, ready, ...} for tests and the console.

import "./strings.js";
import { initAccount } from "../lib/account.js";
import { mapConfig } from "../lib/api.js";
import { createIncidentLayer } from "./markers.js";
import { initCreate } from "./create.js";
import { initDetail } from "./detail.js";
import { initList } from "./list.js";
import { initImport } from "./import.js";
import { initLocate } from "./locate.js";
import { initStats } from "./stats.js";
import { incidentMeta, incidentPoints } from "./api.js";
import { crsLabel, describe, setCategories } from "./format.js";
import { applyTo, hasStoredChoice, onLangChange, setLang, t } from "../lib/i18n.js";
import { localText } from "../layers/config.js";
import { createLayer, relabel, updateLabelZoom } from "../layers/layers.js";
import { createLoader } from "../layers/loader.js";
import { createLayerPanel } from "../layers/panel.js";
import { HIGHLIGHT } from "../layers/symbols.js";
import { can, initSession, onUserChange } from "../lib/session.js";
import { getJson } from "../lib/api.js";
import { textSpan } from "../lib/html.js";
import { initChrome, setLoading, showBanner } from "../lib/ui.js";

const NIUSHIKOU = [30.640091, 104.105206];
// The base for dispatching: no buildings, special grids or bank segments (the map page has those).
const BASE_LAYERS = ["compounds", "rivers", "walk_edges", "micro_grids", "general_grids", "communities",
  "subdistricts", "sites"];
const MAP_POINT_LIMIT = 2000;
// New reports (grid workers' phones, imports, colleagues) appear without pressing 刷新 while the page is shown.
const AUTO_REFRESH_MS = 30_000;

let resolveReady;
const state = {
  map: null,
  layers: {},
  cfgs: {},
  loader: null,
  gridOptions: { communities: [], generals: [] },
  incidents: null,
  meta: null,
  user: null,
  session: null, // the username the workspace was started for
  pointLoads: 0,
  ready: new Promise((r) => (resolveReady = r)),
  highlighted: null,
  marks: null,
};
window.gisgridDispatch = state;

const els = {
  gate: document.getElementById("dispatch-gate"),
  gateText: document.getElementById("dispatch-gate-text"),
  gateLogin: document.getElementById("dispatch-gate-login"),
  work: document.getElementById("dispatch-work"),
};

let locateUi;
let createUi;
let listUi;
let detailUi;
let statsUi;
let importUi;
let countControl;

// Roles that read incidents get the workspace; those that may also report get the intake tab and map clicks.
// (The API decides every call on its own; this only leaves out what a role could not use.)
const allowed = () => Boolean(state.user && state.user.authenticated && can("incidents.read"));
const canReport = () => allowed() && can("incidents.create");

// Tabs ---------------------------------------------------------------------------------------------------
function showTab(name) {
  document.querySelectorAll(".dispatch-tabs [data-tab]").forEach((b) => {
    b.setAttribute("aria-selected", String(b.dataset.tab === name));
  });
  document.querySelectorAll(".dispatch-panel").forEach((p) => {
    p.hidden = p.dataset.panel !== name;
  });
  state.tab = name;
  if (name === "stats" && allowed()) statsUi.opened();
}

// Map ----------------------------------------------------------------------------------------------------
function createMap() {
  const map = L.map("dispatch-map", { minZoom: 10, maxZoom: 20, renderer: L.svg({ padding: 0.5 }), zoomSnap: 0.5 });
  new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(map.getContainer());
  map.createPane("gg-located").style.zIndex = "680";
  return map;
}

/** A click on the map: the new place of the incident being moved, or else a point to locate and report. */
function mapClick(latlng) {
  if (detailUi.moving()) detailUi.pickMove(latlng);
  else if (canReport()) locateUi.locateLatLng(latlng);
}

function onSiteClick(name, lyr, event) {
  // A site marker takes the click from the map: handled all the same.
  mapClick(event.latlng);
}

function buildLayers(config) {
  const cfgs = (config.layers || []).filter((cfg) => BASE_LAYERS.includes(cfg.name));
  cfgs.forEach((cfg) => {
    // Only the site markers are interactive: a click anywhere else is a click on the map, i.e. "locate here".
    const group = createLayer(state.map, cfg, { onFeatureClick: onSiteClick, interactive: cfg.name === "sites" });
    state.layers[cfg.name] = group;
    state.cfgs[cfg.name] = cfg;
    group.addTo(state.map);
  });
  /** @type {import("../layers/panel.js").PanelEntry[]} */
  const entries = [...cfgs].sort((a, b) => b.map.z_index - a.map.z_index)
    .map((cfg) => ({ name: cfg.name, layer: state.layers[cfg.name], title: cfg.title }));
  entries.unshift({ name: "incidents", layer: state.incidents.layer, i18nKey: "layer.incidents" });
  return createLayerPanel(state.map, entries);
}

async function loadLayers(config, panel) {
  const groups = Object.values(state.layers);
  state.loader = createLoader(state.map, groups, {
    pageSize: config.layer_max_features || 1000,
    onStatus: (name, status) => {
      panel.setStatus(name, status);
      setLoading(groups.filter((g) => g.status !== "loading").length, groups.length);
    },
    onError: (name, err) => {
      showBanner("error.layer", { layer: localText(state.cfgs[name]?.title) || name, message: describe(err) });
    },
    onLoaded: () => groups.forEach(relabel),
    pinned: (lyr) => lyr === state.highlighted,
  });
  state.loader.update();
  await Promise.all([state.loader.settled(), loadGridOptions(config)]);
  listUi.gridsLoaded();
}

/**
 * Every community and general grid (code and name) for the list filters: the whole subdistrict or city, not just
 * what the map shows, so they are read apart from the map layers.
 */
async function loadGridOptions(config) {
  const read = async (name) => {
    if (!(config.layers || []).some((l) => l.name === name)) return [];
    const out = [];
    let offset = 0;
    while (offset !== null && offset !== undefined) {
      const page = await getJson(`/api/layers/${name}`, { limit: config.layer_max_features || 1000, offset });
      page.features.forEach((f) => out.push({ code: String(f.properties.code), name: f.properties.name }));
      offset = page.features.length ? page.next_offset : null;
    }
    return out.sort((a, b) => a.code.localeCompare(b.code));
  };
  try {
    const [communities, generals] = await Promise.all([read("communities"), read("general_grids")]);
    state.gridOptions = { communities, generals };
  } catch (err) {
    showBanner("error.config", { message: describe(err) });
  }
}

/** Communities and general grids for the list filters. */
function gridOptions() {
  return state.gridOptions;
}

function addCountControl(map) {
  const control = new L.Control({ position: "bottomleft" });
  control.onAdd = () => {
    const div = L.DomUtil.create("div", "leaflet-bar incident-count");
    div.hidden = true;
    return div;
  };
  control.addTo(map);
  let last = null;
  const render = () => {
    const div = control.getContainer();
    div.hidden = !last;
    if (last) div.textContent = t("dispatch.map_count", last);
  };
  onLangChange(render);
  return {
    set(counts) {
      last = counts;
      render();
    },
  };
}

let attribution = null;
function setAttribution() {
  if (attribution) state.map.attributionControl.removeAttribution(attribution);
  attribution = t("attribution.data");
  state.map.attributionControl.addAttribution(attribution);
}

// The located point ------------------------------------------------------------------------------------------
function clearLocated() {
  if (state.marks) state.marks.forEach((m) => m.remove());
  state.marks = null;
  if (state.highlighted) {
    state.layers.micro_grids?.resetStyle(state.highlighted);
    state.highlighted = null;
  }
}

function drawLocated(answer, origin) {
  clearLocated();
  const { wgs84, input } = answer;
  const here = L.latLng(wgs84.lat, wgs84.lon);
  const pin = L.marker(here, {
    pane: "gg-located",
    interactive: false,
    keyboard: false,
    icon: L.divIcon({ className: "located-pin", html: '<span class="located-dot"></span>', iconSize: [22, 22] }),
  });
  state.marks = [pin];
  // Coordinates from a phone map drawn as if they were WGS 84 land hundreds of metres off: show where, faintly.
  if (!["wgs84", "cgcs2000"].includes(input.crs)) {
    const raw = L.latLng(input.lat, input.lon);
    state.marks.push(L.polyline([raw, here], { pane: "gg-located", className: "input-shift", interactive: false,
      color: "#607d8b", weight: 1.5, dashArray: "4 4" }));
    state.marks.push(L.circleMarker(raw, { pane: "gg-located", className: "input-ghost", radius: 5, color: "#607d8b",
      weight: 1.5, fillOpacity: 0.2 }).bindTooltip(textSpan(t("dispatch.ghost", { crs: crsLabel(input.crs) }))));
  }
  state.marks.forEach((m) => m.addTo(state.map));
  if (origin.kind === "click") {
    if (!state.map.getBounds().pad(-0.1).contains(here)) state.map.panTo(here, { animate: false });
  } else {
    state.map.setView(here, Math.max(state.map.getZoom(), 17), { animate: false });
  }
  highlightMicro(answer.micro_grid.code, state.marks);
}

/** Highlight the located micro-grid once the view around it has loaded (it may just have come into view). */
async function highlightMicro(code, marks) {
  await state.loader?.settled();
  if (state.marks !== marks) return; // another point was located meanwhile
  const lyr = state.layers.micro_grids?.index.get(String(code));
  if (lyr) {
    lyr.setStyle(HIGHLIGHT);
    lyr.bringToFront();
    state.highlighted = lyr;
  }
}

// Incidents on the map ------------------------------------------------------------------------------------
let pointsTicket = 0;
async function refreshPoints(filters = listUi.filters()) {
  if (!allowed()) return;
  const ticket = ++pointsTicket;
  try {
    const collection = await incidentPoints(filters, { limit: MAP_POINT_LIMIT });
    if (ticket !== pointsTicket) return;
    state.incidents.setFeatures(collection);
    countControl.set({ shown: collection.features.length, total: collection.total });
  } catch (err) {
    if (ticket !== pointsTicket) return;
    showBanner("dispatch.err.points", { message: describe(err) });
  } finally {
    if (ticket === pointsTicket) state.pointLoads += 1;
  }
}

function refreshAll() {
  listUi.load();
  refreshPoints();
  if (state.tab === "stats" && statsUi.state.body) statsUi.load(); // numbers shown stay current
}

function autoRefresh() {
  if (!allowed() || !state.session || document.visibilityState !== "visible") return;
  state.autoRefreshes = (state.autoRefreshes || 0) + 1;
  refreshAll();
}

function openIncident(id) {
  showTab("detail");
  detailUi.load(id);
}

function zoomToIncident(detail, { force = false } = {}) {
  const at = L.latLng(detail.location.lat, detail.location.lon);
  if (force) state.map.setView(at, Math.max(state.map.getZoom(), 18));
  else if (!state.map.getBounds().pad(-0.1).contains(at)) state.map.panTo(at);
}

// Who is here ---------------------------------------------------------------------------------------------
function renderGate() {
  const user = state.user;
  if (!user || allowed()) return;
  els.gateText.textContent = user.authenticated ? t("dispatch.gate_role", { role: t(`userrole.${user.role}`) })
    : t("dispatch.gate");
  els.gateLogin.hidden = user.authenticated;
}

async function start(user) {
  state.session = user.username;
  try {
    state.meta = await incidentMeta();
  } catch (err) {
    showBanner("dispatch.err.meta", { message: describe(err) });
    return;
  }
  if (state.session !== user.username) return;
  setCategories(state.meta.categories);
  createUi.setMeta(state.meta);
  listUi.setMeta(state.meta);
  await Promise.all([listUi.reset(), refreshPoints()]);
}

function stop() {
  state.session = null;
  pointsTicket += 1;
  state.incidents.setFeatures(null);
  countControl.set(null);
  clearLocated();
  locateUi.clear();
  createUi.hide();
  listUi.clear();
  detailUi.clear();
  statsUi.clear();
  importUi.clear();
  showTab(canReport() ? "intake" : "list");
}

function applyUser(user) {
  state.user = user;
  const ok = allowed();
  els.gate.hidden = ok;
  els.work.hidden = !ok;
  document.querySelector(".dispatch-tabs [data-tab='intake']").hidden = !canReport();
  document.querySelector(".dispatch-tabs [data-tab='import']").hidden = !(allowed() && can("incidents.import"));
  renderGate();
  if (ok && state.session !== user.username) {
    if (state.session) stop();
    showTab(canReport() ? "intake" : "list"); // each log-in starts at the role's first tab
    state.started = start(user);
  } else if (!ok && state.session) {
    stop();
  }
}

// Boot ----------------------------------------------------------------------------------------------------
function initPanels() {
  locateUi = initLocate({
    allowed,
    onLocated: (answer, origin) => {
      drawLocated(answer, origin);
      createUi.located(answer, origin);
      showTab("intake");
    },
    onFailed: () => {
      clearLocated();
      createUi.hide();
    },
  });
  createUi = initCreate(document.getElementById("create-box"), {
    where: () => locateUi.current(),
    role: () => state.user?.role,
    onOpen: openIncident,
    onCreated: (detail) => {
      // The new incident's own marker now marks the spot.
      clearLocated();
      showTab("detail");
      detailUi.show(detail);
      refreshAll();
    },
  });
  listUi = initList({ onPick: openIncident, onFilters: (filters) => refreshPoints(filters), grids: gridOptions });
  detailUi = initDetail(document.getElementById("incident-detail"), {
    status: document.getElementById("detail-status"),
    onChanged: () => refreshAll(),
    onShown: (detail) => {
      state.incidents.select(detail.id);
      listUi.select(detail.id);
      zoomToIncident(detail);
    },
    onZoom: (detail) => zoomToIncident(detail, { force: true }),
    canMove: (detail) => can("incidents.act") && !["closed", "rejected"].includes(detail.status),
  });
  statsUi = initStats({
    form: document.getElementById("stats-form"),
    table: document.getElementById("stats-table"),
    status: document.getElementById("stats-status"),
    exportButton: document.getElementById("stats-export"),
  });
  importUi = initImport({
    form: document.getElementById("import-form"),
    status: document.getElementById("import-status"),
    result: document.getElementById("import-result"),
    onImported: () => refreshAll(),
  });
  document.querySelector(".dispatch-tabs").addEventListener("click", (event) => {
    const tab = /** @type {HTMLElement} */ (event.target).closest("[data-tab]");
    if (tab) showTab(tab.dataset.tab);
  });
}

async function boot() {
  initChrome();
  applyTo(document);
  const account = initAccount(document.getElementById("account"), { dispatchLink: false });
  els.gateLogin.addEventListener("click", () => account.openLogin());
  state.map = createMap();
  state.incidents = createIncidentLayer(state.map, { onPick: openIncident });
  countControl = addCountControl(state.map);
  initPanels();
  onUserChange(applyUser);
  onLangChange(renderGate);
  setInterval(autoRefresh, AUTO_REFRESH_MS);
  const session = initSession();

  let config;
  try {
    config = await mapConfig();
  } catch (err) {
    state.map.setView(NIUSHIKOU, 15);
    showBanner("error.config", { message: describe(err) });
    await session;
    return { loaded: [], failed: ["map-config"] };
  }
  if (!hasStoredChoice() && config.default_language) setLang(config.default_language, { remember: false });
  const panel = buildLayers(config);
  const map = state.map;
  const refreshLabels = () => updateLabelZoom(map, Object.values(state.layers));
  map.on("zoomend", refreshLabels);
  refreshLabels();
  setAttribution();
  onLangChange(() => {
    Object.values(state.layers).forEach(relabel);
    setAttribution();
  });
  if (config.extent) {
    const [minx, miny, maxx, maxy] = config.extent;
    map.fitBounds([[miny, minx], [maxy, maxx]], { padding: [10, 10] });
  } else {
    map.setView(NIUSHIKOU, 15);
  }
  refreshLabels();
  map.on("click", (event) => mapClick(event.latlng));
  await loadLayers(config, panel);
  await session;
  await state.started;
  return { loaded: Object.keys(state.layers) };
}

boot().then(resolveReady, (err) => {
  showBanner("error.config", { message: String(err) });
  resolveReady({ loaded: [], error: String(err) });
});
