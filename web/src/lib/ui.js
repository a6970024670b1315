// Page chrome outside the map: the error banner, the loading indicator and the language switch.
// Messages are kept as (key, params) so they re-render in the other language when it is switched.

import { LANGUAGES, lang, onLangChange, setLang, t } from "./i18n.js";
import { esc } from "./html.js";

const bannerMessages = [];
let loadingState = null;

function renderBanner() {
  const banner = document.getElementById("banner");
  banner.hidden = bannerMessages.length === 0;
  banner.querySelector("ul").innerHTML = bannerMessages
    .map((m, i) =>
      `<li class="banner-${m.kind}"${m.id ? ` data-banner="${esc(m.id)}"` : ""}>` +
      `<span>${esc(t(m.key, m.params))}</span>` +
      `<button type="button" class="banner-close" data-index="${i}" aria-label="${esc(t("error.close"))}">×</button></li>`)
    .join("");
}

/**
 * Show a message in the banner above the map (kind "error" or "notice"); it stays until closed. A message with
 * an `id` is shown once however often it is raised, and hideBanner(id) takes it away again.
 */
export function showBanner(key, params = {}, kind = "error", { id = null } = {}) {
  if (id && bannerMessages.some((m) => m.id === id)) return;
  bannerMessages.push({ key, params, kind, id });
  renderBanner();
}

/** Remove the banner message shown with `id` (the expiry notice once logged in again, say). */
export function hideBanner(id) {
  const i = bannerMessages.findIndex((m) => m.id === id);
  if (i < 0) return;
  bannerMessages.splice(i, 1);
  renderBanner();
}

function renderLoading() {
  const box = document.getElementById("loading");
  if (!box) return; // a page without layers to load (the audit page)
  box.hidden = loadingState === null || loadingState.done >= loadingState.total;
  if (loadingState) document.getElementById("loading-text").textContent = t("loading.progress", loadingState);
}

/** Update the loading indicator: `done` of `total` layers loaded; it hides itself when all are done. */
export function setLoading(done, total) {
  loadingState = { done, total };
  renderLoading();
}

function renderLangButtons() {
  document.querySelectorAll("[data-lang]").forEach((button) => {
    button.setAttribute("aria-pressed", String(button.dataset.lang === lang()));
  });
  document.title = t("app.title");
}

/** Wire the banner's close buttons and the zh/en switch; re-render chrome on every language change. */
export function initChrome() {
  document.getElementById("banner").addEventListener("click", (e) => {
    const button = /** @type {HTMLElement} */ (e.target).closest(".banner-close");
    if (!button) return;
    bannerMessages.splice(Number(button.dataset.index), 1);
    renderBanner();
  });
  document.querySelectorAll("[data-lang]").forEach((button) => {
    if (LANGUAGES.includes(button.dataset.lang)) button.addEventListener("click", () => setLang(button.dataset.lang));
  });
  onLangChange(() => {
    renderBanner();
    renderLoading();
    renderLangButtons();
  });
  renderLangButtons();
}

/** Offer `text` as a file download named `name` (CSV for Excel: pass the BOM in the text). */
export function saveFile(name, text, type = "text/csv;charset=utf-8") {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
}

/** Download what `url` answers (a same-origin GET with the session cookie; the server names the file). */
export function downloadUrl(url) {
  const link = document.createElement("a");
  link.href = url;
  link.download = "";
  document.body.append(link);
  link.click();
  link.remove();
}
