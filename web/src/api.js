// Calls to the gisgrid API (same origin). Failures become ApiError carrying the API's one error shape
// {"error": {code, message, field, value, expected}} so the page can show what was wrong, never swallow it.

export class ApiError extends Error {
  constructor({ status = 0, code = "http_error", message, field = null, value = null, expected = null }) {
    super(message);
    this.name = "ApiError";
    Object.assign(this, { status, code, field, value, expected });
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
  const error = body && body.error ? body.error : {};
  return new ApiError({
    status: response.status,
    code: error.code || `http_${response.status}`,
    message: error.message || `HTTP ${response.status} ${response.statusText}`.trim(),
    field: error.field ?? null,
    value: error.value ?? null,
    expected: error.expected ?? null,
  });
}

/** GET `path` (with query `params`) and return the parsed JSON, or throw ApiError. */
export async function getJson(path, params = {}) {
  const url = new URL(path, window.location.origin);
  Object.entries(params).forEach(([k, v]) => {
    if (v !== null && v !== undefined) url.searchParams.set(k, String(v));
  });
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (err) {
    throw new ApiError({ code: "network", message: err.message || String(err) });
  }
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/** The map configuration: extent, layers, optional tile layer, default language. */
export function mapConfig() {
  return getJson("/api/map-config");
}

/**
 * Every feature of one layer, page by page (offset = next_offset until null); `onPage(collection)` gets each
 * page as it arrives so the map fills in progressively.
 */
export async function loadLayer(name, { pageSize, onPage }) {
  let offset = 0;
  let total = 0;
  while (offset !== null && offset !== undefined) {
    const page = await getJson(`/api/layers/${encodeURIComponent(name)}`, { limit: pageSize, offset });
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
