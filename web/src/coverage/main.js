// @ts-check
// The coverage page (/static/coverage.html): the 10-minute service circle for auditors, planners and admins. Pick a
// threshold and compute: the figures (network beside straight line), a table per community, micro-grids shaded by
// the share of their households covered (a choropleth with its legend), the walking service areas per site kind
// and the uncovered buildings as layers with toggles; a click on a building shows its distances and nearest sites.
// Siting recommends new outposts (drawn as markers); the coverage-audit report runs as a job with its progress and
// a download link. Every name from the data reaches the page as text. Exposes window.gisgridCoverage for tests.

import "./strings.js";
import { initAccount } from "../lib/account.js";
import { getJson, mapConfig, request } from "../lib/api.js";
import { el, textSpan } from "../lib/html.js";
import { applyTo, hasStoredChoice, onLangChange, setLang, t } from "../lib/i18n.js";
import { currentUser, initSession, onUserChange } from "../lib/session.js";
import { initChrome, showBanner } from "../lib/ui.js";
import { buildLayers, createMap, describeError, startLoader, wireLabels } from "../layers/basemap.js";
import { featuresAt } from "../map/identify.js";

const ROLES = ["admin", "planner", "auditor"];
const NIUSHIKOU = /** @type {L.LatLngTuple} */ ([30.640091, 104.105206]);
const BASE_LAYERS = ["buildings", "rivers", "walk_edges", "micro_grids", "communities", "sites"];
const KINDS = ["outpost", "community", "centre"];
const KIND_COLOUR = { centre: "#6a3d9a", community: "#1f78b4", outpost: "#33a02c" };
// The same classes as the report's map (gisgrid/coverage/report.py SHARE_CLASSES).
const SHARE_CLASSES = [[0.5, "#d7301f", "0–50%"], [0.8, "#fc8d59", "50–80%"], [0.95, "#fdcc8a", "80–95%"],
  [0.9999, "#d9f0a3", "95–100%"], [2, "#78c679", "100%"]];

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const els = {
  gate: $("cov-gate"), gateText: $("cov-gate-text"), gateLogin: $("cov-gate-login"), work: $("cov-work"),
  form: /** @type {HTMLFormElement} */ ($("cov-form")), status: $("cov-status"), result: $("cov-result"),
  threshold: $("cov-threshold"), figures: $("cov-figures"), legend: $("cov-legend"), units: $("cov-units"),
  siting: /** @type {HTMLFormElement} */ ($("cov-siting")), sitingStatus: $("cov-siting-status"),
  sitingList: $("cov-siting-list"), report: /** @type {HTMLFormElement} */ ($("cov-report")),
  reportProgress: /** @type {HTMLProgressElement} */ ($("cov-report-progress")), reportStatus: $("cov-report-status"),
  reportLink: /** @type {HTMLAnchorElement} */ ($("cov-report-link")),
};

/** @type {any} */
const state = {
  map: null, layers: {}, loader: null, summary: null, micro: new Map(), buildings: new Map(), computed: 0,
  spec: "", ticket: 0, ready: null, areas: {}, gaps: null, picks: null, job: null,
};
window.gisgridCoverage = state;

const allowed = () => ROLES.includes(currentUser().role);
const fmt = (/** @type {number} */ n) => Number(n).toLocaleString("en-US");
const metres = (/** @type {number | null} */ m) => (m == null ? t("cov.building.unreachable") : `${fmt(Math.round(m))} m`);

/**
 * Say `key` in a status line (kept as a key so it follows the language switch).
 * @param {HTMLElement} node
 * @param {string | null} key
 * @param {{[k: string]: unknown}} [params]
 * @param {string} [kind]
 */
function say(node, key, params = {}, kind = "info") {
  node.hidden = !key;
  node.dataset.key = key || "";
  node.dataset.params = JSON.stringify(params);
  node.className = `plan-status${kind === "error" ? " error" : ""}`;
  node.textContent = key ? t(key, params) : "";
}

function shareColour(/** @type {number | null} */ share) {
  if (share == null) return "#eeeeee";
  return /** @type {string} */ ((SHARE_CLASSES.find(([limit]) => share <= Number(limit)) || SHARE_CLASSES[4])[1]);
}

