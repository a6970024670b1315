// How each layer looks. The offline base (compounds, buildings, rivers, walking network) sits at the bottom;
// grid boundaries draw above it because they often follow roads and matter more to grid workers; river
// bank segments and service sites stay on top so they can be clicked. Legend swatches reuse these styles.

const GRID_LINE = {
  subdistricts: { color: "#6a1b9a", weight: 4, dashArray: null },
  communities: { color: "#c62828", weight: 3, dashArray: null },
  general_grids: { color: "#ef6c00", weight: 2, dashArray: "7 4" },
  micro_grids: { color: "#1565c0", weight: 1, dashArray: "2 3" },
};

export const SPECIAL_COLOURS = { law: "#5e35b1", care: "#d81b60", medical: "#00897b", veterans: "#558b2f" };

export const WALK_STYLES = {
  road: { color: "#cfc8bb", weight: 4 },
  path: { color: "#9e978a", weight: 1.5, dashArray: "3 3" },
  bridge: { color: "#6d4c41", weight: 4 },
  crossing: { color: "#8d8d8d", weight: 2, dashArray: "1 3" },
};

const BANK_COLOURS = { left: "#0d47a1", right: "#00838f" };
export const RIVER_STYLE = { color: "#81b4e3", weight: 8, opacity: 0.9, lineCap: "round" };
export const COMPOUND_STYLE = { color: "#c8b78e", weight: 1, fillColor: "#efe5cb", fillOpacity: 0.85 };
export const BUILDING_STYLE = { color: "#857b6c", weight: 0.5, fillColor: "#bdb3a4", fillOpacity: 0.9 };
export const HIGHLIGHT = { color: "#ffb300", weight: 5, opacity: 1, dashArray: null, fillOpacity: 0.25 };

function gridStyle(name) {
  const line = GRID_LINE[name];
  // An invisible fill (opacity 0 still takes pointer events in SVG) keeps the interior clickable without
  // tinting the base map four times over where the levels nest; the boundary line carries the meaning.
  return () => ({ ...line, opacity: 0.9, fill: true, fillColor: line.color, fillOpacity: 0 });
}

function specialStyle(feature) {
  const colour = SPECIAL_COLOURS[feature.properties.kind] || "#757575";
  return { color: colour, weight: 2, dashArray: "1 5", lineCap: "round", fillColor: colour, fillOpacity: 0.12 };
}

function walkStyle(feature) {
  return { ...(WALK_STYLES[feature.properties.kind] || WALK_STYLES.path), opacity: 0.95 };
}

function bankStyle(feature) {
  return { color: BANK_COLOURS[feature.properties.side] || "#0d47a1", weight: 3, dashArray: "8 5", opacity: 0.95 };
}

/**
 * The layers the page knows, bottom to top. zIndex orders the Leaflet panes (overlay 400, markers 600, tooltips 650, popups 700);
 * `visible` is the default state; `label` names the property shown as a permanent label and from what zoom.
 */
export const LAYER_DEFS = [
  { name: "compounds", zIndex: 401, visible: true, style: () => COMPOUND_STYLE, key: "id" },
  { name: "buildings", zIndex: 402, visible: false, style: () => BUILDING_STYLE, key: "id" },
  { name: "rivers", zIndex: 403, visible: true, style: () => RIVER_STYLE, key: "id", interactive: false },
  { name: "walk_edges", zIndex: 404, visible: true, style: walkStyle, key: "id", interactive: false },
  { name: "micro_grids", zIndex: 410, visible: true, style: gridStyle("micro_grids"), key: "code", label: 17 },
  { name: "general_grids", zIndex: 411, visible: true, style: gridStyle("general_grids"), key: "code", label: 16 },
  // A community's site usually stands near its middle: its label sits a little lower so both stay readable.
  { name: "communities", zIndex: 412, visible: true, style: gridStyle("communities"), key: "code", label: 0,
    labelOffset: [0, 18] },
  { name: "subdistricts", zIndex: 413, visible: true, style: gridStyle("subdistricts"), key: "code" },
  { name: "special_grids", zIndex: 414, visible: false, style: specialStyle, key: "code" },
  { name: "bank_segments", zIndex: 420, visible: true, style: bankStyle, key: "code" },
  // Above the tooltip pane (650): a community's site often sits where its name label is drawn.
  { name: "sites", zIndex: 660, visible: true, style: null, key: "id", point: true },
];

/** The HTML of a service-site symbol: a distinct CSS shape per kind (no image files, nothing to download). */
export function siteSymbolHtml(kind) {
  const known = ["centre", "community", "outpost"].includes(kind) ? kind : "outpost";
  return `<span class="site-symbol site-${known}" aria-hidden="true"></span>`;
}

/** Icon size per site kind, so the anchor sits in the middle of the shape. */
export const SITE_ICON_SIZE = { centre: 24, community: 18, outpost: 12 };

/** A small inline SVG line or box drawn with a layer style, for the legend. */
export function swatchSvg(style, { area = false } = {}) {
  const dash = style.dashArray ? ` stroke-dasharray="${style.dashArray}"` : "";
  const stroke = `stroke="${style.color}" stroke-width="${Math.min(style.weight, 6)}"${dash}`;
  const shape = area
    ? `<rect x="2" y="2" width="26" height="10" fill="${style.fillColor || "none"}" ` +
      `fill-opacity="${style.fillOpacity ?? 0.2}" ${stroke}/>`
    : `<line x1="1" y1="7" x2="29" y2="7" ${stroke} stroke-linecap="round"/>`;
  return `<svg class="swatch" width="30" height="14" viewBox="0 0 30 14" aria-hidden="true">${shape}</svg>`;
}

/** The line style of a grid level, for the legend. */
export function gridLine(name) {
  return GRID_LINE[name];
}

/** The style of a bank side, for the legend. */
export function bankLine(side) {
  return { color: BANK_COLOURS[side], weight: 3, dashArray: "8 5" };
}
