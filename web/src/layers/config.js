// @ts-check
// The layer registry as the server describes it in /api/map-config (`layers`): titles, key, fields with labels and
// privacy, and how each layer is drawn (pane order, minimum zoom, labels, styles, legend, identify order). The
// pages name no layer, field label or colour themselves: a new layer is one server-side entry.

import { lang } from "../lib/i18n.js";

/**
 * @typedef {{zh: string, en: string}} Text
 * @typedef {{name: string, type: string, label: Text, private: boolean, values?: {[value: string]: Text}}} Field
 * @typedef {{field: string, min_zoom: number, offset: [number, number]}} Label
 * @typedef {{label: Text, style: L.PathOptions, area?: boolean, symbol?: string}} LegendEntry
 * @typedef {{
 *   z_index: number, visible: boolean, interactive: boolean, min_zoom: number, label: Label | null,
 *   identify_rank: number | null, style: L.PathOptions, symbol: string | null, legend: LegendEntry[],
 *   style_by: {field: string, values: {[value: string]: L.PathOptions}} | null,
 * }} MapHints
 * @typedef {{
 *   name: string, title: Text, geometry: "polygon" | "line" | "point", key: string, count: number,
 *   history?: boolean, map: MapHints, fields: Field[],
 * }} LayerConfig
 * @typedef {{
 *   tile_url: string | null, tile_attribution: string, default_language: string, layer_max_features: number,
 *   extent: [number, number, number, number] | null, layers: LayerConfig[],
 * }} MapConfig
 */

/**
 * A server text ({zh, en}) in the current language (Chinese when the other is missing).
 * @param {Text | string | null | undefined} text
 * @returns {string}
 */
export function localText(text) {
  if (!text) return "";
  if (typeof text === "string") return text;
  return (lang() === "en" && text.en) || text.zh || text.en || "";
}

/**
 * The field `name` of a layer, if the server lists it.
 * @param {LayerConfig | undefined} layer
 * @param {string} name
 * @returns {Field | undefined}
 */
export function fieldOf(layer, name) {
  return layer?.fields.find((f) => f.name === name);
}

/**
 * The label of a field (its name when unknown).
 * @param {LayerConfig | undefined} layer
 * @param {string} name
 */
export function fieldLabel(layer, name) {
  const field = fieldOf(layer, name);
  return field ? localText(field.label) : name;
}

/**
 * The label of a coded value (a site kind, a bank side), or the value itself.
 * @param {LayerConfig | undefined} layer
 * @param {string} field
 * @param {unknown} value
 */
export function valueLabel(layer, field, value) {
  const text = fieldOf(layer, field)?.values?.[String(value)];
  return text ? localText(text) : String(value ?? "");
}

/**
 * The layers that answer "what is here?", finest first.
 * @param {LayerConfig[]} layers
 * @returns {string[]}
 */
export function identifyOrder(layers) {
  return layers.filter((l) => l.map.identify_rank !== null && l.map.identify_rank !== undefined)
    .sort((a, b) => Number(a.map.identify_rank) - Number(b.map.identify_rank))
    .map((l) => l.name);
}

/**
 * The Leaflet path style of one feature: the layer's base style with its `style_by` value merged over it.
 * @param {LayerConfig} layer
 * @param {{properties?: {[key: string]: unknown}} | undefined} feature
 * @returns {L.PathOptions}
 */
export function featureStyle(layer, feature) {
  const by = layer.map.style_by;
  const extra = by ? by.values[String(feature?.properties?.[by.field])] : undefined;
  return { ...layer.map.style, ...(extra || {}) };
}
