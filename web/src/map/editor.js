// The 修改 form of a grid unit: name, English name, households, population. It loads the unit with its version
// (ETag) and saves with If-Match, so an edit made on a stale copy is refused (409) instead of overwriting someone
// else's change. Only the fields the user changed are sent, so the audit trail records exactly those.

import { ApiError, getGrid, patchGrid } from "../lib/api.js";
import { onLangChange, t } from "../lib/i18n.js";
import { esc } from "../lib/html.js";
import { canEditGrid, onUserChange } from "../lib/session.js";

const FIELDS = ["name", "name_en", "households", "population"];
// Status → message key; the API's own message follows it.
const ERROR_KEYS = { 409: "edit.conflict", 403: "edit.forbidden", 422: "edit.invalid", 404: "edit.missing" };

function field(name, attrs) {
  return `<label><span data-i18n="edit.${name}">${esc(t(`edit.${name}`))}</span>` +
    `<input name="${name}" ${attrs}></label>`;
}

const formHtml = () => `
  <form class="gg-form grid-edit-form">
    <h2><span data-i18n="edit.title">${esc(t("edit.title"))}</span> <code class="edit-code"></code></h2>
    ${field("name", 'maxlength="100" required')}
    ${field("name_en", 'maxlength="200" lang="en"')}
    ${field("households", 'type="number" min="0" max="100000" step="1" required')}
    ${field("population", 'type="number" min="0" max="1000000" step="1" required')}
    <p class="form-version"></p>
    <p class="form-message" role="status" hidden></p>
    <div class="form-actions">
      <button type="submit" class="primary" data-i18n="edit.save">${esc(t("edit.save"))}</button>
      <button type="button" class="reload" data-i18n="edit.reload" hidden>${esc(t("edit.reload"))}</button>
      <button type="button" class="cancel" data-i18n="edit.close">${esc(t("edit.close"))}</button>
    </div>
  </form>`;

let editor = null;

/** What the form holds, as the API wants it: trimmed text, numbers, an empty English name as null. */
function formValues(form) {
  const value = (name) => form.elements.namedItem(name).value;
  return {
    name: value("name").trim(),
    name_en: value("name_en").trim() || null,
    households: Number(value("households")),
    population: Number(value("population")),
  };
}

function createEditor() {
  const dialog = document.createElement("dialog");
  dialog.id = "grid-edit-dialog";
  dialog.className = "gg-dialog";
  dialog.innerHTML = formHtml();
  document.body.append(dialog);
  const form = dialog.querySelector("form");
  const els = {
    code: form.querySelector(".edit-code"),
    version: form.querySelector(".form-version"),
    message: form.querySelector(".form-message"),
    save: form.querySelector("button[type=submit]"),
    reload: form.querySelector(".reload"),
  };
  // unit: the version being edited; etag: its tag for If-Match; message kept as a key to follow the language.
  const state = { code: null, unit: null, etag: null, message: null, onSaved: null, ticket: 0 };

  const renderMessage = () => {
    const m = state.message;
    els.message.hidden = !m;
    els.message.className = `form-message${m ? ` form-${m.kind}` : ""}`;
    els.message.textContent = m ? t(m.key, m.params) : "";
    els.version.textContent = state.unit ? t("edit.version", { version: state.unit.version }) : "";
  };
  const say = (key, params = {}, kind = "info") => {
    state.message = key ? { key, params, kind } : null;
    renderMessage();
  };
  const fill = (unit, etag) => {
    Object.assign(state, { unit, etag });
    FIELDS.forEach((name) => (form.elements.namedItem(name).value = unit[name] ?? ""));
    renderMessage();
  };
  // Saving needs a loaded unit and a user who may edit it (a session can expire while the form is open).
  const allowed = () => Boolean(state.unit) && canEditGrid(state.unit);
  const checkAllowed = () => {
    els.save.disabled = !allowed();
    if (state.unit && !allowed()) say("edit.need_login", {}, "error");
  };

  const load = async () => {
    const ticket = ++state.ticket; // a slow answer for a unit opened earlier must not fill this one
    els.save.disabled = true;
    els.reload.hidden = true;
    say("edit.loading");
    try {
      const { data, etag } = await getGrid(state.code);
      if (ticket !== state.ticket) return;
      fill(data, etag);
      say(null);
      checkAllowed();
    } catch (err) {
      if (ticket === state.ticket) say("edit.load_error", { message: describe(err) }, "error");
    }
  };

  const save = async () => {
    const values = formValues(form);
    const changes = Object.fromEntries(Object.entries(values).filter(([k, v]) => v !== (state.unit[k] ?? null)));
    if (Object.keys(changes).length === 0) return say("edit.unchanged");
    els.save.disabled = true;
    say("edit.saving");
    try {
      const { data, etag } = await patchGrid(state.code, changes, state.etag);
      fill(data, etag);
      els.save.disabled = false;
      say("edit.saved", { version: data.version }, "success");
      state.onSaved?.(data);
    } catch (err) {
      els.save.disabled = !allowed();
      const key = ERROR_KEYS[err.status] || "edit.error";
      say(key, { message: describe(err) }, "error");
      // A stale copy can only be fixed by loading the current one (the user's typing is then replaced).
      els.reload.hidden = err.status !== 409;
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.reportValidity()) save();
  });
  els.reload.addEventListener("click", load);
  form.querySelector(".cancel").addEventListener("click", () => dialog.close());
  onLangChange(renderMessage);
  onUserChange(() => {
    if (!dialog.open || !state.unit) return;
    // A copy read without a session lacks households and population: read it again once logged in.
    if (allowed() && !("households" in state.unit)) return load();
    const blocked = state.message?.key === "edit.need_login";
    checkAllowed();
    if (blocked && allowed()) say(null);
  });

  return {
    /**
     * @param {string} code
     * @param {{onSaved?: (unit: any) => void}} [options]
     */
    open(code, { onSaved } = {}) {
      Object.assign(state, { code, unit: null, etag: null, onSaved });
      els.code.textContent = code;
      form.reset();
      dialog.showModal();
      load();
    },
  };
}

function describe(err) {
  return err instanceof ApiError ? err.describe() : String(err);
}

/** Open the edit form for grid unit `code`; `onSaved(unit)` gets the saved unit (with its new version). */
export function openGridEditor(code, options) {
  editor = editor || createEditor();
  editor.open(code, options);
}
