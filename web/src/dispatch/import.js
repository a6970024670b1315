// The import tab: upload a 12345-hotline export (CSV, XLSX or GeoJSON) to POST /api/incidents/import with the
// coordinate system the file's lon/lat are in. The bar shows the upload; the server answers 202 with a job that
// checks, locates and stores every row in one transaction, and the bar then follows the job's progress
// (GET /api/jobs/{id}). Its result says how many rows were imported, skipped (known ext_id) and refused, lists the
// refused rows with their reasons, and offers them as a CSV file (row number, reason, the original values) to
// correct and upload again. Nothing is guessed: CSV and XLSX need a chosen system. Every text from the file or
// the server reaches the page through textContent.

import { ApiError, getJson, upload } from "../lib/api.js";
import { describe, showStatus } from "./format.js";
import { onLangChange, t } from "../lib/i18n.js";
import { saveFile } from "../lib/ui.js";

const NEEDS_CRS = /\.(csv|txt|xlsx)$/i;
const MAX_BYTES = 50 * 1024 * 1024;
const POLL_MS = 500;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An element with text content (never HTML) and an optional class. */
function el(tag, text = "", className = "") {
  const node = document.createElement(tag);
  if (text !== "") node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function initImport({ form, status, result, onImported }) {
  // phase: idle | uploading | importing | done | failed; answer: the last summary; file: its name.
  const state = { phase: "idle", answer: null, file: null, imports: 0, job: null };
  const bar = form.querySelector("progress");
  const button = form.querySelector("button[type='submit']");

  const setStatus = (s) => showStatus(status, s);

  function renderResult() {
    const a = state.answer;
    result.replaceChildren();
    if (!a) return;
    result.append(el("p", t("import.summary", a), "import-summary"));
    if (!a.errors) return;
    const head = el("tr");
    for (const key of ["import.col.row", "import.col.ext_id", "import.col.reason"]) head.append(el("th", t(key)));
    const body = el("tbody");
    for (const r of a.error_rows) {
      const row = el("tr");
      row.append(el("td", r.row, "num"), el("td", r.ext_id), el("td", r.reason));
      body.append(row);
    }
    const thead = el("thead");
    thead.append(head);
    const table = el("table", "", "incident-table import-errors");
    table.append(thead, body);
    result.append(el("h4", t("import.errors_title")), table);
    if (a.errors > a.error_rows.length) {
      result.append(el("p", t("import.more_errors", { shown: a.error_rows.length, total: a.errors }), "field-hint"));
    }
    const button = el("button", t("import.download_errors"), "import-download");
    button.type = "button";
    result.append(button);
  }

  /** Follow the job until it is done: the bar shows its progress, the status line what it is doing. */
  async function follow(job) {
    state.job = job;
    while (!job.done) {
      const { done, total, message } = job.progress;
      if (total) {
        bar.max = total;
        bar.value = done;
      } else {
        bar.removeAttribute("value");
      }
      const text = job.status === "queued" ? t("import.queued") : t("import.job_progress", { message, done,
        total: total ?? "?" });
      setStatus({ text, kind: "info" });
      await sleep(POLL_MS);
      job = await getJson(`/api/jobs/${job.id}`);
      state.job = job;
    }
    if (job.status !== "succeeded") throw new ApiError({ status: 422, ...(job.error || { message: job.status }) });
    return job.result;
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
    bar.max = 1;
    bar.value = 0;
    setStatus({ text: t("import.uploading", { percent: 0 }), kind: "info" });
    try {
      const accepted = await upload("/api/incidents/import", file, {
        params: { crs: crs || null },
        onProgress: (fraction) => {
          bar.value = fraction;
          if (fraction < 1) {
            setStatus({ text: t("import.uploading", { percent: Math.round(fraction * 100) }), kind: "info" });
          } else {
            // The bytes are there; the server queues a job that checks, locates and stores the rows.
            state.phase = "importing";
            bar.removeAttribute("value");
            setStatus({ text: t("import.importing"), kind: "info" });
          }
        },
      });
      state.phase = "importing";
      const answer = await follow(accepted);
      state.phase = "done";
      state.answer = answer;
      state.imports += 1;
      bar.max = 1;
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
      Object.assign(state, { phase: "idle", answer: null, file: null, job: null });
      form.reset();
      bar.hidden = true;
      setStatus(null);
      renderResult();
    },
    state,
  };
}