// The choropleth: micro-grid paths filled by their share (also those loaded later, as the view moves).
function shade() {
  const group = state.layers.micro_grids;
  if (!group) return;
  group.index.forEach((/** @type {any} */ lyr) => {
    const share = state.micro.get(String(lyr.feature.properties.code));
    if (share === undefined) return;
    lyr.setStyle({ fillColor: shareColour(share), fillOpacity: 0.65 });
    lyr.getElement?.()?.setAttribute("data-share", String(share ?? ""));
  });
}

function renderLegend() {
  els.legend.replaceChildren(el("span", { className: "cov-legend-title", text: t("cov.legend") }),
    ...SHARE_CLASSES.map(([, , label]) => el("span", { className: "cov-legend-item" }, el("i"), String(label))));
  // Colours through the CSSOM (no inline style attribute: the page's CSP allows only its own style sheet).
  els.legend.querySelectorAll(".cov-legend-item i").forEach((node, i) => {
    /** @type {HTMLElement} */ (node).style.background = String(SHARE_CLASSES[i][1]);
  });
}

function renderSummary() {
  const s = state.summary;
  if (!s) return;
  const total = s.totals;
  els.result.hidden = false;
  els.threshold.textContent = t("cov.used", { label: s.threshold.label });
  const share = (/** @type {number} */ n) => (total.households ? ` (${((100 * n) / total.households).toFixed(1)}%)` : "");
  const figures = [
    ["households", fmt(total.households)],
    ["covered", fmt(total.network.any.households) + share(total.network.any.households)],
    ["uncovered", fmt(total.uncovered_households)],
    ["unreachable", fmt(total.unreachable_households)],
    ["outpost", fmt(total.network.outpost.households) + share(total.network.outpost.households)],
    ["straight", fmt(total.straight_line.any.households) + share(total.straight_line.any.households)],
  ];
  els.figures.replaceChildren(...figures.flatMap(([key, value]) => [
    el("dt", { text: t(`cov.fig.${key}`) }), el("dd", { text: value, attrs: { "data-figure": key } })]));
  els.units.replaceChildren(...s.units.map((/** @type {any} */ u) => el("tr", { attrs: { "data-code": u.code } },
    el("td", { text: u.name || u.code }),
    el("td", { className: "n", text: fmt(u.households) }),
    el("td", { className: "n", text: u.network.any.share == null ? "—" : `${(100 * u.network.any.share).toFixed(1)}%` }),
    el("td", { className: "n", text: fmt(u.uncovered_households) }),
    el("td", { className: "n", text: u.straight_line.any.share == null ? "—"
      : `${(100 * u.straight_line.any.share).toFixed(1)}%` }))));
  renderLegend();
}

/** @param {string} kind */
function areaStyle(kind) {
  return { color: KIND_COLOUR[kind], weight: 1, fillColor: KIND_COLOUR[kind], fillOpacity: 0.12, interactive: false,
    className: `cov-area cov-area-${kind}` };
}

/** Compute the coverage for the chosen threshold and draw it all. */
async function compute() {
  const spec = String(new FormData(els.form).get("threshold") || "");
  const params = spec ? { threshold: spec } : {};
  say(els.status, "cov.running");
  // Only the newest request draws: an older one answering later (a log-in's first computation) is dropped.
  const ticket = ++state.ticket;
  try {
    const [community, micro, buildings, areas, gaps] = await Promise.all([
      getJson("/api/coverage/summary", { ...params, level: "community", worst: 0 }),
      getJson("/api/coverage/summary", { ...params, level: "micro", worst: 0 }),
      getJson("/api/coverage/buildings", params),
      getJson("/api/coverage/service-areas", params),
      getJson("/api/coverage/gaps", params),
    ]);
    if (ticket !== state.ticket) return;
    state.spec = spec;
    state.summary = community;
    state.micro = new Map(micro.units.map((/** @type {any} */ u) => [String(u.code), u.network.any.share]));
    state.buildings = new Map(buildings.buildings.map((/** @type {any} */ b) => [String(b.ext_id), b]));
    KINDS.forEach((kind) => {
      const group = state.areas[kind];
      group.clearLayers();
      group.addData({ type: "FeatureCollection",
        features: areas.features.filter((/** @type {any} */ f) => f.properties.site.kind === kind && f.geometry) });
    });
    state.gaps.clearLayers();
    state.gaps.addData(gaps.buildings);
    say(els.status, null);
    renderSummary();
    shade();
    state.computed += 1;
  } catch (err) {
    if (ticket === state.ticket) say(els.status, "cov.failed", { message: describeError(err) }, "error");
  }
}

