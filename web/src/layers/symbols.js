// @ts-check
// Drawing helpers the server's style hints cannot carry: the CSS symbols of point layers (`symbol: "site"`: a
// distinct shape per kind, no image files), the legend swatches and the highlight of a picked feature.

import { esc } from "../lib/html.js";

/** The style of a picked feature (a clicked grid, a search result, a located micro-grid). */
export const HIGHLIGHT = { color: "#ffb300", weight: 5, opacity: 1, dashArray: null, fillOpacity: 0.25 };

const SITE_KINDS = ["centre", "community", "outpost"];

/** Icon size per site kind, so the anchor sits in the middle of the shape. */
export const SITE_ICON_SIZE = /** @type {{[kind: string]: number}} */ ({ centre: 24, community: 18, outpost: 12 });
/** Bigger sites stay on top of outposts when they crowd together at low zoom. */
export const SITE_Z = /** @type {{[kind: string]: number}} */ ({ centre: 300, community: 200, outpost: 100 });

/**
 * The HTML of a service-site symbol.
 * @param {string} kind
 */
export function siteSymbolHtml(kind) {
  const known = SITE_KINDS.includes(kind) ? kind : "outpost";
  return `<span class="site-symbol site-${known}" aria-hidden="true"></span>`;
}

/**
 * A small inline SVG line or box drawn with a layer style, for the legend.
 * @param {L.PathOptions} style
 * @param {{area?: boolean}} [options]
 */
export function swatchSvg(style, { area = false } = {}) {
  const dash = style.dashArray ? ` stroke-dasharray="${esc(style.dashArray)}"` : "";
  const stroke = `stroke="${esc(style.color || "#757575")}" stroke-width="${Math.min(Number(style.weight ?? 2), 6)}"${dash}`;
  const shape = area
    ? `<rect x="2" y="2" width="26" height="10" fill="${esc(style.fillColor || "none")}" ` +
      `fill-opacity="${Number(style.fillOpacity ?? 0.2)}" ${stroke}/>`
    : `<line x1="1" y1="7" x2="29" y2="7" ${stroke} stroke-linecap="round"/>`;
  return `<svg class="swatch" width="30" height="14" viewBox="0 0 30 14" aria-hidden="true">${shape}</svg>`;
}
