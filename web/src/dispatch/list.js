// The incident list: filters (status, category with subcategories, community and general grid, deadline
// colour, title text), a page at a time with the API's total, and the whole filtered list as a CSV file. The
// map's incident layer follows the same filters.

import { lang, onLangChange, t } from "../lib/i18n.js";
import { incidentsCsvUrl, listIncidents } from "./api.js";
import { downloadUrl } from "../lib/ui.js";
import {
  OPEN_STATUSES,
  STATUSES,
  categoryName,
  categoryPath,
  deadlineDot,
  describe,
  esc,
  localTime,
  showStatus,
  statusBadge,
  statusLabel,
} from "./format.js";

export const PAGE_SIZE = 20;
const OVERDUE = ["yes", "yellow", "no"];

function options(list, selected) {
  return list.map(([value, text]) =>
    `<option value="${esc(value)}"${value === selected ? " selected" : ""}>${esc(text)}</option>`).join("");
}

function rowHtml(item, selectedId) {
  const grid = item.grid.micro_name || item.grid.micro_code || "";
  const selected = item.id === selectedId ? " selected" : "";
  return `<tr class="incident-row${selected}" data-id="${esc(item.id)}" tabindex="0">` +
    `<td class="col-id">${esc(item.id)}</td>` +
    `<td class="col-title"><span class="row-title">${esc(item.title)}</span>` +
    `<span class="row-category">${esc(categoryPath(item.category))}</span></td>` +
    `<td class="col-status">${statusBadge(item.status, item.status_label)} ${deadlineDot(item.step.colour)}</td>` +
    `<td class="col-grid" title="${esc(item.grid.micro_code || "")}">${esc(grid)}</td>` +
    `<td class="col-time">${esc(localTime(item.reported_at))}</td></tr>`;
}

function legendHtml() {
  const statuses = STATUSES.map((s) =>
    `<span class="legend-item"><span class="incident-dot status-${s}"></span>${esc(statusLabel(s))}</span>`).join("");
  const rings = ["yellow", "red"].map((c) =>
    `<span class="legend-item"><span class="incident-dot status-filed deadline-${c}"></span>` +
    `${esc(t(`incident.deadline.${c}`))}</span>`).join("");
  return `${statuses}${rings}`;
}

/**
 * Wire the list. `onPick(id)` opens an incident; `onFilters(filters)` hears every filter change (for the map);
 * `grids()` gives {communities, generals} ([{code, name}]) for the grid selects once the layers are loaded.
 */
