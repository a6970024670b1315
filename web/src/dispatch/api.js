// The incident and locate calls of the dispatch page, on top of api.js (session cookie, CSRF token, expiry and
// the one error shape all come from there). Every coordinate sent names its system; nothing is guessed here.

import { getJson, request } from "../lib/api.js";

/** Where a point is in the grid: path, workers, compound, nearest sites, WGS 84 point (GET /api/locate). */
export function locate({ lon, lat, crs }) {
  return getJson("/api/locate", { lon, lat, crs });
}

/** Compounds and buildings matching a typed place ("莲花新区3栋"), best first, with WGS 84 points. */
export function findPlaces(q) {
  return getJson("/api/locate/places", { q, limit: 10 });
}

/** Categories, channels, statuses, levels and the workflow table. */
export function incidentMeta() {
  return getJson("/api/incidents/meta");
}

/** Open incidents of the same category family near a point, recently (the check before creating). */
export function duplicates({ lon, lat, crs, category }) {
  return getJson("/api/incidents/duplicates", { lon, lat, crs, category });
}

/** Query parameters of the list filters; `status` may be several (the parameter repeats). */
function filterParams(filters) {
  const params = new URLSearchParams();
  (filters.status || []).forEach((s) => params.append("status", s));
  ["category", "grid", "overdue", "q"].forEach((name) => {
    if (filters[name]) params.set(name, filters[name]);
  });
  return params;
}

function withQuery(path, params) {
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

/** One page of incidents: {total, limit, offset, items}. */
export async function listIncidents(filters, { limit, offset }) {
  const params = filterParams(filters);
  params.set("limit", String(limit));
  params.set("offset", String(offset));
  return (await request("GET", withQuery("/api/incidents", params))).data;
}

/** The filtered incidents as GeoJSON points (at most `limit`, newest first) with `total` matching. */
export async function incidentPoints(filters, { limit = 2000 } = {}) {
  const params = filterParams(filters);
  params.set("limit", String(limit));
  return (await request("GET", withQuery("/api/incidents.geojson", params))).data;
}

/** One incident with timeline and allowed actions. */
export async function getIncident(id) {
  return (await request("GET", `/api/incidents/${encodeURIComponent(id)}`)).data;
}

/** Report an incident; the answer is its detail plus `duplicates`. */
export async function createIncident(body) {
  return (await request("POST", "/api/incidents", { body })).data;
}

/** Take a workflow action on the version seen (sent as If-Match); the answer is the new detail. */
export async function transition(id, version, body) {
  const headers = { "If-Match": `"${version}"` };
  return (await request("POST", `/api/incidents/${encodeURIComponent(id)}/transitions`, { body, headers })).data;
}

/** Statistics per `by` (a grid level, category, day, week or month) for reports in [from, to). */
export function incidentStats({ by, from, to }) {
  const params = { by };
  if (from) params.from = from;
  if (to) params.to = to;
  return getJson("/api/incidents/stats", params);
}

/** The URL of the filtered list as a CSV file (GET /api/incidents.csv), headers in `lang`. */
export function incidentsCsvUrl(filters, lang) {
  const params = filterParams(filters);
  params.set("lang", lang);
  return withQuery("/api/incidents.csv", params);
}

/** Move an incident to a new point (re-assigned to the micro-grid there), on the version seen. */
export async function moveIncident(id, version, body) {
  const headers = { "If-Match": `"${version}"` };
  return (await request("PATCH", `/api/incidents/${encodeURIComponent(id)}/location`, { body, headers })).data;
}
