// @ts-check
// The planner's calls to the boundary-edit API (/api/grids/changes, edges, history, revert, generations). Every
// failure is an ApiError in the API's one error shape: a refused edit (422 edit_refused) carries details.rule,
// details.location and details.issues; a stale save (409) details.stale; unconfirmed warnings (422, field
// confirm_warnings) details.warnings.

import { getJson, request } from "../lib/api.js";

/**
 * @typedef {{[key: string]: any}} Operation
 * @typedef {{id: number, status: string, version: number, reason: string | null, operations: Operation[],
 *   created_by?: string | null, updated_at?: string,
 *   base_versions: {[code: string]: number}, generation_id: number | null, preview: any}} ChangeSet
 */

/** @param {string} code */
const grid = (code) => `/api/grids/${encodeURIComponent(code)}`;

/**
 * A new draft of `operations`.
 * @param {Operation[]} operations
 * @param {string | null} reason
 * @returns {Promise<ChangeSet>}
 */
export async function createDraft(operations, reason) {
  return (await request("POST", "/api/grids/changes", { body: { operations, reason } })).data;
}

/**
 * The draft's whole list of operations again (undo, redo and every new step), at the draft's `version`.
 * @param {number} id
 * @param {Operation[]} operations
 * @param {number} version
 * @param {string | null} reason
 * @returns {Promise<ChangeSet>}
 */
export async function updateDraft(id, operations, version, reason) {
  return (await request("PUT", `/api/grids/changes/${id}`, { body: { operations, version, reason } })).data;
}

/**
 * @param {number} id
 * @returns {Promise<ChangeSet>}
 */
export function getDraft(id) {
  return getJson(`/api/grids/changes/${id}`);
}

/**
 * Drafts not yet saved or cancelled, newest first (everyone's: the caller picks their own).
 * @returns {Promise<{total: number, items: ChangeSet[]}>}
 */
export function openDrafts() {
  return getJson("/api/grids/changes", { status: "draft", limit: 50 });
}

/**
 * Save the draft as one grid generation.
 * @param {number} id
 * @param {{confirmWarnings: boolean, version: number}} options
 * @returns {Promise<ChangeSet>}
 */
export async function saveDraft(id, { confirmWarnings, version }) {
  const body = { confirm_warnings: confirmWarnings, version };
  return (await request("POST", `/api/grids/changes/${id}/save`, { body })).data;
}

/**
 * Take the current grids as the draft's starting point (after a conflict).
 * @param {number} id
 * @returns {Promise<ChangeSet>}
 */
export async function rebaseDraft(id) {
  return (await request("POST", `/api/grids/changes/${id}/rebase`)).data;
}

/**
 * Cancel the draft (it stays listed, as cancelled).
 * @param {number} id
 * @returns {Promise<ChangeSet>}
 */
export async function cancelDraft(id) {
  return (await request("DELETE", `/api/grids/changes/${id}`)).data;
}

/**
 * A draft restoring the state before generation `id`.
 * @param {number} id
 * @param {string | null} reason
 * @returns {Promise<ChangeSet>}
 */
export async function revertGeneration(id, reason) {
  return (await request("POST", `/api/grids/generations/${id}/revert`, { body: { reason } })).data;
}

/**
 * A grid's outline and its shared edges, each with whether the caller may move it.
 * @param {string} code
 */
export function gridEdges(code) {
  return getJson(`${grid(code)}/edges`);
}

/**
 * Every version of a grid code, newest first.
 * @param {string} code
 */
export function gridHistory(code) {
  return getJson(`${grid(code)}/history`);
}

/** Grid generations, newest first (who, when, why). */
export function generations({ limit = 200 } = {}) {
  return getJson("/api/grids/generations", { limit });
}
