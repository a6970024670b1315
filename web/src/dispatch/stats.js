// The statistics tab: incidents per community, general grid, micro-grid, category or local calendar period
// (GET /api/incidents/stats, the caller's incidents only), for a range of local (Beijing) dates, as a table with
// the total row, and the same table as a CSV file for Excel (UTF-8 with BOM). The numbers are the API's; the page
// only formats them.

import { incidentStats } from "./api.js";
import { categoryPathOf, describe, esc, showStatus } from "./format.js";
import { onLangChange, t } from "../lib/i18n.js";
import { saveFile } from "../lib/ui.js";

export const GROUPINGS = ["community", "general", "micro", "category", "month", "week", "day"];
const COLUMNS = ["total", "open", "closed", "rejected", "median_dispatch_min", "median_close_min", "overdue",
  "overdue_share", "red_now"];
const BEIJING = "+08:00";

/** The day after an ISO date (YYYY-MM-DD): the exclusive end of an inclusive date range. */
export function nextDay(date) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

function cell(row, column) {
  const value = row[column];
  if (value === null || value === undefined) return "";
  if (column === "overdue_share") return `${(value * 100).toFixed(1)} %`;
  return String(value);
}

function groupName(by, row) {
  if (!row.key) return t("stats.all");
  if (by === "category") return categoryPathOf(row.key);
  return row.name || row.key;
}

export function initStats({ form, table, status, exportButton }) {
  // body: the last answer shown; asked: the request it answered (by, from, to as typed).
  const state = { body: null, asked: null, ticket: 0, loads: 0 };
  const by = form.elements.namedItem("by");

  const setStatus = (s) => showStatus(status, s);

  function fillGroupings() {
    const keep = by.value || "community";
    by.innerHTML = GROUPINGS.map((g) => `<option value="${g}">${esc(t(`stats.by.${g}`))}</option>`).join("");
    by.value = keep;
  }

  function header() {
    return `<tr><th>${esc(t(`stats.by.${state.asked?.by || by.value}`))}</th>` +
      COLUMNS.map((c) => `<th class="num">${esc(t(`stats.col.${c}`))}</th>`).join("") + "</tr>";
  }

  function rowHtml(groupBy, row, total = false) {
    const name = groupName(groupBy, row);
    const key = row.key && row.key !== name ? `<span class="stats-key">${esc(row.key)}</span>` : "";
    return `<tr class="${total ? "stats-total" : "stats-row"}" data-key="${esc(row.key || "")}">` +
      `<th scope="row">${esc(name)}${key}</th>` +
      COLUMNS.map((c) => `<td class="num stats-${c.replaceAll("_", "-")}">${esc(cell(row, c))}</td>`).join("") +
      "</tr>";
  }

  function render() {
    const body = state.body;
    const thead = `<thead>${header()}</thead>`;
    if (!body) {
      table.innerHTML = thead;
      exportButton.disabled = true;
      return;
    }
    const rows = body.groups.map((g) => rowHtml(body.by, g)).join("");
    const empty = body.groups.length ? "" : `<tr><td colspan="${COLUMNS.length + 1}" class="stats-empty">` +
      `${esc(t("stats.empty"))}</td></tr>`;
    table.innerHTML = `${thead}<tbody>${rows}${empty}</tbody><tfoot>${rowHtml(body.by, body.all, true)}</tfoot>`;
    exportButton.disabled = false;
  }

  function range() {
    const from = form.elements.namedItem("from").value;
    const to = form.elements.namedItem("to").value;
    if (from && to && from > to) return { error: t("stats.bad_range") };
    return {
      from: from ? `${from}T00:00:00${BEIJING}` : null,
      to: to ? `${nextDay(to)}T00:00:00${BEIJING}` : null,
    };
  }

  async function load() {
    const { error, from, to } = range();
    if (error) {
      setStatus({ text: error, kind: "error" });
      return;
    }
    const asked = { by: by.value, from, to };
    const ticket = ++state.ticket;
    setStatus({ text: t("audit.loading"), kind: "info" });
    try {
      const body = await incidentStats(asked);
      if (ticket !== state.ticket) return;
      state.body = body;
      state.asked = asked;
      render();
      setStatus({ text: t("stats.summary", { total: body.all.total, groups: body.groups.length }), kind: "" });
    } catch (err) {
      if (ticket !== state.ticket) return;
      setStatus({ text: t("stats.err", { message: describe(err) }), kind: "error" });
    } finally {
      if (ticket === state.ticket) state.loads += 1;
    }
  }

  function toCsv() {
    const body = state.body;
    const quote = (v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
    const head = [t(`stats.by.${body.by}`), t("stats.col.key"), ...COLUMNS.map((c) => t(`stats.col.${c}`))];
    const line = (row) => [groupName(body.by, row), row.key || "", ...COLUMNS.map((c) => cell(row, c))];
    const lines = [head, ...body.groups.map(line), line(body.all)];
    return `\ufeff${lines.map((l) => l.map((v) => quote(String(v))).join(",")).join("\r\n")}\r\n`;
  }

  function download() {
    if (!state.body) return;
    saveFile(`gisgrid-stats-${state.body.by}-${state.body.at.slice(0, 10)}.csv`, toCsv());
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  by.addEventListener("change", () => load());
  exportButton.addEventListener("click", download);
  onLangChange(() => {
    fillGroupings();
    render();
  });
  fillGroupings();
  render();
  window.gisgridDispatchStats = state;
  return {
    load,
    /** Load once when the tab is first opened. */
    opened() {
      if (!state.body && !state.ticket) load();
    },
    clear() {
      Object.assign(state, { body: null, asked: null });
      state.ticket += 1;
      setStatus(null);
      render();
    },
    state,
  };
}
