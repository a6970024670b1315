// @ts-check
// The draft panel: the steps so far (with undo and redo), the server's preview of them (panel and map), the status
// line, where a refused step broke a rule (a red mark on the map), and 保存 / 取消草稿 — with the warnings to confirm
// first, and after a conflict (someone saved these grids meanwhile) who changed what and 基于最新重做 (rebase).

import { describeError } from "../layers/basemap.js";
import { el, textSpan } from "../lib/html.js";
import { onLangChange, t } from "../lib/i18n.js";
import * as api from "./api.js";
import { createDraft } from "./draft.js";
import { localTime } from "./history.js";
import { drawPreview, renderPreview } from "./preview.js";

/**
 * @typedef {import("./api.js").Operation} Operation
 * @typedef {import("./api.js").ChangeSet} ChangeSet
 * @typedef {{key: string, params?: {[k: string]: unknown}, kind?: string}} Message
 */

/**
 * One line describing a step.
 * @param {Operation} op
 */
export function describeOp(op) {
  switch (op.op) {
    case "reshape":
      return t("plan.op.reshape", { a: op.a, b: op.b, n: op.line.length });
    case "split":
      return t("plan.op.split", { code: op.code });
    case "merge":
      return t("plan.op.merge", { codes: op.codes.join(" + "), keep: op.keep || op.codes[0] });
    case "move_place":
      return t("plan.op.move_place", { id: op.ext_id, to: op.to });
    case "rename":
      return t("plan.op.rename", { code: op.code, name: op.name });
    case "restore":
      return t("plan.op.restore", { id: op.generation });
    case "move_grid":
      return t("plan.op.move_grid", { code: op.code, to: op.to_parent });
    case "partition":
      return t("plan.op.partition", { code: op.general, n: op.parts.length });
    case "assign_worker":
      return t("plan.op.assign_worker", { worker: op.worker });
    case "special_create":
    case "special_reshape":
    case "special_retire":
      return t(`plan.op.${op.op}`, { code: op.code || "", name: op.name || "" });
    default:
      return op.op;
  }
}

/**
 * @param {L.Map} map
 * @param {{ops: HTMLElement, status: HTMLElement, preview: HTMLElement, stale: HTMLElement, resume: HTMLElement,
 *   form: HTMLFormElement,
 *   confirm: HTMLElement, save: HTMLButtonElement, cancel: HTMLButtonElement, undo: HTMLButtonElement,
 *   redo: HTMLButtonElement}} els
 * @param {{editable: () => boolean, onChange: () => void, onSaved: (cs: ChangeSet) => void,
 *   onRebased: (cs: ChangeSet) => void}} hooks
 */
