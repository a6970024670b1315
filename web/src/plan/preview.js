// @ts-check
// The draft's preview, as the server computed it: per grid the households, population and area before and after,
// the compounds changing micro-grid, the workers whose grids or load change, the open incidents in the area that
// changes hands (they keep the grid they were reported in), the grids whose coverage figures change, warnings and
// notes — in the side panel, as text; and on the map each changed micro-grid before (dashed) and after (solid),
// with the warnings' places.

import { el, textSpan } from "../lib/html.js";
import { lang, t } from "../lib/i18n.js";

/**
 * @typedef {{[key: string]: any}} Preview
 */

/** @param {number | null | undefined} n */
const num = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString(lang() === "en" ? "en" : "zh-CN"));

/**
 * "a → b", marked when it changes.
 * @param {number | null | undefined} before
 * @param {number | null | undefined} after
 * @param {(n: number | null | undefined) => string} [format]
 */
function change(before, after, format = num) {
  const cell = el("td", { className: "num" }, `${format(before)} → ${format(after)}`);
  if (before !== after) cell.classList.add("changed");
  return cell;
}

/** @param {number | null | undefined} m2 */
const area = (m2) => (m2 === null || m2 === undefined ? "—" : Math.round(Number(m2)).toLocaleString("en"));

/**
 * @param {string} key
 * @param {number} [count]
 */
const heading = (key, count) => el("h3", { text: count === undefined ? t(key) : t(key, { n: count }) });

/** @param {Preview} preview */
function unitsTable(preview) {
  const rows = [...preview.units].sort((a, b) => (a.level === "micro" ? 0 : 1) - (b.level === "micro" ? 0 : 1)
    || a.code.localeCompare(b.code));
  const body = el("tbody");
  rows.forEach((u) => {
    const name = el("th", { attrs: { scope: "row" } }, el("span", { className: "plan-unit-name", text: u.name }),
      el("code", { text: u.new_code ? `${u.code} → ${u.new_code}` : u.code }),
      el("span", { className: `plan-change plan-change-${u.change}`, text: t(`plan.change.${u.change}`) }));
    const tr = el("tr", { attrs: { "data-code": u.code, "data-level": u.level } }, name,
      change(u.households_before, u.households_after), change(u.population_before, u.population_after),
      change(u.area_m2_before, u.area_m2_after, area));
    body.append(tr);
  });
  const head = el("thead", {}, el("tr", {}, ...["plan.col.grid", "plan.col.households", "plan.col.population",
    "plan.col.area"].map((k) => el("th", { text: t(k) }))));
  return el("div", { className: "plan-scroll" }, el("table", { className: "plan-units" }, head, body));
}

/**
 * @param {HTMLElement[]} items
 * @param {string} className
 */
const list = (items, className) => el("ul", { className }, ...items);

/**
 * @param {Preview} preview
 * @param {(issue: any) => void} onLocate
 */
function issueList(preview, onLocate) {
  return list(preview.warnings.map((/** @type {any} */ w) => {
    const item = el("li", { className: "plan-warning", attrs: { "data-rule": w.rule } },
      el("strong", { text: w.title }), " ", el("span", { text: w.detail }),
      w.code ? el("code", { text: w.code }) : null);
    if (w.location) {
      const go = el("button", { className: "link-button", text: t("plan.locate"), attrs: { type: "button" } });
      go.addEventListener("click", () => onLocate(w));
      item.append(" ", go);
    }
    return item;
  }), "plan-warnings");
}

/**
 * Fill `container` with the preview (empty when there is none).
 * @param {HTMLElement} container
 * @param {Preview | null} preview
 * @param {{onLocate: (issue: any) => void}} handlers
 */
