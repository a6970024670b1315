// Calls to the gisgrid API (same origin). Failures become ApiError carrying the API's one error shape
// {"error": {code, message, field, value, expected, details}} so the page can show what was wrong, never swallow it.
//
// Authentication is the server's HttpOnly session cookie, which the browser sends by itself. Writes add the CSRF
// token (from the log-in answer, or the readable gisgrid_csrf cookie after a reload). A 401 "unauthorized" on a
// call that sent the cookie means the session died (expired, revoked): listeners hear about it, and from then on
// reads go out without cookies, because the dead cookie (which JS cannot delete) would fail every later call.

const CSRF_COOKIE = "gisgrid_csrf";
const LOGIN_PATH = "/api/auth/login";

let csrfToken = null;
let omitCookies = false;
const authListeners = [];

export class ApiError extends Error {
  /** @type {number} */ status = 0;
  /** @type {string} */ code = "http_error";
  /** @type {string | null} */ field = null;
  /** @type {unknown} */ value = null;
  /** @type {string | null} */ expected = null;
  /** @type {unknown} */ details = null;

  /**
   * @param {{status?: number, code?: string, message: string, field?: string | null, value?: unknown,
   *   expected?: string | null, details?: unknown}} error
   */
  constructor({ status = 0, code = "http_error", message, field = null, value = null, expected = null,
    details = null }) {
    super(message);
    this.name = "ApiError";
    Object.assign(this, { status, code, field, value, expected, details });
  }

  /** One line for a banner: the message, plus what the API would have accepted. */
  describe() {
    return this.expected ? `${this.message}（${this.expected}）` : this.message;
  }
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy page, say): fall back to the HTTP status below.
  }
  return apiError(response.status, response.statusText, body);
}

function apiError(status, statusText, body) {
  const error = body && body.error ? body.error : {};
  return new ApiError({
    status,
    code: error.code || `http_${status}`,
    message: error.message || `HTTP ${status} ${statusText}`.trim(),
    field: error.field ?? null,
    value: error.value ?? null,
    expected: error.expected ?? null,
    details: error.details ?? null,
  });
}

function readCookie(name) {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : null;
}

/** Keep the CSRF token of a new session (null after log-out); a new session also revives cookie sending. */
export function setCsrfToken(token) {
  csrfToken = token;
  if (token) omitCookies = false;
}

// Set by the server when it answered a public route anonymously because the session cookie was dead.
const SESSION_EXPIRED_HEADER = "X-Session-Expired";

/** Call `fn(error)` whenever a call made with the session cookie is refused with 401 "unauthorized". */
export function onAuthFailure(fn) {
  authListeners.push(fn);
}

function buildUrl(path, params) {
  const url = new URL(path, window.location.origin);
  Object.entries(params || {}).forEach(([k, v]) => {
    if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, String(v));
  });
  return url;
}

async function send(method, url, { body, headers, credentials, signal }) {
  const init = { method, credentials, signal, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET") {
    const token = csrfToken || readCookie(CSRF_COOKIE);
    if (token) init.headers["X-CSRF-Token"] = token;
  }
  try {
    return await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err; // the caller cancelled it: not a failure to report
    throw new ApiError({ code: "network", message: err.message || String(err) });
  }
}

/**
 * Call the API; resolves to {data, etag} or throws ApiError. `headers` are added (If-Match, say).
 * A read refused because of a dead session is retried once without cookies, so the map keeps working anonymously;
 * `quiet` turns that off (and keeps the listeners out of it) for a caller that handles a 401 itself.
 */
/**
 * @typedef {{params?: {[key: string]: unknown}, body?: unknown, headers?: {[key: string]: string}, quiet?: boolean,
 *   signal?: AbortSignal}} RequestOptions
 */

/**
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<{data: any, etag: string | null}>}
 */
export async function request(method, path, { params, body, headers = {}, quiet = false, signal } = {}) {
  const url = buildUrl(path, params);
  const withCookies = !(omitCookies && method === "GET");
  // The readable CSRF cookie lives and dies with the HttpOnly session cookie: it tells whether one was sent.
  const hadSession = withCookies && Boolean(csrfToken || readCookie(CSRF_COOKIE));
  let response = await send(method, url, { body, headers, signal, credentials: withCookies ? "same-origin" : "omit" });
  if (response.status === 401 && hadSession && !quiet && url.pathname !== LOGIN_PATH) {
    const error = await errorFrom(response);
    if (error.code !== "unauthorized") throw error;
    omitCookies = true;
    csrfToken = null;
    authListeners.forEach((fn) => fn(error));
    if (method !== "GET") throw error;
    response = await send(method, url, { body, headers, signal, credentials: "omit" });
  }
  if (response.headers.get(SESSION_EXPIRED_HEADER) && hadSession && !quiet) {
    // A public route answered anonymously because the session cookie is dead: that is an expiry too.
    omitCookies = true;
    csrfToken = null;
    const error = new ApiError({ code: "unauthorized", message: response.headers.get(SESSION_EXPIRED_HEADER) });
    authListeners.forEach((fn) => fn(error));
  }
  if (!response.ok) throw await errorFrom(response);
  return { data: await response.json(), etag: response.headers.get("ETag") };
}

