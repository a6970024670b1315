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

/**
 * An element built from text, never from HTML: `el("td", {className: "num", text: "12"})`, with attributes
 * (`attrs`, set as attribute values) and children (nodes, or strings added as text nodes).
 * @param {string} tag
 * @param {{className?: string, text?: unknown, title?: string, attrs?: {[name: string]: string}}} [props]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function el(tag, { className, text, title, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (title) node.title = title;
  if (text !== undefined && text !== null) node.textContent = String(text);
  Object.entries(attrs || {}).forEach(([name, value]) => node.setAttribute(name, value));
  children.forEach((child) => {
    if (child) node.append(child);
  });
  return node;
}
