// @ts-check
// History: the selected grid's versions (who, when, why, from what: import, edit, revert), each drawable on the
// map, and a 撤销 (revert) on the generation that began it — which makes a draft restoring the state before it, to
// check in the preview and save. And the time slider: one stop per grid generation; the map then shows the grids
// as they were after that generation (the layer API's `at`), and editing waits until it is back at 现在.

import { describeError } from "../layers/basemap.js";
import { el } from "../lib/html.js";
import { onLangChange, t } from "../lib/i18n.js";
import * as api from "./api.js";

/**
 * Local time as 2024-05-01 09:30:15 (the same in both languages, sortable).
 * @param {string | null | undefined} iso
 */
export function localTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:` +
    `${p(d.getSeconds())}`;
}

/**
 * @param {L.Map} map
 * @param {{list: HTMLElement, status: HTMLElement, range: HTMLInputElement, rangeLabel: HTMLElement,
 *   now: HTMLElement, canRevert: () => boolean, onRevert: (changeSet: any) => void,
 *   onAt: (at: string | null) => void}} options
 */
export function createHistory(map, { list, status, range, rangeLabel, now, canRevert, onRevert, onAt }) {
  const shape = L.layerGroup().addTo(map);
  /** @type {{code: string | null, versions: any[], shown: number | null, generations: any[], ticket: number,
   *   message: {key: string, params?: any, kind?: string} | null}} */
  const state = { code: null, versions: [], shown: null, generations: [], ticket: 0, message: null };

  const say = (/** @type {string | null} */ key, params = {}, kind = "info") => {
    state.message = key ? { key, params, kind } : null;
    status.hidden = !key;
    status.className = `plan-status${key ? ` ${kind}` : ""}`;
    status.textContent = key ? t(key, params) : "";
  };

  /** @param {any} v */
  const draw = (v) => {
    shape.clearLayers();
    state.shown = v ? v.version : null;
    if (!v) return;
    const layer = L.geoJSON(v.geometry, { pane: "plan-grid", interactive: false, style: { className: "plan-version",
      color: "#6a1b9a", weight: 3, dashArray: "2 6", fillColor: "#ce93d8", fillOpacity: 0.15 } }).addTo(shape);
    map.fitBounds(layer.getBounds(), { maxZoom: 19, padding: [40, 40], animate: false });
  };

  /** @param {any} v */
  const revert = async (v) => {
    say("plan.reverting");
    try {
      const cs = await api.revertGeneration(v.generation_id, t("plan.revert_reason", { id: v.generation_id }));
      say(null);
      onRevert(cs);
    } catch (err) {
      say("plan.revert_failed", { message: describeError(err) }, "error");
    }
  };

  const render = () => {
    list.replaceChildren(...state.versions.map((v) => {
      const source = t(`plan.source.${v.source}`) === `plan.source.${v.source}` ? v.source : t(`plan.source.${v.source}`);
      const show = el("button", { text: t(state.shown === v.version ? "plan.hide" : "plan.show"),
        attrs: { type: "button", "aria-pressed": String(state.shown === v.version), "data-action": "show" } });
      show.addEventListener("click", () => {
        draw(state.shown === v.version ? null : v);
        render();
      });
      const item = el("li", { className: "plan-version-item", attrs: { "data-version": String(v.version),
        "data-generation": String(v.generation_id ?? "") } },
      el("div", { className: "plan-version-head" }, el("strong", { text: t("plan.version", { v: v.version }) }), " ",
        el("span", { className: "plan-muted", text: `${localTime(v.valid_from)} – ${v.valid_to ? localTime(v.valid_to)
          : t("plan.current")}` })),
      el("div", {}, el("span", { text: v.created_by || t("plan.system") }), " · ", el("span", { text: source }),
        v.reason ? " · " : null, v.reason ? el("q", { text: v.reason }) : null),
      el("div", { className: "plan-muted", text: `${v.name} · ${t("plan.households_n", { n: v.households })}` }),
      el("div", { className: "plan-version-actions" }, show));
      // A first version loaded by an import or the demo has no earlier state to go back to.
      const revertible = v.generation_id && (v.version > 1 || ["edit", "revert"].includes(v.source));
      if (revertible && canRevert()) {
        const undo = el("button", { text: t("plan.revert"), attrs: { type: "button", "data-action": "revert",
          title: t("plan.revert_title", { id: v.generation_id }) } });
        undo.addEventListener("click", () => revert(v));
        item.querySelector(".plan-version-actions")?.append(undo);
      }
      return item;
    }));
  };

  const renderRange = () => {
    const n = state.generations.length;
    range.max = String(Math.max(n - 1, 0));
    range.disabled = n < 2;
    const g = state.generations[Number(range.value)];
    const latest = Number(range.value) >= n - 1;
    rangeLabel.textContent = g ? t(latest ? "plan.asof_latest" : "plan.asof_at", { id: g.id, at: localTime(g.created_at),
      who: g.created_by || t("plan.system"), reason: g.reason || "" }) : "";
    now.hidden = latest;
  };

  /** The map time for stop `i`: after generation i = before the next one began (null = now). */
  const atOf = (/** @type {number} */ i) => (i >= state.generations.length - 1 ? null
    : state.generations[i + 1].created_at);

  // The map follows the slider once it rests (a drag across many stops reloads the grids once, not at each stop).
  /** @type {string | null} */
  let shownAt = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const follow = () => {
    clearTimeout(timer);
    const at = atOf(Number(range.value));
    if (at === shownAt) return;
    shownAt = at;
    onAt(at);
  };
  range.addEventListener("change", follow);
  range.addEventListener("input", () => {
    renderRange();
    clearTimeout(timer);
    timer = setTimeout(follow, 300);
  });
  now.addEventListener("click", () => {
    range.value = range.max;
    renderRange();
    follow();
  });
  onLangChange(() => {
    render();
    renderRange();
    if (state.message) say(state.message.key, state.message.params, state.message.kind);
  });

  return {
    /**
     * Show the versions of `code` (null: none selected).
     * @param {string | null} code
     */
    async load(code) {
      const ticket = ++state.ticket;
      Object.assign(state, { code, versions: [] });
      draw(null);
      render();
      if (!code) return say("plan.history_none");
      say("plan.loading");
      try {
        const versions = await api.gridHistory(code);
        if (ticket !== state.ticket) return;
        state.versions = versions;
        say(null);
        render();
      } catch (err) {
        if (ticket === state.ticket) say("plan.history_failed", { message: describeError(err) }, "error");
      }
    },
    /** Read the generations for the slider (kept at 现在). */
    async loadGenerations() {
      try {
        const page = await api.generations();
        state.generations = [...page.items].reverse();
        range.max = String(Math.max(state.generations.length - 1, 0));
        range.value = range.max;
        if (shownAt !== null) {
          shownAt = null;
          onAt(null);
        }
      } catch (err) {
        state.generations = [];
        rangeLabel.textContent = t("plan.history_failed", { message: describeError(err) });
        return;
      }
      renderRange();
    },
    render,
    clearShape: () => draw(null),
    state,
  };
}
