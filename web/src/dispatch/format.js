// Small formatters shared by the dispatch page's modules: times, labels in the current language (falling back
// to the API's own bilingual label when the page has no word for a value), distances.

import { lang, t } from "../lib/i18n.js";
import { esc } from "../lib/html.js";

export { esc };

export const OPEN_STATUSES = ["reported", "filed", "dispatched", "handling", "handled", "verified"];
export const STATUSES = [...OPEN_STATUSES, "closed", "rejected"];

function pad(n) {
  return String(n).padStart(2, "0");
}

/** Local time as 2024-05-01 09:30: the same in both languages, sortable. */
export function localTime(iso, { seconds = false } = {}) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ""}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** t(key), or `fallback` when the page has no string for it (a value the API added later, say). */
export function label(key, fallback) {
  const text = t(key);
  return text === key ? fallback ?? key : text;
}

export function statusLabel(status, apiLabel) {
  return label(`incident.status.${status}`, apiLabel || status);
}

export function actionLabel(action, apiLabel) {
  return label(`incident.action.${action}`, apiLabel || action);
}

export function levelLabel(level) {
  return label(`incident.level.${level}`, level);
}

export function channelLabel(channel) {
  return label(`incident.channel.${channel}`, channel);
}

export function crsLabel(crs) {
  return label(`crs.short.${crs}`, crs);
}

// The categories from /api/incidents/meta, by code: a subcategory is shown with its parent.
const categories = new Map();

/** Remember the API's categories (for parent names). */
export function setCategories(list) {
  categories.clear();
  (list || []).forEach((c) => categories.set(c.code, c));
}

/** Every known category, each main category followed by its subcategories (for pickers). */
export function categoryList() {
  const all = [...categories.values()];
  return all.filter((c) => !c.parent_code)
    .flatMap((main) => [main, ...all.filter((c) => c.parent_code === main.code)]);
}

/** "城市管理 · 垃圾堆放" for a category code (the code itself when unknown). */
export function categoryPathOf(code) {
  return categories.has(code) ? categoryPath(categories.get(code)) : code;
}

/** A category's name in the current language ({code, name, name_en}). */
export function categoryName(category) {
  if (!category) return "";
  return (lang() === "en" && category.name_en) || category.name || category.code;
}

/** "城市管理 · 垃圾堆放": a subcategory with its parent (when the categories are known). */
export function categoryPath(category) {
  if (!category) return "";
  const parentCode = categories.get(category.code)?.parent_code;
  const parent = parentCode ? categories.get(parentCode) : null;
  return parent ? `${categoryName(parent)} · ${categoryName(category)}` : categoryName(category);
}

/** Whole metres, e.g. "44 米". */
export function metres(value) {
  return t("unit.m", { n: Math.round(Number(value)).toLocaleString(lang()) });
}

/** A message for an ApiError (or anything thrown). */
export function describe(err) {
  return err && err.describe ? err.describe() : String(err);
}

/** A status badge: the status colour (CSS class) and its label. */
export function statusBadge(status, apiLabel) {
  return `<span class="status-badge status-${esc(status)}">${esc(statusLabel(status, apiLabel))}</span>`;
}

/** A deadline dot (green / yellow / red / none) with its meaning as the title. */
export function deadlineDot(colour) {
  const c = ["green", "yellow", "red"].includes(colour) ? colour : "none";
  return `<span class="deadline-dot deadline-${c}" title="${esc(t(`incident.deadline.${c}`))}"></span>`;
}

/** Show a status line `s` ({key, params} or {text}, with kind info | success | error) in `el`, or hide it. */
export function showStatus(el, s) {
  el.hidden = !s;
  el.className = `dispatch-status${s && s.kind ? ` ${s.kind}` : ""}`;
  el.textContent = s ? (s.key ? t(s.key, s.params) : s.text) : "";
}
