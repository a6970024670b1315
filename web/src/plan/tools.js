// @ts-check
// The tools: 分割 draws a line across the selected grid (draw.js), 合并 picks a neighbour to merge in, 移交小区 picks a
// compound and the neighbour it goes to, 命名 names a grid (the parts a split made, say). Each ends in one step
// added to the draft.

import { el } from "../lib/html.js";
import { t } from "../lib/i18n.js";
import { drawLine } from "./draw.js";
import { draftEdges, redrawSelection, renderTools, splitCodes } from "./selection.js";
import { vertexTargets } from "./snap.js";
import { editing, els, state } from "./state.js";

/**
 * @typedef {import("./api.js").Operation} Operation
 * @typedef {import("./state.js").Selected} Selected
 */

/** The neighbours a merge or a compound move may go to: the selected grid's neighbours (one button each). */
export function neighbourButtons(/** @type {(code: string) => void} */ onPick, /** @type {boolean} */ sameParent) {
  const seen = new Set();
  const buttons = draftEdges().filter((e) => e.editable && !e.lockedBy && (!sameParent || e.same_parent)
    && !seen.has(e.neighbour) && seen.add(e.neighbour))
    .map((e) => {
      const b = el("button", { attrs: { type: "button", "data-code": e.neighbour } }, el("span", { text:
        e.neighbour_name }), " ", el("code", { text: e.neighbour }));
      b.addEventListener("click", () => onPick(e.neighbour));
      return b;
    });
  els.pick.replaceChildren(...(buttons.length ? buttons : [el("p", { className: "plan-muted",
    text: t("plan.no_neighbours") })]));
  els.pick.hidden = false;
}

/**
 * Say what the tool in use expects (null: nothing).
 * @param {string | null} key
 * @param {{[k: string]: unknown}} [params]
 */
export function hint(key, params = {}) {
  els.hint.hidden = !key;
  els.hint.textContent = key ? t(key, params) : "";
  els.hint.dataset.key = key || "";
}

/** End the tool in use (a line being drawn is dropped). */
export function stopTool() {
  state.drawing?.stop();
  state.drawing = null;
  state.tool = null;
  state.compound = null;
  els.pick.hidden = true;
  els.pick.replaceChildren();
  els.rename.hidden = true;
  hint(null);
  state.editor.setEnabled(editing());
  renderTools();
}

/**
 * Add a step to the draft; the tool in use ends either way.
 * @param {Operation} op
 */
export async function apply(op) {
  stopTool();
  const ok = await state.workspace.push(op);
  redrawSelection();
  return ok;
}

function startSplit() {
  const sel = /** @type {Selected} */ (state.selected);
  hint("plan.hint.split");
  state.editor.setEnabled(false);
  state.drawing = drawLine(state.map, {
    targets: snapTargets,
    onPoint: (n) => hint(n < 2 ? "plan.hint.split" : "plan.hint.split_more", { n }),
    onCancel: () => stopTool(),
    onFinish: async (line) => {
      state.drawing = null;
      const ok = await apply({ op: "split", code: sel.code, line });
      if (ok) state.workspace.say("plan.split_done", { codes: splitCodes().join(", ") }, "success");
    },
  });
}

/** Merge neighbour `code` into the selected grid (which keeps its code). @param {string} code */
export const merge = (code) => apply({ op: "merge", codes: [/** @type {Selected} */ (state.selected).code, code],
  keep: /** @type {Selected} */ (state.selected).code });

/** Move the picked compound into neighbour `to`. @param {string} to */
export const moveCompound = (to) => apply({ op: "move_place", kind: "compound", ext_id: String(state.compound.id), to });

function startRename() {
  const select = els.rename.elements.namedItem("code");
  const units = state.workspace.draft.state.preview?.units || [];
  const nameOf = (/** @type {string} */ code) => units.find((/** @type {any} */ u) => u.code === code)?.name
    || (code === state.selected?.code ? state.selected?.name : code);
  const gone = new Set(units.filter((/** @type {any} */ u) => ["retired", "recoded"].includes(u.change))
    .map((/** @type {any} */ u) => u.code));
  const codes = [...new Set([...(state.selected ? [state.selected.code] : []), ...splitCodes()])]
    .filter((c) => !gone.has(c));
  select.replaceChildren(...codes.map((c) => el("option", { text: `${nameOf(c)} (${c})`, attrs: { value: c } })));
  const fill = () => {
    els.rename.elements.namedItem("name").value = nameOf(select.value) || "";
  };
  select.onchange = fill;
  fill();
  els.rename.hidden = false;
  hint("plan.hint.rename");
  els.rename.elements.namedItem("name").focus();
}

/** Start a tool on the selected grid, or end it when it is in use. @param {string} tool */
export function setTool(tool) {
  const again = state.tool === tool;
  stopTool();
  if (again || !state.selected || !editing()) return;
  state.tool = tool;
  if (tool === "split") startSplit();
  else if (tool === "merge") {
    hint("plan.hint.merge");
    neighbourButtons(merge, true);
  } else if (tool === "move") hint("plan.hint.move");
  else if (tool === "rename") startRename();
  renderTools();
}

/** Vertices to snap to near `box`: the drawn micro-grids and compounds, and the draft's new shapes. */
export function snapTargets(/** @type {L.LatLngBounds} */ box) {
  const units = state.workspace.draft.state.preview?.units || [];
  const extra = units.map((/** @type {any} */ u) => u.geometry_after?.coordinates).filter(Boolean);
  return vertexTargets(state.map, [state.layers.micro_grids, state.layers.compounds], box, extra);
}

