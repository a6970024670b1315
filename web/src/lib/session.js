// Who is logged in, and what the page offers them. The server decides every request on its own; this only
// hides buttons a role could not use anyway. The role table mirrors the API's policies (x-roles in /openapi.json).

import * as api from "./api.js";
import { t } from "./i18n.js";
import { showBanner } from "./ui.js";

export const ACTION_ROLES = {
  "grids.edit": ["admin", "planner"],
  "grids.validate": ["admin", "planner", "auditor"],
  "audit.read": ["admin", "auditor"],
  "incidents.read": ["admin", "planner", "dispatcher", "auditor", "grid_worker"],
  "incidents.create": ["admin", "dispatcher", "grid_worker", "patrol"],
  "incidents.import": ["admin", "dispatcher"],
  "incidents.act": ["admin", "dispatcher", "grid_worker"],
  "coverage.read": ["admin", "planner", "auditor"],
};
// Grid levels whose attributes the edit form offers (subdistricts are the office's own business).
const EDITABLE_LEVELS = new Set(["community", "general", "micro"]);
const ANONYMOUS = Object.freeze({ username: "anonymous", role: "anonymous", scope: [], authenticated: false });

// null until /api/auth/me answers: a dead session found at start-up is still an expired session.
let user = null;
const listeners = [];

function setUser(next) {
  user = next;
  listeners.forEach((fn) => fn(user));
}

/** The current user ({authenticated: false, role: "anonymous"} when nobody is logged in). */
export function currentUser() {
  return user || ANONYMOUS;
}

/** Call `fn(user)` after every log-in, log-out or expiry. */
export function onUserChange(fn) {
  listeners.push(fn);
}

/** Whether the current role may do `action` (a key of ACTION_ROLES). */
export function can(action) {
  return (ACTION_ROLES[action] || []).includes(currentUser().role);
}

/** Whether a grid code lies in the user's scope: scope codes are prefixes of the codes below them. */
export function inScope(code) {
  const scope = currentUser().scope || [];
  return scope.length === 0 || (code != null && scope.some((s) => String(code).startsWith(s)));
}

/** Whether the popup of this grid unit should offer the edit form. */
export function canEditGrid(properties) {
  return can("grids.edit") && EDITABLE_LEVELS.has(properties.level) && inScope(properties.code);
}

function expire() {
  if (user && !user.authenticated) return; // a refused call while anonymous is no expiry
  showBanner("auth.expired", {}, "error", { id: "auth.expired" });
  setUser(ANONYMOUS);
}

/** Ask the server who we are; a dead session cookie shows the expiry banner. */
export async function initSession() {
  api.onAuthFailure(expire);
  try {
    const me = await api.whoAmI();
    // A dead session cookie makes the server treat us as anonymous (and clear it); say why once.
    if (user === null && me.session_expired) expire();
    else if (user === null) setUser(me.authenticated ? me : ANONYMOUS);
  } catch {
    // The server is unreachable: stay anonymous; the map's own calls will show the error.
    if (user === null) setUser(ANONYMOUS);
  }
  return currentUser();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Waits between checks that a new session works: about 3 s in all.
const CONFIRM_DELAYS_MS = [50, 100, 200, 400, 800, 1600];

/**
 * Wait until the server accepts the new session cookie. Work-around: the API commits the session row only after
 * it has sent the log-in answer, so a call made at once can be refused (401) as "not logged in"; taken for an
 * expiry, that would log the user straight out again.
 */
async function confirmSession() {
  let last = null;
  for (const delay of CONFIRM_DELAYS_MS) {
    await sleep(delay);
    try {
      if ((await api.whoAmI({ quiet: true })).authenticated) return;
    } catch (err) {
      if (err.status !== 401) throw err;
      last = err;
    }
  }
  // Still anonymous (the browser kept no cookie) or still refused: say so in the log-in dialog.
  throw last || new api.ApiError({ code: "unauthorized", message: t("auth.not_confirmed") });
}

/** Log in; resolves to the user or throws the API's ApiError (wrong password, locked, disabled). */
export async function logIn(username, password) {
  const answer = await api.logIn(username, password);
  // Before the check (it must send the new cookie) and after it (a call refused meanwhile may have dropped it).
  api.setCsrfToken(answer.csrf_token);
  await confirmSession();
  api.setCsrfToken(answer.csrf_token);
  setUser(answer.user);
  return answer.user;
}

/** Log out. A session that already died counts as logged out too. */
export async function logOut() {
  try {
    await api.logOut();
  } catch (err) {
    if (err.status !== 401) throw err;
  } finally {
    api.setCsrfToken(null);
  }
  setUser(ANONYMOUS);
}
