// Intake, step one: where is it? Three ways in (a map click, pasted coordinates in a named system, a compound
// or building), each answered by GET /api/locate and shown as the grid panel: the path
// 街道 → 社区 → 一般网格 → 微网格, the responsible workers, the compound and building, the three nearest service
// sites by walking distance, the WGS 84 point and how far the input system was off. Coordinates are taken
// longitude first and never swapped or guessed: a wrong pair is sent as typed and the API's message says what
// is wrong.

import { lang, onLangChange, t } from "../lib/i18n.js";
import { findPlaces, locate } from "./api.js";
import { crsLabel, describe, esc, label, metres, showStatus } from "./format.js";

const LEVELS = ["subdistrict", "community", "general", "micro"];
const NUMBER = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)`;
// Two numbers separated by a comma (ASCII or full-width), a semicolon or spaces.
const PAIR = new RegExp(String.raw`^\s*(${NUMBER})\s*(?:[,，;；]|\s)\s*(${NUMBER})\s*$`);

/** "104.1077,30.6377" → {lon: 104.1077, lat: 30.6377}: the first number is the longitude, always; null if not two. */
export function parseCoords(text) {
  const match = PAIR.exec(text || "");
  if (!match) return null;
  return { lon: Number(match[1]), lat: Number(match[2]) };
}

function workerHtml(w) {
  const role = label(`role.${w.role}`, w.role);
  const what = lang() === "zh" ? w.title || role : w.title ? `${role}, ${w.title}` : role;
  const phone = w.phone ? ` <a class="worker-phone" href="tel:${esc(w.phone)}">${esc(w.phone)}</a>` : "";
  return `<li class="worker" data-role="${esc(w.role)}"><span class="worker-name">${esc(w.name)}</span> ` +
    `<span class="worker-role">${esc(what)}</span>${phone}</li>`;
}

function siteHtml(s) {
  return `<li class="site-item" data-site="${esc(s.id)}"><span class="site-name">${esc(s.name)}</span> ` +
    `<span class="site-kind">${esc(label(`site.${s.kind}`, s.kind))}</span> ` +
    `<span class="site-walk">${esc(t("dispatch.walk", { m: metres(s.walk_m) }))}</span></li>`;
}

function pathHtml(path) {
  const byLevel = Object.fromEntries(path.map((p) => [p.level, p]));
  return `<ol class="grid-path">${LEVELS.filter((l) => byLevel[l]).map((l) =>
    `<li data-level="${l}"><span class="path-level">${esc(t(`level.${l}`))}</span> ` +
    `<span class="path-name">${esc(byLevel[l].name)}</span> ` +
    `<code class="path-code">${esc(byLevel[l].code)}</code></li>`)
    .join("")}</ol>`;
}

function ambiguousHtml(answer) {
  if (!answer.ambiguous) return "";
  const items = answer.candidates.map((c) =>
    `<li data-code="${esc(c.code)}"><span class="cand-name">${esc(c.name)}</span> <code>${esc(c.code)}</code> ` +
    `<span class="cand-distance">${esc(c.covers ? t("dispatch.cand_inside") : metres(c.distance_m))}</span></li>`)
    .join("");
  return `<div class="ambiguous-notice" role="note"><strong>${esc(t("dispatch.ambiguous"))}</strong>` +
    `<ul>${items}</ul><small>${esc(t("dispatch.owner_rule", { name: answer.micro_grid.name }))}</small></div>`;
}

function placeHtml(answer) {
  if (!answer.compound && !answer.building) return esc(t("value.none"));
  const parts = [answer.compound?.name, answer.building?.label].filter(Boolean);
  return `<span class="compound-name">${esc(parts.join(" "))}</span>`;
}

function coordsHtml(answer) {
  const { input, wgs84 } = answer;
  const from = `${crsLabel(input.crs)} ${input.lon}, ${input.lat}`;
  const to = `WGS 84 ${wgs84.lon}, ${wgs84.lat}`;
  const shift = ["wgs84", "cgcs2000"].includes(input.crs) && wgs84.shift_m < 1 ? t("dispatch.no_shift")
    : t("dispatch.shift", { m: metres(wgs84.shift_m) });
  return `<p class="coords"><span class="coords-input">${esc(from)}</span> → ` +
    `<span class="coords-wgs84">${esc(to)}</span> <span class="coords-shift">${esc(shift)}</span></p>`;
}

/** The grid panel for a locate answer. */
export function gridPanelHtml(answer, { placeNote = null } = {}) {
  const micro = answer.micro_grid;
  const workers = answer.workers.length ? `<ul class="workers">${answer.workers.map(workerHtml).join("")}</ul>`
    : esc(t("value.none"));
  const sites = answer.nearest_sites.length
    ? `<ol class="nearest-sites">${answer.nearest_sites.map(siteHtml).join("")}</ol>`
    : `<p>${esc(t("dispatch.no_sites"))}</p>`;
  const note = placeNote ? `<p class="place-note">${esc(placeNote)}</p>` : "";
  return `${ambiguousHtml(answer)}` +
    `<h3 class="grid-title"><span class="micro-name">${esc(micro.name)}</span> ` +
    `<code class="micro-code">${esc(micro.code)}</code></h3>${note}` +
    `${pathHtml(answer.path)}` +
    `<table class="grid-facts">` +
    `<tr><th>${esc(t("field.workers"))}</th><td>${workers}</td></tr>` +
    `<tr><th>${esc(t("dispatch.compound"))}</th><td class="grid-compound">${placeHtml(answer)}</td></tr>` +
    `</table>` +
    `<h4>${esc(t("dispatch.nearest_sites"))}</h4>${sites}` +
    coordsHtml(answer);
}

function placeLabel(c) {
  return [c.compound, c.building].filter(Boolean).join(" ");
}

function placeResultHtml(c, i) {
  const aliases = (c.aliases || []).length ? `<span class="place-aliases">${esc(c.aliases.join("、"))}</span>` : "";
  const missing = c.building_not_found
    ? `<span class="place-missing">${esc(t("dispatch.building_missing", { b: c.building_not_found }))}</span>` : "";
  return `<li><button type="button" class="place-result" data-index="${i}">` +
    `<span class="place-name">${esc(placeLabel(c))}</span>${aliases}${missing}</button></li>`;
}

/**
 * Wire the intake forms. `onLocated(answer, origin)` gets each successful locate ({kind, place?}); `onFailed()`
 * when a locate failed (the panel then shows why); `allowed()` says whether the user may use the page now.
 */
export function initLocate({ onLocated, onFailed, allowed }) {
  const els = {
    form: document.getElementById("locate-form"),
    coords: document.getElementById("locate-coords"),
    crs: document.getElementById("locate-crs"),
    placeForm: document.getElementById("place-form"),
    placeQ: document.getElementById("place-q"),
    places: document.getElementById("place-results"),
    status: document.getElementById("locate-status"),
    panel: document.getElementById("grid-panel"),
  };
  // status: {key, params, kind} or {text, kind} (an API message is shown as the API wrote it).
  const state = { answer: null, origin: null, status: null, places: [], ticket: 0, placeTicket: 0 };

  const renderStatus = () => showStatus(els.status, state.status);
  const renderPanel = () => {
    els.panel.hidden = !state.answer;
    const place = state.origin?.place;
    const note = place?.building_not_found ? t("dispatch.building_missing", { b: place.building_not_found }) : null;
    els.panel.innerHTML = state.answer ? gridPanelHtml(state.answer, { placeNote: note }) : "";
  };
  const setStatus = (status) => {
    state.status = status;
    renderStatus();
  };

  async function run(point, origin) {
    if (!allowed()) return;
    const ticket = ++state.ticket;
    setStatus({ key: "dispatch.locating", kind: "info" });
    try {
      const answer = await locate(point);
      if (ticket !== state.ticket) return;
      Object.assign(state, { answer, origin });
      setStatus(null);
      renderPanel();
      onLocated(answer, origin);
    } catch (err) {
      if (ticket !== state.ticket) return;
      Object.assign(state, { answer: null, origin: null });
      renderPanel();
      // The API's own words: a swapped pair, an unknown system, a point outside every grid (with the nearest).
      const nearest = err.details?.nearest;
      const text = nearest
        ? `${describe(err)} ${t("dispatch.nearest_grid", { name: nearest.name, code: nearest.code,
          m: metres(nearest.distance_m) })}`
        : describe(err);
      setStatus({ text, kind: "error" });
      onFailed(err);
    }
  }

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const pair = parseCoords(els.coords.value);
    if (!pair) return setStatus({ key: "dispatch.coords_invalid", kind: "error" });
    return run({ ...pair, crs: els.crs.value }, { kind: "coords" });
  });

  const showPlaces = (html) => {
    els.places.innerHTML = html;
    els.places.hidden = html === "";
  };
  els.placeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = els.placeQ.value.trim();
    if (!q || !allowed()) return showPlaces("");
    const ticket = ++state.placeTicket;
    try {
      const found = await findPlaces(q);
      if (ticket !== state.placeTicket) return;
      state.places = found;
      showPlaces(found.length ? found.map(placeResultHtml).join("")
        : `<li class="place-empty">${esc(t("search.none", { q }))}</li>`);
    } catch (err) {
      if (ticket !== state.placeTicket) return;
      showPlaces(`<li class="place-error" role="alert">${esc(describe(err))}</li>`);
    }
  });
  els.places.addEventListener("click", (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest(".place-result");
    if (!button) return;
    const place = state.places[Number(button.dataset.index)];
    showPlaces("");
    run({ lon: place.lon, lat: place.lat, crs: place.crs || "wgs84" }, { kind: "place", place });
  });

  onLangChange(() => {
    renderStatus();
    renderPanel();
    if (!els.places.hidden && state.places.length) showPlaces(state.places.map(placeResultHtml).join(""));
  });

  return {
    /** Locate a WGS 84 point (a map click). */
    locateLatLng(latlng) {
      const round = (v) => Math.round(v * 1e7) / 1e7;
      return run({ lon: round(latlng.lng), lat: round(latlng.lat), crs: "wgs84" }, { kind: "click" });
    },
    current: () => state.answer && { answer: state.answer, origin: state.origin },
    clear() {
      Object.assign(state, { answer: null, origin: null, places: [] });
      state.ticket += 1;
      setStatus(null);
      renderPanel();
      showPlaces("");
    },
    /** Show a message (a key) in the intake status line. */
    say(key, kind = "info") {
      setStatus(key ? { key, kind } : null);
    },
  };
}

export { placeLabel };