export function initList({ onPick, onFilters, grids }) {
  const form = document.getElementById("list-filters");
  const el = (name) => form.elements.namedItem(name);
  const els = {
    rows: document.getElementById("incident-rows"),
    status: document.getElementById("list-status"),
    range: document.getElementById("list-range"),
    prev: document.getElementById("list-prev"),
    next: document.getElementById("list-next"),
    legend: document.getElementById("incident-legend"),
  };
  const state = { meta: null, filters: {}, offset: 0, page: null, status: null, ticket: 0, loads: 0, selected: null };

  function fillSelects() {
    const names = ["status", "category", "community", "general", "overdue"];
    const keep = Object.fromEntries(names.map((n) => [n, el(n).value]));
    el("status").innerHTML = options([["", t("dispatch.all")], ["open", t("dispatch.open")],
      ...STATUSES.map((s) => [s, statusLabel(s, state.meta?.statuses?.[s])])], keep.status);
    const cats = state.meta?.categories || [];
    const catOptions = cats.filter((c) => !c.parent_code).flatMap((main) => [
      [main.code, categoryName(main)],
      ...cats.filter((c) => c.parent_code === main.code).map((c) => [c.code, `\u3000└ ${categoryName(c)}`]),
    ]);
    el("category").innerHTML = options([["", t("dispatch.all")], ...catOptions], keep.category);
    const { communities, generals } = grids();
    el("community").innerHTML = options([["", t("dispatch.all")], ...communities.map((c) => [c.code, c.name])],
      keep.community);
    const inCommunity = generals.filter((g) => el("community").value && g.code.startsWith(el("community").value));
    el("general").innerHTML = options([["", t("dispatch.all")], ...inCommunity.map((g) => [g.code, g.name])],
      keep.general);
    el("general").disabled = !el("community").value;
    el("overdue").innerHTML = options([["", t("dispatch.all")],
      ...OVERDUE.map((o) => [o, t(`dispatch.overdue.${o}`)])], keep.overdue);
    els.legend.innerHTML = legendHtml();
  }

  function readForm() {
    const status = el("status").value;
    return {
      status: status === "open" ? OPEN_STATUSES : status ? [status] : [],
      category: el("category").value || null,
      grid: el("general").value || el("community").value || null,
      overdue: el("overdue").value || null,
      q: el("q").value.trim() || null,
    };
  }

  function render() {
    showStatus(els.status, state.status);
    const page = state.page;
    els.rows.innerHTML = page ? page.items.map((item) => rowHtml(item, state.selected)).join("") : "";
    els.range.textContent = page && page.items.length
      ? t("dispatch.range", { from: page.offset + 1, to: page.offset + page.items.length, total: page.total }) : "";
    els.prev.disabled = !page || state.offset === 0;
    els.next.disabled = !page || page.offset + page.items.length >= page.total;
  }

  async function load() {
    const ticket = ++state.ticket;
    state.status = { key: "audit.loading", kind: "info" };
    render();
    try {
      const page = await listIncidents(state.filters, { limit: PAGE_SIZE, offset: state.offset });
      if (ticket !== state.ticket) return;
      state.page = page;
      state.status = page.items.length ? null : { key: "dispatch.list_empty", kind: "info" };
    } catch (err) {
      if (ticket !== state.ticket) return;
      state.page = null;
      state.status = { text: t("dispatch.err.list", { message: describe(err) }), kind: "error" };
    } finally {
      if (ticket === state.ticket) state.loads += 1;
    }
    render();
  }

  function apply() {
    state.filters = readForm();
    state.offset = 0;
    onFilters(state.filters);
    return load();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  form.addEventListener("change", (event) => {
    if (event.target === el("community")) fillSelects();
    // Selects act at once; the title box waits for Enter or 筛选.
    if (/** @type {HTMLElement} */ (event.target).tagName === "SELECT") apply();
  });
  document.getElementById("list-clear").addEventListener("click", () => {
    form.reset();
    fillSelects();
    apply();
  });
  document.getElementById("list-export").addEventListener("click", () => {
    downloadUrl(incidentsCsvUrl(state.filters, lang()));
  });
  document.getElementById("list-refresh").addEventListener("click", () => {
    onFilters(state.filters);
    load();
  });
  els.prev.addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    load();
  });
  els.next.addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    load();
  });
  els.rows.addEventListener("click", (event) => {
    const tr = /** @type {HTMLElement} */ (event.target).closest("tr[data-id]");
    if (tr) onPick(Number(tr.dataset.id));
  });
  els.rows.addEventListener("keydown", (event) => {
    const tr = /** @type {HTMLElement} */ (event.target).closest("tr[data-id]");
    if (tr && event.key === "Enter") onPick(Number(tr.dataset.id));
  });
  onLangChange(() => {
    fillSelects();
    render();
  });

  window.gisgridDispatchList = state;
  return {
    setMeta(meta) {
      state.meta = meta;
      fillSelects();
    },
    gridsLoaded: fillSelects,
    filters: () => state.filters,
    load,
    /** Start over (a new log-in): the filters as they stand in the form, first page. */
    reset() {
      state.filters = readForm();
      state.offset = 0;
      return load();
    },
    clear() {
      state.ticket += 1;
      Object.assign(state, { page: null, status: null, offset: 0 });
      render();
    },
    select(id) {
      state.selected = id;
      render();
    },
  };
}