export function renderPreview(container, preview, { onLocate }) {
  container.replaceChildren();
  if (!preview) return;
  const parts = [heading("plan.preview"), unitsTable(preview)];
  if (preview.compounds_total) {
    parts.push(heading("plan.compounds", preview.compounds_total), list(preview.compounds.map((/** @type {any} */ c) =>
      el("li", { attrs: { "data-compound": c.ext_id } }, el("span", { text: c.name }), " ",
        el("code", { text: `${c.from ?? "—"} → ${c.to ?? "—"}` }), " ",
        el("span", { className: "plan-muted", text: t("plan.households_n", { n: num(c.households) }) }))),
    "plan-compounds"));
  }
  if (preview.buildings_moved) parts.push(el("p", { text: t("plan.buildings", { n: preview.buildings_moved }) }));
  if (preview.workers.length) {
    parts.push(heading("plan.workers", preview.workers.length), list(preview.workers.map((/** @type {any} */ w) =>
      el("li", { attrs: { "data-worker": w.ext_id } }, el("strong", { text: w.name }), " ",
        el("code", { text: `${w.grids_before.join(", ") || "—"} → ${w.grids_after.join(", ") || "—"}` }), " ",
        el("span", { className: "plan-muted", text: t("plan.load", { before: num(w.households_before),
          after: num(w.households_after) }) }))), "plan-workers"));
  }
  const incidents = el("section", { className: "plan-incidents" }, heading("plan.incidents", preview.incidents_total),
    el("p", { className: "plan-muted", text: t("plan.incidents_keep") }));
  if (preview.incidents.length) {
    incidents.append(list(preview.incidents.slice(0, 20).map((/** @type {any} */ i) =>
      el("li", {}, el("span", { text: `#${i.id} ${i.title}` }), " ",
        el("code", { text: i.micro_code || "—" }), " ", el("span", { className: "plan-muted", text: i.status }))),
    "plan-incident-list"));
  }
  parts.push(incidents);
  if (preview.coverage_changed.length) {
    parts.push(el("p", { className: "plan-coverage" }, t("plan.coverage"), " ",
      el("code", { text: preview.coverage_changed.join(", ") })));
  }
  if (preview.warnings.length) parts.push(heading("plan.warnings", preview.warnings.length), issueList(preview, onLocate));
  if (preview.notes.length) {
    parts.push(list(preview.notes.map((/** @type {string} */ n) => el("li", { text: n })), "plan-notes"));
  }
  container.append(...parts);
}

/**
 * Draw the changed micro-grids before (dashed) and after (solid) into `group`, and the warnings' places.
 * @param {L.LayerGroup} group
 * @param {Preview | null} preview
 */
export function drawPreview(group, preview) {
  group.clearLayers();
  if (!preview) return;
  preview.units.filter((/** @type {any} */ u) => u.level === "micro").forEach((/** @type {any} */ u) => {
    if (u.geometry_before) {
      L.geoJSON(u.geometry_before, { pane: "plan-grid", interactive: false, style: { className: "plan-before",
        color: "#546e7a", weight: 2, dashArray: "6 6", fill: false } }).addTo(group);
    }
    if (u.geometry_after) {
      const after = L.geoJSON(u.geometry_after, { pane: "plan-grid", style: { className: "plan-after",
        color: "#00897b", weight: 2.5, fillColor: "#4db6ac", fillOpacity: 0.15 } });
      after.bindTooltip(textSpan(`${u.name} (${u.code}) · ${t(`plan.change.${u.change}`)}`), { sticky: true });
      after.addTo(group);
    }
  });
  preview.warnings.filter((/** @type {any} */ w) => w.location).forEach((/** @type {any} */ w) => {
    const [lon, lat] = w.location.coordinates;
    L.circleMarker([lat, lon], { pane: "plan-handles", radius: 7, className: "plan-warning-mark", color: "#f9a825",
      weight: 3, fillColor: "#fff59d", fillOpacity: 0.8 })
      .bindTooltip(textSpan(`${w.title}: ${w.detail}`)).addTo(group);
  });
}
