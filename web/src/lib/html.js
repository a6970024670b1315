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