/** GET `path` (with query `params`) and return the parsed JSON, or throw ApiError; `signal` cancels it. */
/**
 * @param {string} path
 * @param {{[key: string]: unknown}} [params]
 * @param {{signal?: AbortSignal}} [options]
 * @returns {Promise<any>}
 */
export async function getJson(path, params = {}, { signal } = {}) {
  return (await request("GET", path, { params, signal })).data;
}

/** The map configuration: extent, layers, optional tile layer, default language. */
export function mapConfig() {
  return getJson("/api/map-config");
}

/**
 * The features of one layer (within `bbox`, "minlon,minlat,maxlon,maxlat", when given), page by page (offset =
 * next_offset until null); `onPage(collection)` gets each page as it arrives so the map fills in progressively;
 * `params` are more query parameters (`at`: the grids in force at a time).
 * The browser revalidates each page with its ETag (the server answers 304 when nothing changed).
 */
export async function loadLayer(name, { pageSize, onPage, bbox = null, params = {}, signal = undefined }) {
  let offset = 0;
  let total = 0;
  while (offset !== null && offset !== undefined) {
    const page = await getJson(`/api/layers/${encodeURIComponent(name)}`,
      { ...params, bbox, limit: pageSize, offset }, { signal });
    onPage(page);
    total += page.features.length;
    // An empty page would otherwise loop for ever if the server ever mis-reported next_offset.
    offset = page.features.length > 0 ? page.next_offset : null;
  }
  return total;
}

/** Search grids, compounds and sites by name or code. */
export function search(q, { limit = 20 } = {}) {
  return getJson("/api/search", { q, limit });
}

/** Who is calling: {username, display_name, role, role_title, scope, authenticated}; `quiet` as for request(). */
export async function whoAmI({ quiet = false } = {}) {
  return (await request("GET", "/api/auth/me", { quiet })).data;
}

/** Log in; resolves to {user, csrf_token, expires_at}. The session cookie is set by the response. */
export async function logIn(username, password) {
  return (await request("POST", LOGIN_PATH, { body: { username, password } })).data;
}

/** End the session (the server clears both cookies). */
export async function logOut() {
  return (await request("POST", "/api/auth/logout")).data;
}

/** One grid unit and its version tag: {data, etag}. */
export function getGrid(code) {
  return request("GET", `/api/grids/${encodeURIComponent(code)}`);
}

/** Change attributes of a grid unit edited at version `etag`; resolves to {data, etag} of the new version. */
export function patchGrid(code, changes, etag) {
  return request("PATCH", `/api/grids/${encodeURIComponent(code)}`, { body: changes, headers: { "If-Match": etag } });
}

/** Audit entries, newest first; `filters` are actor, action, entity, key, since, until, limit, offset. */
export function auditEntries(filters) {
  return getJson("/api/audit", filters);
}

/**
 * Upload one file (multipart field `file`) with upload progress: `onProgress(fraction)` while the bytes go out
 * (fetch cannot report that), then the API's JSON answer, or ApiError in the one error shape. The session cookie
 * and the CSRF token go with it as with `request`.
 */
/**
 * @param {string} path
 * @param {File} file
 * @param {{params?: {[key: string]: unknown}, onProgress?: (fraction: number) => void}} [options]
 * @returns {Promise<any>}
 */
export function upload(path, file, { params, onProgress } = {}) {
  const url = buildUrl(path, params);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    const token = csrfToken || readCookie(CSRF_COOKIE);
    if (token) xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    xhr.upload.addEventListener("load", () => onProgress && onProgress(1));
    xhr.addEventListener("error", () => reject(new ApiError({ code: "network", message: "network error" })));
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON: the status below says what happened.
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body);
        return;
      }
      const failure = apiError(xhr.status, xhr.statusText, body);
      if (xhr.status === 401 && failure.code === "unauthorized") authListeners.forEach((fn) => fn(failure));
      reject(failure);
    });
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}
