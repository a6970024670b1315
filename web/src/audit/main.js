// The audit page (/static/audit.html): the audit trail as a table, newest first, filtered by actor, action,
// entity and key, a page of `limit` rows at a time. Only admin and auditor may read it: the API answers 401/403
// to everyone else, and the page then asks for the right log-in. The filters live in the URL, so a filtered view
// can be bookmarked or linked to.

import "./strings.js";
import { initAccount } from "../lib/account.js";
import { auditEntries } from "../lib/api.js";
import { applyTo, onLangChange, t } from "../lib/i18n.js";
import { esc } from "../lib/html.js";
import { initSession, onUserChange } from "../lib/session.js";
import { initChrome } from "../lib/ui.js";

const FILTERS = ["actor", "action", "entity", "key"];
const LIMITS = [25, 50, 100, 200];

const form = document.getElementById("audit-filters");
const els = {
  rows: document.getElementById("audit-rows"),
  status: document.getElementById("audit-status"),
  range: document.getElementById("audit-range"),
  prev: document.getElementById("audit-prev"),
  next: document.getElementById("audit-next"),
};
// rows: the page shown; status: a message kept as an i18n key so it follows the language switch;
// loads: how many loads have finished (for tests and the console, as window.gisgridAudit).
const state = { filters: {}, limit: 50, offset: 0, rows: [], status: null, ticket: 0, loads: 0 };
window.gisgridAudit = state;

function pad(n) {
  return String(n).padStart(2, "0");
}

/** Local time as 2024-05-01 09:30:05: sortable, and the same in both languages. */
function localTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function json(value) {
  return value === null || value === undefined ? "" : `<code>${esc(JSON.stringify(value))}</code>`;
}

function changeHtml(entry) {
  if (entry.before == null && entry.after == null) return "";
  const before = entry.before == null ? `<span class="arrow">∅</span>` : json(entry.before);
  return `<span class="before">${before}</span><span class="arrow">→</span>` +
    `<span class="after">${json(entry.after)}</span>`;
}

function rowHtml(e) {
  return `<tr data-id="${esc(e.id)}">` +
    `<td class="at" title="${esc(e.at)}">${esc(localTime(e.at))}</td>` +
    `<td class="actor">${esc(e.actor)}</td><td class="role">${esc(e.role)}</td><td class="ip">${esc(e.ip)}</td>` +
    `<td class="action">${esc(e.action)}</td><td class="entity">${esc(e.entity)}</td>` +
    `<td class="key">${esc(e.key)}</td><td class="change">${changeHtml(e)}</td>` +
    `<td class="detail">${json(e.detail)}</td></tr>`;
}

function render() {
  const s = state.status;
  els.status.hidden = !s;
  els.status.className = `audit-status${s && s.kind === "error" ? " error" : ""}`;
  els.status.textContent = s ? t(s.key, s.params) : "";
  els.rows.innerHTML = state.rows.map(rowHtml).join("");
  els.range.textContent = state.rows.length
    ? t("audit.range", { from: state.offset + 1, to: state.offset + state.rows.length }) : "";
  els.prev.disabled = state.offset === 0;
  // The API gives no total: a full page means there may be more.
  els.next.disabled = state.rows.length < state.limit;
  document.title = `${t("audit.title")} · ${t("app.title")}`;
}

function setStatus(key, params = {}, kind = "info") {
  state.status = key ? { key, params, kind } : null;
}

async function load() {
  const ticket = ++state.ticket;
  setStatus("audit.loading");
  render();
  try {
    const rows = await auditEntries({ ...state.filters, limit: state.limit, offset: state.offset });
    if (ticket !== state.ticket) return;
    state.rows = rows;
    setStatus(rows.length ? null : "audit.empty");
  } catch (err) {
    if (ticket !== state.ticket) return;
    state.rows = [];
    if (err.status === 401 || err.status === 403) setStatus("audit.denied", {}, "error");
    else setStatus("audit.error", { message: err.describe ? err.describe() : String(err) }, "error");
  }
  state.loads += 1;
  render();
}

function readUrl() {
  const params = new URLSearchParams(window.location.search);
  FILTERS.forEach((name) => {
    form.elements.namedItem(name).value = params.get(name) || "";
  });
  const limit = Number(params.get("limit"));
  state.limit = LIMITS.includes(limit) ? limit : 50;
  form.elements.namedItem("limit").value = String(state.limit);
  state.offset = Math.max(0, Number.parseInt(params.get("offset"), 10) || 0);
}

function applyForm() {
  state.filters = Object.fromEntries(FILTERS.map((name) => [name, form.elements.namedItem(name).value.trim()])
    .filter(([, value]) => value));
  state.limit = Number(form.elements.namedItem("limit").value) || 50;
}

function writeUrl() {
  const params = new URLSearchParams(state.filters);
  if (state.limit !== 50) params.set("limit", String(state.limit));
  if (state.offset) params.set("offset", String(state.offset));
  const query = params.toString();
  window.history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
}

function go(offset) {
  state.offset = Math.max(0, offset);
  writeUrl();
  load();
}

function wire() {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    applyForm();
    go(0);
  });
  document.getElementById("audit-clear").addEventListener("click", () => {
    form.reset();
    applyForm();
    go(0);
  });
  document.getElementById("audit-refresh").addEventListener("click", () => load());
  els.prev.addEventListener("click", () => go(state.offset - state.limit));
  els.next.addEventListener("click", () => go(state.offset + state.limit));
  onLangChange(render);
  // Logging in (or out, or expiring) on this page changes what the API will show.
  onUserChange(() => go(0));
}

async function boot() {
  initChrome();
  applyTo(document);
  initAccount(document.getElementById("account"), { auditLink: false });
  readUrl();
  applyForm();
  await initSession();
  wire();
  await load();
}

boot();
