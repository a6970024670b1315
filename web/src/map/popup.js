// @ts-check
// Popup content: one section per feature, built in the current language at the moment it is shown, from the
// layer's fields as the server lists them (labels, types, coded values). Identity fields (the key, names, the
// level, the parent and the version) make the heading or stay out; everything else with a value is a row.

import { esc } from "../lib/html.js";
import { lang, t } from "../lib/i18n.js";
import { fieldLabel, localText, valueLabel } from "../layers/config.js";

/**
 * @typedef {import("../layers/config.js").LayerConfig} LayerConfig
 * @typedef {import("../layers/config.js").Field} Field
 * @typedef {{layer: string, properties: {[key: string]: any}}} Hit
 * @typedef {{canEdit?: (properties: {[key: string]: any}) => boolean}} PopupOptions
 */

// Never a row: they name the feature (heading) or only matter to the software.
const HIDDEN = new Set(["id", "name", "name_en", "label", "level", "parent_code", "version", "seq"]);

/** @param {unknown} value */
function isEmpty(value) {
  return value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0);
}

/** @param {{[key: string]: any}} worker */
function workerLabel(worker) {
  const role = t(`role.${worker.role}`);
  // The title is free Chinese text ("微网格员 楼栋长"); in Chinese it already says the role.
  const what = lang() === "zh" ? worker.title || role : worker.title ? `${role}, ${worker.title}` : role;
  // The API adds a (masked) phone only for logged-in users; anonymous visitors see names and roles.
  const phone = worker.phone ? ` <span class="worker-phone">${esc(worker.phone)}</span>` : "";
  return `<li><span class="worker-name">${esc(worker.name)}</span> <span class="worker-role">${esc(what)}</span>` +
    `${phone}</li>`;
}

/**
 * The cell of one field value, as HTML.
 * @param {LayerConfig | undefined} layer
 * @param {Field} field
 * @param {any} value
 */
function cellHtml(layer, field, value) {
  if (field.name === "workers" && Array.isArray(value)) return `<ul class="workers">${value.map(workerLabel).join("")}</ul>`;
  if (field.values) return esc(valueLabel(layer, field.name, value));
  if (Array.isArray(value)) {
    return field.name === "services"
      ? `<ul class="services">${value.map((s) => `<li>${esc(s)}</li>`).join("")}</ul>` : esc(value.join("、"));
  }
  if (field.type === "int" || field.type === "float") return esc(Number(value).toLocaleString(lang()));
  if (field.type === "json") return esc(JSON.stringify(value));
  return esc(value);
}

/**
 * @param {LayerConfig | undefined} layer
 * @param {{[key: string]: any}} p
 */
function headingName(layer, p) {
  if (p.name) return p.name;
  if (p.label) return [p.compound, p.label].filter(Boolean).join(" ");
  const kind = p.kind ? valueLabel(layer, "kind", p.kind) : "";
  return kind || p.code || p.id || "";
}

/**
 * The popup section for one feature of `layerName`; `canEdit(properties)` says whether to offer 修改.
 * @param {LayerConfig | undefined} layer
 * @param {string} layerName
 * @param {{[key: string]: any}} p
 * @param {PopupOptions} options
 */
export function sectionHtml(layer, layerName, p, { canEdit = () => false } = {}) {
  const title = layer ? localText(layer.title) : layerName;
  const english = lang() === "en" && p.name_en ? `<span class="popup-alt">${esc(p.name_en)}</span>` : "";
  const tag = `<span class="popup-tag" data-layer="${esc(layerName)}">${esc(title)}</span>`;
  const fields = layer ? layer.fields : Object.keys(p).map((name) => ({ name, type: "str", label: { zh: name, en: name },
    private: false }));
  const rows = fields.filter((f) => !HIDDEN.has(f.name) && !isEmpty(p[f.name]) && !(p.label && f.name === "compound"))
    .map((f) => `<tr><th>${esc(fieldLabel(layer, f.name))}</th><td>${cellHtml(layer, f, p[f.name])}</td></tr>`);
  // Shown only to roles that may edit this unit; the server refuses everyone else anyway.
  const edit = p.level && canEdit(p)
    ? `<div class="popup-actions"><button type="button" class="popup-edit" data-code="${esc(p.code)}">` +
      `${esc(t("edit.button"))}</button></div>`
    : "";
  return `<section class="popup-section" data-layer="${esc(layerName)}">` +
    `<header>${tag}<strong class="popup-name">${esc(headingName(layer, p))}</strong>${english}</header>` +
    `<table>${rows.join("")}</table>${edit}</section>`;
}

/**
 * A popup of several features (finest first), e.g. everything under one click.
 * @param {{[name: string]: LayerConfig}} layers
 * @param {Hit[]} hits
 * @param {PopupOptions} [options]
 */
export function popupHtml(layers, hits, options = {}) {
  return `<div class="gg-popup">${hits.map((h) => sectionHtml(layers[h.layer], h.layer, h.properties, options)).join("")}</div>`;
}
