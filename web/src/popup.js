// Popup content: one section per feature, built in the current language at the moment it is shown.

import { lang, t } from "./i18n.js";

const GRID_LAYERS = new Set(["subdistricts", "communities", "general_grids", "micro_grids"]);

/** Escape text for HTML: every value shown comes from the database. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function isEmpty(value) {
  return value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0);
}

function row(key, value, { raw = false } = {}) {
  if (isEmpty(value)) return "";
  return `<tr><th>${esc(t(key))}</th><td>${raw ? value : esc(value)}</td></tr>`;
}

function metres(value) {
  return isEmpty(value) ? null : t("unit.m", { n: Number(value).toLocaleString(lang()) });
}

function count(value) {
  return isEmpty(value) ? null : Number(value).toLocaleString(lang());
}

function heading(layerName, name, extra = "") {
  const tag = `<span class="popup-tag" data-layer="${esc(layerName)}">${esc(t(`layer.${layerName}`))}</span>`;
  return `<header>${tag}<strong class="popup-name">${esc(name)}</strong>${extra}</header>`;
}

function workerLabel(worker) {
  const role = t(`role.${worker.role}`);
  // The title is free Chinese text ("微网格员 楼栋长"); in Chinese it already says the role.
  const what = lang() === "zh" ? worker.title || role : worker.title ? `${role}, ${worker.title}` : role;
  // The API adds a (masked) phone only for logged-in users; anonymous visitors see names and roles.
  const phone = worker.phone ? ` <span class="worker-phone">${esc(worker.phone)}</span>` : "";
  return `<li><span class="worker-name">${esc(worker.name)}</span> <span class="worker-role">${esc(what)}</span>` +
    `${phone}</li>`;
}

function workersHtml(workers) {
  if (!Array.isArray(workers) || workers.length === 0) return null;
  return `<ul class="workers">${workers.map(workerLabel).join("")}</ul>`;
}

function gridSection(layerName, p, { canEdit }) {
  const english = lang() === "en" && p.name_en ? `<span class="popup-alt">${esc(p.name_en)}</span>` : "";
  // Shown only to roles that may edit this unit; the server refuses everyone else anyway.
  const edit = canEdit(p)
    ? `<div class="popup-actions"><button type="button" class="popup-edit" data-code="${esc(p.code)}">` +
      `${esc(t("edit.button"))}</button></div>`
    : "";
  return (
    heading(layerName, p.name, english) +
    "<table>" +
    row("field.code", p.code) +
    row("field.households", count(p.households)) +
    row("field.population", count(p.population)) +
    row("field.workers", workersHtml(p.workers), { raw: true }) +
    "</table>" +
    edit
  );
}

function specialSection(layerName, p) {
  return (
    heading(layerName, p.name) +
    "<table>" +
    row("field.kind", t(`special.${p.kind}`)) +
    row("field.code", p.code) +
    row("field.community", p.community_code) +
    "</table>"
  );
}

function compoundSection(layerName, p) {
  return (
    heading(layerName, p.name) +
    "<table>" +
    row("field.aliases", (p.aliases || []).join("、")) +
    row("field.households", count(p.households)) +
    row("field.population", count(p.population)) +
    row("field.buildings", count(p.buildings)) +
    "</table>"
  );
}

function buildingSection(layerName, p) {
  return (
    heading(layerName, [p.compound, p.label].filter(Boolean).join(" ")) +
    "<table>" +
    row("field.floors", count(p.floors)) +
    row("field.households", count(p.households)) +
    "</table>"
  );
}

function siteSection(layerName, p) {
  const services = (p.services || []).map((s) => `<li>${esc(s)}</li>`).join("");
  return (
    heading(layerName, p.name) +
    "<table>" +
    row("field.kind", t(`site.${p.kind}`)) +
    row("field.brand", p.brand) +
    row("field.services", services ? `<ul class="services">${services}</ul>` : null, { raw: true }) +
    row("field.opening_hours", p.opening_hours) +
    row("field.address", p.address) +
    "</table>"
  );
}

function bankSection(layerName, p) {
  return (
    heading(layerName, p.name || p.code) +
    "<table>" +
    row("field.code", p.code) +
    row("field.side", p.side ? t(`side.${p.side}`) : null) +
    row("field.length", metres(p.length_m)) +
    "</table>"
  );
}

function lineSection(layerName, p) {
  const kind = p.kind ? t(`walk.${p.kind}`) : null;
  return (
    heading(layerName, p.name || kind || p.id) +
    "<table>" +
    row("field.kind", kind) +
    row("field.width", metres(p.width_m)) +
    row("field.length", metres(p.length_m)) +
    "</table>"
  );
}

const SECTIONS = {
  special_grids: specialSection,
  compounds: compoundSection,
  buildings: buildingSection,
  sites: siteSection,
  bank_segments: bankSection,
  walk_edges: lineSection,
  rivers: lineSection,
};

const NEVER = () => false;

/** The popup section for one feature of `layerName`; `canEdit(properties)` says whether to offer 修改. */
export function sectionHtml(layerName, properties, { canEdit = NEVER } = {}) {
  const build = GRID_LAYERS.has(layerName) ? gridSection : SECTIONS[layerName] || lineSection;
  const body = build(layerName, properties, { canEdit });
  return `<section class="popup-section" data-layer="${esc(layerName)}">${body}</section>`;
}

/** A popup of several features (finest first), e.g. everything under one click. */
export function popupHtml(hits, options = {}) {
  return `<div class="gg-popup">${hits.map((h) => sectionHtml(h.layer, h.properties, options)).join("")}</div>`;
}
