// @ts-check
// The draft: the planner's operations in order, with undo and redo. After every change the whole list goes to the
// server — the first time as a new draft (POST /api/grids/changes), then as a replacement of the draft's list at
// its version (PUT) — and the server's answer (its preview) becomes the draft's state. When the server refuses the
// list (422: the newest step breaks a rule), the list stays as it was and the refusal is reported. Calls run one
// after the other, so a fast second drag never overtakes the first.

import * as api from "./api.js";

/**
 * @typedef {import("./api.js").Operation} Operation
 * @typedef {import("./api.js").ChangeSet} ChangeSet
 * @typedef {{ops: Operation[], redo: Operation[], id: number | null, version: number | null, preview: any,
 *   busy: boolean, reason: string | null}} DraftState
 */

/**
 * @param {{onChange: (state: DraftState) => void, onRefused: (error: any, op: Operation | null) => void,
 *   onError: (error: any) => void}} handlers
 */
export function createDraft({ onChange, onRefused, onError }) {
  /** @type {DraftState} */
  const state = { ops: [], redo: [], id: null, version: null, preview: null, busy: false, reason: null };
  /** @type {Promise<unknown>} */
  let queue = Promise.resolve();

  const changed = () => onChange(state);

  /** @param {ChangeSet | null} cs */
  const adopt = (cs) => {
    if (!cs || cs.status !== "draft") {
      Object.assign(state, { ops: [], redo: [], id: null, version: null, preview: null });
      return;
    }
    Object.assign(state, { id: cs.id, version: cs.version, preview: cs.preview, ops: [...cs.operations] });
    if (cs.reason !== undefined) state.reason = cs.reason;
  };

  /**
   * Send `ops` (the draft's next list) and, when the server takes it, make it the draft's state with `redo`.
   * @param {Operation[]} ops
   * @param {Operation[]} redo
   * @param {Operation | null} newest  the step being added (reported with a refusal)
   * @returns {Promise<boolean>}
   */
  const sync = (ops, redo, newest) => {
    const run = async () => {
      state.busy = true;
      changed();
      try {
        if (ops.length === 0) {
          // Nothing left to keep (everything undone): the server's draft is cancelled, a new step starts anew.
          if (state.id !== null) await api.cancelDraft(state.id);
          adopt(null);
        } else if (state.id === null) {
          adopt(await api.createDraft(ops, state.reason));
        } else {
          adopt(await api.updateDraft(state.id, ops, /** @type {number} */ (state.version), state.reason));
        }
        state.redo = redo;
        return true;
      } catch (err) {
        await recover(err, newest);
        return false;
      } finally {
        state.busy = false;
        changed();
      }
    };
    const next = queue.then(run, run);
    queue = next;
    return next;
  };

  /**
   * @param {any} err
   * @param {Operation | null} newest
   */
  const recover = async (err, newest) => {
    if (err?.status === 422 || err?.status === 403 || err?.status === 404) {
      onRefused(err, newest);
      return;
    }
    if (err?.status === 409 && state.id !== null) {
      // The draft moved on elsewhere (another tab) or was saved or cancelled: show what the server holds.
      try {
        adopt(await api.getDraft(state.id));
      } catch {
        adopt(null);
      }
    }
    onError(err);
  };

  return {
    state,
    /**
     * Add a step (clears redo). Resolves to whether the server took it.
     * @param {Operation} op
     */
    push: (op) => sync([...state.ops, op], [], op),
    undo() {
      if (!state.ops.length) return Promise.resolve(false);
      const last = state.ops[state.ops.length - 1];
      return sync(state.ops.slice(0, -1), [...state.redo, last], null);
    },
    redo() {
      if (!state.redo.length) return Promise.resolve(false);
      const op = state.redo[state.redo.length - 1];
      return sync([...state.ops, op], state.redo.slice(0, -1), op);
    },
    /**
     * The reason kept with the draft and its generation; an existing draft is sent again to keep it.
     * @param {string | null} reason
     */
    setReason(reason) {
      if ((reason || null) === state.reason) return Promise.resolve(true);
      state.reason = reason || null;
      return state.id === null ? Promise.resolve(true) : sync(state.ops, state.redo, null);
    },
    /**
     * Make a change set from the server (a revert, a rebase) the draft.
     * @param {ChangeSet} cs
     */
    adopt(cs) {
      adopt(cs);
      state.redo = [];
      changed();
    },
    /** Forget the draft (after a save or a cancel). */
    clear() {
      adopt(null);
      state.reason = null;
      changed();
    },
    /** Wait for the calls in flight. */
    settled: () => queue.then(() => undefined, () => undefined),
  };
}
