// The search box: typing (debounced) or Enter asks /api/search; results list under the box; picking one hands
// it to onPick (which zooms and highlights). API errors are shown in the list, in the API's own words.

import { search } from "../lib/api.js";
import { t } from "../lib/i18n.js";
import { esc } from "../lib/html.js";

const DEBOUNCE_MS = 250;
const GRID_LEVEL_KEY = { subdistrict: "level.subdistrict", community: "level.community",
  general: "level.general", micro: "level.micro" };

function kindLabel(result) {
  if (result.kind === "grid") return t(GRID_LEVEL_KEY[result.subkind] || "search.kind.grid");
  if (result.kind === "site") return t(`site.${result.subkind}`);
  return t(`search.kind.${result.kind}`);
}

function resultHtml(result, i) {
  const code = result.code ? `<span class="result-code">${esc(result.code)}</span>` : "";
  return `<li><button type="button" class="search-result" data-index="${i}" data-kind="${esc(result.kind)}">` +
    `<span class="result-name">${esc(result.name)}</span>` +
    `<span class="result-kind">${esc(kindLabel(result))}</span>${code}</button></li>`;
}

/** Wire the search form; `onPick(result)` is called with the chosen result. */
export function initSearch({ form, input, list, onPick }) {
  let results = [];
  let latest = 0;
  let timer = null;

  const show = (html) => {
    list.innerHTML = html;
    list.hidden = html === "";
  };

  const run = async () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) return show("");
    const ticket = ++latest;
    try {
      const found = await search(q);
      if (ticket !== latest) return; // an older answer arriving after a newer query: drop it
      results = found;
      show(found.length ? found.map(resultHtml).join("") :
        `<li class="search-empty">${esc(t("search.none", { q }))}</li>`);
    } catch (err) {
      if (ticket !== latest) return;
      const message = err.describe ? err.describe() : String(err);
      show(`<li class="search-error" role="alert">${esc(t("search.error", { message }))}</li>`);
    }
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") show("");
  });
  // A click anywhere else (the map, say) closes the list; the query stays in the box.
  document.addEventListener("click", (e) => {
    if (!form.contains(e.target)) show("");
  });
  list.addEventListener("click", (e) => {
    const button = e.target.closest("button.search-result");
    if (!button) return;
    onPick(results[Number(button.dataset.index)]);
    show("");
  });
  return { run };
}