/** A building's distances as a popup of text nodes. */
function buildingPopup(/** @type {L.LatLng} */ latlng, /** @type {string} */ id) {
  const b = state.buildings.get(id);
  const body = el("div", { className: "cov-popup" });
  if (!b) {
    body.append(el("p", { text: t("cov.building.unknown") }));
  } else {
    body.append(el("h3", { text: t("cov.building", { label: b.label, compound: b.compound_name }) }),
      el("p", { text: `${t("cov.building.hh", { households: b.households })} · ${t(b.covered
        ? "cov.building.covered" : "cov.building.not_covered")}`, attrs: { "data-covered": String(b.covered) } }));
    const list = el("ul");
    ["any", ...KINDS].forEach((kind) => list.append(el("li", {
      attrs: { "data-kind": kind },
      text: t("cov.building.walk", { kind: kind === "any" ? t("cov.siting.any") : t(`cov.kind.${kind}`),
        walk: metres(b[`walk_${kind}_m`]), straight: metres(b[`straight_${kind}_m`]), site: b[`walk_${kind}_site`] || "—" }),
    })));
    body.append(list);
  }
  L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(body).openOn(state.map);
}

function onMapClick(/** @type {L.LeafletMouseEvent} */ event) {
  if (!allowed() || !state.summary) return;
  const hits = featuresAt(state.map, state.layers, event.latlng, ["buildings"]);
  const gap = state.gaps && hitGap(event.latlng);
  const id = hits[0]?.properties.id ?? gap;
  if (id != null) buildingPopup(event.latlng, String(id));
}

function hitGap(/** @type {L.LatLng} */ latlng) {
  let found = null;
  state.gaps.eachLayer((/** @type {any} */ lyr) => {
    if (!found && lyr.getBounds().contains(latlng)) found = lyr.feature.properties.ext_id;
  });
  return found;
}

async function recommend(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const form = new FormData(els.siting);
  say(els.sitingStatus, "cov.siting.running");
  els.sitingList.replaceChildren();
  state.picks.clearLayers();
  try {
    const body = { k: Number(form.get("k")), against: String(form.get("against")),
      ...(state.spec ? { threshold: state.spec } : {}) };
    const { data } = await request("POST", "/api/coverage/siting", { body });
    say(els.sitingStatus, data.recommendations.length ? "cov.siting.done" : "cov.siting.none", {
      gain: fmt(data.newly_covered_households), before: fmt(data.uncovered_households_before),
      after: fmt(data.uncovered_households_after) });
    data.recommendations.forEach((/** @type {any} */ r) => {
      els.sitingList.append(el("li", { attrs: { "data-key": r.key },
        text: t("cov.siting.item", { key: r.key, name: r.name, gain: fmt(r.gain_households) }) }));
      L.circleMarker([r.lat, r.lon], { radius: 9, color: "#b10026", weight: 3, fillColor: "#fff", fillOpacity: 0.9,
        className: "cov-pick" }).bindTooltip(textSpan(`${r.rank}. ${r.name} +${r.gain_households}`))
        .addTo(state.picks);
    });
  } catch (err) {
    say(els.sitingStatus, "cov.failed", { message: describeError(err) }, "error");
  }
}

