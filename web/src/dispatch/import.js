// The import tab: upload a 12345-hotline export (CSV, XLSX or GeoJSON) to POST /api/incidents/import with the
// coordinate system the file's lon/lat are in. The bar shows the upload, then the server checks, locates and
// stores every row in one transaction; the answer says how many rows were imported, skipped (known ext_id) and
// refused, lists the refused rows with their reasons, and offers them as a CSV file (row number, reason, the
// original values) to correct and upload again. Nothing is guessed: CSV and XLSX need a chosen system.

import { upload } from "../lib/api.js";
import { describe, esc, showStatus } from "./format.js";
import { onLangChange, t } from "../lib/i18n.js";
import { saveFile } from "../lib/ui.js";

const NEEDS_CRS = /\.(csv|txt|xlsx)$/i;
const MAX_BYTES = 50 * 1024 * 1024;

export function initImport({ form, status, result, onImported }) {
  // phase: idle | uploading | importing | done | failed; answer: the last summary; file: its name.
  const state = { phase: "idle", answer: null, file: null, imports: 0 };
  const bar = form.querySelector("progress");
  const button = form.querySelector("button[type='submit']");

  const setStatus = (s) => showStatus(status, s);

  function renderResult() {
    const a = state.answer;
    if (!a) {
      result.innerHTML = "";
      return;
    }
    const rows = a.error_rows.map((r) =>
      `<tr><td class="num">${esc(r.row)}</td><td>${esc(r.ext_id)}</td><td>${esc(r.reason)}</td></tr>`).join("");
    const more = a.errors > a.error_rows.length
      ? `<p class="field-hint">${esc(t("import.more_errors", { shown: a.error_rows.length, total: a.errors }))}</p>`
      : "";
    const errors = a.errors
      ? `<h4>${esc(t("import.errors_title"))}</h4>` +
        `<table class="incident-table import-errors"><thead><tr><th>${esc(t("import.col.row"))}</th>` +
        `<th>${esc(t("import.col.ext_id"))}</th><th>${esc(t("import.col.reason"))}</th></tr></thead>` +
        `<tbody>${rows}</tbody></table>${more}` +
        `<button type="button" class="import-download">${esc(t("import.download_errors"))}</button>`
      : "";
    result.innerHTML = `<p class="import-summary">${esc(t("import.summary", a))}</p>${errors}`;
  }

  function downloadErrors() {
    const a = state.answer;
    if (!a || !a.errors_csv) return;
    saveFile(`${(state.file || "import").replace(/\.[^.]+$/, "")}.errors.csv`, `\ufeff${a.errors_csv}`);
  }

  async function submit() {
    const file = form.elements.namedItem("file").files[0];
    const crs = form.elements.namedItem("crs").value;
    if (!file) return setStatus({ text: t("import.need_file"), kind: "error" });
    if (file.size > MAX_BYTES) return setStatus({ text: t("import.too_large"), kind: "error" });
    if (!crs && NEEDS_CRS.test(file.name)) return setStatus({ text: t("import.need_crs"), kind: "error" });
    state.phase = "uploading";
    state.file = file.name;
    state.answer = null;
    renderResult();
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    setStatus({ text: t("import.uploading", { percent: 0 }), kind: "info" });
    try {
      const answer = await upload("/api/incidents/import", file, {
        params: { crs: crs || null },
        onProgress: (fraction) => {
          bar.value = fraction;
          if (fraction < 1) {
            setStatus({ text: t("import.uploading", { percent: Math.round(fraction * 100) }), kind: "info" });
          } else {
            // The bytes are there; checking, locating and storing happen on the server now.
            state.phase = "importing";
            bar.removeAttribute("value");
            setStatus({ text: t("import.importing"), kind: "info" });
          }
        },
      });
      state.phase = "done";
      state.answer = answer;
      state.imports += 1;
      bar.value = 1;
      setStatus({ text: t(answer.errors ? "import.done_with_errors" : "import.done", answer),
        kind: answer.errors ? "error" : "success" });
      renderResult();
      if (answer.imported) onImported(answer);
    } catch (err) {
      state.phase = "failed";
      bar.hidden = true;
      setStatus({ text: t("import.failed", { message: describe(err) }), kind: "error" });
    } finally {
      button.disabled = false;
    }
    return null;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  result.addEventListener("click", (event) => {
    if (event.target.closest(".import-download")) downloadErrors();
  });
  onLangChange(() => renderResult());
  window.gisgridDispatchImport = state;
  return {
    clear() {
      Object.assign(state, { phase: "idle", answer: null, file: null });
      form.reset();
      bar.hidden = true;
      setStatus(null);
      renderResult();
    },
    state,
  };
}
