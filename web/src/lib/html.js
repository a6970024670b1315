// @ts-check
// Text into HTML: every value a page shows comes from the database or the user, so it is escaped (or set with
// textContent) before it reaches the DOM.

/**
 * Escape text for HTML (element content and quoted attribute values).
 * @param {unknown} value
 * @returns {string}
 */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A span holding `value` as text: for Leaflet's bindTooltip/bindPopup, which treat a string as HTML.
 * @param {unknown} value
 * @returns {HTMLSpanElement}
 */
export function textSpan(value) {
  const span = document.createElement("span");
  span.textContent = String(value ?? "");
  return span;
}