async function makeReport(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const format = String(new FormData(els.report).get("format"));
  els.reportLink.hidden = true;
  els.reportProgress.hidden = false;
  els.reportProgress.removeAttribute("value");
  say(els.reportStatus, "cov.report.queued");
  try {
    const { data } = await request("POST", "/api/coverage/reports",
      { body: { format, ...(state.spec ? { threshold: state.spec } : {}) } });
    let job = data;
    state.job = job;
    while (!job.done) {
      await new Promise((r) => setTimeout(r, 400));
      job = await getJson(`/api/jobs/${job.id}`);
      state.job = job;
      const p = job.progress;
      if (p.total) {
        els.reportProgress.max = p.total;
        els.reportProgress.value = p.done;
        say(els.reportStatus, "cov.report.progress", { message: p.message || "", done: p.done, total: p.total });
      }
    }
    els.reportProgress.hidden = true;
    if (job.status !== "succeeded") {
      say(els.reportStatus, "cov.report.failed", { message: job.error?.message || job.status }, "error");
      return;
    }
    say(els.reportStatus, "cov.report.done", { bytes: fmt(job.result.bytes) });
    els.reportLink.href = job.result.download;
    els.reportLink.hidden = false;
  } catch (err) {
    els.reportProgress.hidden = true;
    say(els.reportStatus, "cov.report.failed", { message: describeError(err) }, "error");
  }
}

function applyUser() {
  const ok = allowed();
  els.gate.hidden = ok;
  els.work.hidden = !ok;
  const user = currentUser();
  els.gateText.textContent = user.authenticated && !ok
    ? t("cov.gate_role", { role: t(`userrole.${user.role}`) }) : t("cov.gate");
  els.gateLogin.hidden = user.authenticated;
  if (ok && !state.summary) compute();
}

function relabelStatus() {
  [els.status, els.sitingStatus, els.reportStatus].forEach((node) => {
    if (node.dataset.key) node.textContent = t(node.dataset.key, JSON.parse(node.dataset.params || "{}"));
  });
  renderSummary();
}

async function boot() {
  initChrome();
  applyTo(document);
  const account = initAccount(/** @type {HTMLElement} */ ($("account")), { coverageLink: false });
  els.gateLogin.addEventListener("click", () => account.openLogin());
  state.map = createMap("cov-map");
  KINDS.forEach((kind) => {
    state.areas[kind] = L.geoJSON(undefined, { style: () => areaStyle(kind) });
  });
  state.gaps = L.geoJSON(undefined, { style: () => ({ color: "#67000d", weight: 1, fillColor: "#e31a1c",
    fillOpacity: 0.8, className: "cov-gap" }), interactive: false });
  state.picks = L.layerGroup();
  onUserChange(() => applyUser());
  const session = initSession();
  let config;
  try {
    config = await mapConfig();
  } catch (err) {
    state.map.setView(NIUSHIKOU, 15);
    showBanner("error.config", { message: describeError(err) });
    return { loaded: [] };
  }
  if (!hasStoredChoice() && config.default_language) setLang(config.default_language, { remember: false });
  const extra = [
    ...KINDS.map((kind) => ({ name: `cov_areas_${kind}`, layer: state.areas[kind], i18nKey: `cov.layer.areas_${kind}` })),
    { name: "cov_gaps", layer: state.gaps, i18nKey: "cov.layer.gaps" },
    { name: "cov_picks", layer: state.picks, i18nKey: "cov.layer.siting" },
  ];
  [state.areas.outpost, state.gaps, state.picks].forEach((layer) => layer.addTo(state.map));
  const base = buildLayers(state.map, config, { names: BASE_LAYERS, onFeatureClick: () => {},
    interactive: () => false, visible: (cfg) => cfg.name !== "walk_edges", first: extra });
  state.layers = base.layers;
  wireLabels(state.map, state.layers, { onLanguage: relabelStatus });
  if (config.extent) {
    const [minx, miny, maxx, maxy] = config.extent;
    state.map.fitBounds([[miny, minx], [maxy, maxx]], { padding: [10, 10] });
  } else {
    state.map.setView(NIUSHIKOU, 15);
  }
  state.map.on("click", onMapClick);
  state.loader = startLoader(state.map, base, { pageSize: config.layer_max_features || 1000 });
  // Grids loaded as the view moves are shaded too.
  state.layers.micro_grids?.on("layeradd", () => queueMicrotask(shade));
  els.form.addEventListener("submit", (e) => { e.preventDefault(); compute(); });
  els.siting.addEventListener("submit", recommend);
  els.report.addEventListener("submit", makeReport);
  onLangChange(() => applyUser());
  await session;
  await state.loader.settled();
  return { loaded: Object.keys(state.layers) };
}

state.ready = boot().catch((err) => {
  showBanner("error.config", { message: String(err) });
  return { loaded: [], error: String(err) };
});
