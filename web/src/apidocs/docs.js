// @ts-check
/* global SwaggerUIBundle */
// Swagger UI for /docs. Log in either with "Authorize" (a bearer token from `gisgrid users token USER` or
// POST /api/auth/tokens) or by trying POST /api/auth/login here: the browser then keeps the session cookie,
// and this page copies the CSRF token from the readable gisgrid_csrf cookie into the X-CSRF-Token header of
// writes, as the other pages do.
"use strict";

(() => {
  const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
  const CSRF_COOKIE = "gisgrid_csrf";
  const CSRF_HEADER = "X-CSRF-Token";

  /** @returns {string | null} the CSRF token of the session cookie's log-in, if any */
  function csrfToken() {
    const prefix = `${CSRF_COOKIE}=`;
    const found = document.cookie.split("; ").find((c) => c.startsWith(prefix));
    return found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }

  /** @param {{method?: string, headers: Record<string, string>}} request */
  function addCsrf(request) {
    const token = csrfToken();
    const method = (request.method || "GET").toUpperCase();
    if (token && !SAFE.has(method) && !request.headers[CSRF_HEADER]) {
      request.headers[CSRF_HEADER] = token;
    }
    return request;
  }

  const root = /** @type {HTMLElement} */ (document.getElementById("swagger-ui"));
  // @ts-ignore: SwaggerUIBundle is the global of swagger-ui-bundle.js
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    persistAuthorization: false,
    // The default validator badge asks validator.swagger.io about our document: never leave this host.
    validatorUrl: null,
    // @ts-ignore: the global of swagger-ui-bundle.js
    presets: [SwaggerUIBundle.presets.apis],
    requestInterceptor: addCsrf,
  });
})();