export function createWorkspace(map, els, hooks) {
  const previewGroup = L.layerGroup().addTo(map);
  const refusalGroup = L.layerGroup().addTo(map);
  /** @type {{message: Message | null, stale: any[] | null, saving: boolean}} */
  const ui = { message: null, stale: null, saving: false };
  const confirmBox = els.form.elements.namedItem("confirm");
  const reasonBox = els.form.elements.namedItem("reason");

  /**
   * @param {string | null} key
   * @param {{[k: string]: unknown}} [params]
   * @param {string} [kind]  info | success | error
   */
  const say = (key, params = {}, kind = "info") => {
    ui.message = key ? { key, params, kind } : null;
    renderStatus();
  };
  const renderStatus = () => {
    const m = ui.message;
    els.status.hidden = !m;
    els.status.className = `plan-status${m ? ` ${m.kind}` : ""}`;
    els.status.textContent = m ? t(m.key, m.params) : "";
  };

  /**
   * A refused step: the server's message, and a mark where the rule broke.
   * @param {any} err
   */
  const showRefusal = (err) => {
    refusalGroup.clearLayers();
    say("plan.refused", { message: describeError(err) }, "error");
    const where = err?.details?.location;
    if (!where || where.type !== "Point") return;
    const [lon, lat] = where.coordinates;
    const mark = L.circleMarker([lat, lon], { pane: "plan-handles", radius: 10, className: "plan-refusal",
      color: "#c62828", weight: 3, fillColor: "#ef9a9a", fillOpacity: 0.6 });
    mark.bindTooltip(textSpan(err.details.rule ? `${err.details.rule}: ${err.message}` : err.message),
      { permanent: true, direction: "top", className: "plan-refusal-tip" });
    mark.addTo(refusalGroup);
    if (!map.getBounds().contains([lat, lon])) map.panTo([lat, lon], { animate: false });
  };

  const draft = createDraft({
    onChange: () => render(),
    onRefused: (err) => showRefusal(err),
    onError: (err) => say("plan.failed", { message: describeError(err) }, "error"),
  });

  const warnings = () => draft.state.preview?.warnings || [];

  const renderStale = () => {
    els.stale.hidden = !ui.stale;
    if (!ui.stale) return els.stale.replaceChildren();
    const items = ui.stale.map((s) => el("li", { attrs: { "data-code": s.code } }, el("code", { text: s.code }), " ",
      el("span", { text: s.retired ? t("plan.stale_retired") : t("plan.stale_version", { from: s.base_version,
        to: s.current_version }) }), " · ",
      el("span", { text: t("plan.stale_by", { who: s.changed_by || t("plan.system"), at: localTime(s.changed_at) }) }),
      s.reason ? el("q", { text: s.reason }) : null));
    const rebase = el("button", { className: "primary", text: t("plan.rebase"), attrs: { type: "button",
      id: "plan-rebase" } });
    rebase.addEventListener("click", doRebase);
    els.stale.replaceChildren(el("p", { text: t("plan.stale") }), el("ul", {}, ...items), rebase);
  };

  const render = () => {
    const s = draft.state;
    const editable = hooks.editable();
    els.ops.replaceChildren(...s.ops.map((op, i) => el("li", { attrs: { "data-op": op.op, "data-index": String(i) } },
      describeOp(op))));
    if (!s.ops.length) els.ops.append(el("li", { className: "plan-muted plan-empty", text: t("plan.no_ops") }));
    els.undo.disabled = !editable || s.busy || !s.ops.length;
    els.redo.disabled = !editable || s.busy || !s.redo.length;
    renderPreview(els.preview, s.preview, { onLocate: locate });
    drawPreview(previewGroup, s.preview);
    const n = warnings().length;
    els.confirm.hidden = n === 0;
    if (n === 0) confirmBox.checked = false;
    els.confirm.querySelector("span").textContent = t("plan.confirm", { n });
    // Not disabled while a call is out (typing a reason and clicking 保存 sends the reason first): save waits.
    els.save.disabled = !editable || ui.saving || !s.ops.length || (n > 0 && !confirmBox.checked);
    els.cancel.disabled = s.busy || ui.saving || (s.id === null && !s.ops.length);
    if (reasonBox !== document.activeElement) reasonBox.value = s.reason || "";
    renderStale();
    hooks.onChange();
  };

  /** @param {any} issue */
  const locate = (issue) => {
    const [lon, lat] = issue.location.coordinates;
    map.setView([lat, lon], Math.max(map.getZoom(), 18), { animate: false });
  };

  /**
   * Add a step; resolves to whether the server took it.
   * @param {Operation} op
   */
  const push = async (op) => {
    els.resume.hidden = true;
    say("plan.checking");
    const ok = await draft.push(op);
    if (ok) {
      refusalGroup.clearLayers();
      say(null);
    }
    return ok;
  };

  const save = async () => {
    await draft.setReason(reasonBox.value.trim());
    await draft.settled();
    const s = draft.state;
    if (s.id === null || !s.ops.length) return;
    ui.saving = true;
    say("plan.saving");
    render();
    try {
      const cs = await api.saveDraft(s.id, { confirmWarnings: warnings().length > 0 && confirmBox.checked,
        version: /** @type {number} */ (s.version) });
      ui.stale = null;
      draft.clear();
      refusalGroup.clearLayers();
      say("plan.saved", { id: cs.generation_id }, "success");
      hooks.onSaved(cs);
    } catch (err) {
      failedSave(err);
    } finally {
      ui.saving = false;
      render();
    }
  };

  /** @param {any} err */
  const failedSave = (err) => {
    if (err?.status === 409) {
      // Someone saved these grids meanwhile (details.stale), or the codes the preview showed were taken.
      ui.stale = err.details?.stale || [];
      say("plan.conflict", { message: describeError(err) }, "error");
    } else if (err?.status === 422 && err.field === "confirm_warnings") {
      // Warnings the draft did not show before (the grids changed meanwhile): show them, ask again.
      if (draft.state.preview) draft.state.preview.warnings = err.details?.warnings || [];
      confirmBox.checked = false;
      say("plan.confirm_needed", { n: warnings().length }, "error");
    } else if (err?.status === 422) {
      showRefusal(err);
    } else {
      say("plan.failed", { message: describeError(err) }, "error");
    }
  };

  async function doRebase() {
    const id = draft.state.id;
    if (id === null) return;
    say("plan.rebasing");
    try {
      const cs = await api.rebaseDraft(id);
      ui.stale = null;
      draft.adopt(cs);
      say("plan.rebased", {}, "success");
      hooks.onRebased(cs);
    } catch (err) {
      if (err?.status === 422) showRefusal(err);
      else say("plan.failed", { message: describeError(err) }, "error");
    }
  }

  const cancel = async () => {
    await draft.settled();
    const id = draft.state.id;
    try {
      if (id !== null) await api.cancelDraft(id);
      ui.stale = null;
      draft.clear();
      refusalGroup.clearLayers();
      say("plan.cancelled", {}, "info");
    } catch (err) {
      say("plan.failed", { message: describeError(err) }, "error");
    }
  };

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!els.save.disabled) save();
  });
  confirmBox.addEventListener("change", render);
  reasonBox.addEventListener("change", () => draft.setReason(reasonBox.value.trim()));
  els.cancel.addEventListener("click", cancel);
  els.undo.addEventListener("click", () => draft.undo());
  els.redo.addEventListener("click", () => draft.redo());
  onLangChange(() => {
    render();
    renderStatus();
  });

  /**
   * Offer the newest draft `username` left unsaved (drafts live on the server: a reload or another browser finds
   * them): 继续 makes it the draft here, 取消 cancels it.
   * @param {string} username
   */
  const offerResume = async (username) => {
    els.resume.hidden = true;
    els.resume.replaceChildren();
    /** @type {ChangeSet[]} */
    let mine;
    try {
      mine = (await api.openDrafts()).items.filter((cs) => cs.created_by === username);
    } catch {
      return; // nothing to offer; the page works without it
    }
    const cs = mine[0];
    if (!cs || draft.state.ops.length || draft.state.id !== null) return;
    const go = el("button", { className: "primary", text: t("plan.resume_open"), attrs: { type: "button" } });
    const drop = el("button", { text: t("plan.resume_cancel"), attrs: { type: "button" } });
    go.addEventListener("click", () => {
      els.resume.hidden = true;
      adoptDraft(cs);
      say("plan.resumed", { id: cs.id }, "info");
    });
    drop.addEventListener("click", async () => {
      try {
        await api.cancelDraft(cs.id);
      } catch (err) {
        say("plan.failed", { message: describeError(err) }, "error");
      }
      offerResume(username);
    });
    els.resume.replaceChildren(el("p", { text: t("plan.resume", { id: cs.id, n: cs.operations.length,
      at: localTime(cs.updated_at) }) }), el("div", { className: "form-actions" }, go, drop));
    els.resume.hidden = false;
  };

  /** @param {ChangeSet} cs */
  const adoptDraft = (cs) => {
    ui.stale = null;
    refusalGroup.clearLayers();
    els.resume.hidden = true;
    draft.adopt(cs);
  };

  return {
    draft,
    push,
    offerResume,
    say,
    render,
    save,
    showRefusal,
    adopt: adoptDraft,
    /** Forget the local draft (another user logged in); the server keeps it. */
    forget() {
      ui.stale = null;
      refusalGroup.clearLayers();
      els.resume.hidden = true;
      draft.clear();
      say(null);
    },
  };
}
