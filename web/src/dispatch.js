// The dispatcher's page (/static/dispatch.html): our own base map (roads and paths, river, compounds, grid
// outlines, service sites: layers.js, as on the map page) with the incidents on it, and a side panel with four
// tabs: intake (locate by map click, pasted coordinates or compound/building search → grid panel → report form),
// the filtered list, the detail with its timeline and workflow buttons, statistics, and (dispatch centre) the
// bulk import of 12345-hotline exports. Roles that read incidents
// get the workspace (planners and auditors without intake: a read-only view); everyone else sees the log-in
// button and why. Exposes
// window.gisgridDispatch = {map, layers, ready, ...} for tests and the console.

import { initAccount } from "./account.js";
import { mapConfig } from "./api.js";
import { createIncidentLayer } from "./dispatch-markers.js";
import { initCreate } from "./dispatch-create.js";
import { initDetail } from "./dispatch-detail.js";
import { initList } from "./dispatch-list.js";
import { initImport } from "./dispatch-import.js";
import { initLocate } from "./dispatch-locate.js";
import { initStats } from "./dispatch-stats.js";
import { incidentMeta, incidentPoints } from "./dispatch-api.js";
import { crsLabel, describe, setCategories } from "./dispatch-format.js";
import { applyTo, hasStoredChoice, onLangChange, setLang, t } from "./i18n.js";
import { createLayer, fillLayer, relabel, updateLabelZoom } from "./layers.js";
import { createLayerPanel } from "./panel.js";
import { can, initSession, onUserChange } from "./session.js";
import { HIGHLIGHT, LAYER_DEFS } from "./styles.js";
import { initChrome, setLoading, showBanner } from "./ui.js";

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
  const served = new Set((config.layers || []).map((l) => l.name));
  LAYER_DEFS.filter((def) => BASE_LAYERS.includes(def.name) && served.has(def.name)).forEach((def) => {
    // Only the site markers are interactive: a click anywhere else is a click on the map, i.e. "locate here".
    const local = { ...def, interactive: def.name === "sites" };
    const group = createLayer(state.map, local, { onFeatureClick: onSiteClick });
    state.layers[def.name] = group;
    group.addTo(state.map);
  });
  const entries = (config.layers || []).filter((l) => state.layers[l.name])
    .map((l) => ({ name: l.name, layer: state.layers[l.name], i18nKey: `layer.${l.name}` }));
  entries.unshift({ name: "incidents", layer: state.incidents.layer, i18nKey: "layer.incidents" });
  return createLayerPanel(state.map, entries);
}

async function loadLayers(config, panel) {
  const groups = Object.values(state.layers);
  let done = 0;
  setLoading(done, groups.length);
  const pageSize = config.layer_max_features || 1000;
  await Promise.allSettled(groups.map(async (group) => {
    try {
      panel.setStatus(group.layerName, { count: await fillLayer(group, { pageSize }) });
    } catch (err) {
      panel.setStatus(group.layerName, { failed: true });
      showBanner("error.layer", { layer: t(`layer.${group.layerName}`), message: describe(err) });
    } finally {
      setLoading(++done, groups.length);
    }
  }));
  groups.forEach(relabel);
  listUi.gridsLoaded();
}

/** Communities and general grids for the list filters, from the loaded layers. */
function gridOptions() {
  const read = (name) => {
    const group = state.layers[name];
    if (!group) return [];
    return group.getLayers().map((l) => ({ code: String(l.feature.properties.code), name: l.feature.properties.name }))
      .sort((a, b) => a.code.localeCompare(b.code));
  };
  return { communities: read("communities"), generals: read("general_grids") };
}

function addCountControl(map) {
  const control = L.control({ position: "bottomleft" });
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
      weight: 1.5, fillOpacity: 0.2 }).bindTooltip(t("dispatch.ghost", { crs: crsLabel(input.crs) })));
  }
  state.marks.forEach((m) => m.addTo(state.map));
  const lyr = state.layers.micro_grids?.index.get(String(answer.micro_grid.code));
  if (lyr) {
    lyr.setStyle(HIGHLIGHT);
    lyr.bringToFront();
    state.highlighted = lyr;
  }
  if (origin.kind === "click") {
    if (!state.map.getBounds().pad(-0.1).contains(here)) state.map.panTo(here);
  } else {
    state.map.setView(here, Math.max(state.map.getZoom(), 17));
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
    const tab = event.target.closest("[data-tab]");
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
