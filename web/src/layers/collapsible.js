// @ts-check
// On a phone the layer panel and the legend would cover half the map, and a popup under them: there each
// collapses to a button that opens it, and any open popup closes them again (a popup always wins).

import { t, onLangChange } from "../lib/i18n.js";

/** Narrow screens: phones held upright (390 px wide, say). */
export const PHONE = "(max-width: 640px)";

/**
 * Give a control `div` (with a .gg-collapse-body inside) a toggle button; collapsed at first on a phone.
 * @param {L.Map} map
 * @param {HTMLElement} div
 * @param {{titleKey: string}} options
 */
export function makeCollapsible(map, div, { titleKey }) {
  const phone = window.matchMedia(PHONE);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "gg-toggle";
  const label = () => {
    button.textContent = t(titleKey);
    button.title = t(titleKey);
  };
  label();
  onLangChange(label);
  div.prepend(button);
  /** @param {boolean} open */
  const set = (open) => {
    div.classList.toggle("collapsed", !open);
    button.setAttribute("aria-expanded", String(open));
  };
  set(!phone.matches);
  button.addEventListener("click", () => {
    const open = div.classList.contains("collapsed");
    // On a phone only one thing at a time: opening the panel closes a popup it would cover.
    if (open && phone.matches) map.closePopup();
    set(open);
  });
  map.on("popupopen", () => {
    if (phone.matches) set(false);
  });
  phone.addEventListener("change", () => set(!phone.matches));
}
