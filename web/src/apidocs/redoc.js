// @ts-check
/* global Redoc */
// ReDoc for /redoc, from local files only; system fonts (ReDoc's defaults name web fonts we do not load).
"use strict";

(() => {
  const root = /** @type {HTMLElement} */ (document.getElementById("redoc"));
  const fonts = 'system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif';
  // @ts-ignore: Redoc is the global of redoc.standalone.js
  Redoc.init(
    root.dataset.openapiUrl,
    {
      expandResponses: "200,201",
      // ReDoc's styled-components put this nonce on their <style> elements (the page's policy allows no others).
      nonce: root.dataset.styleNonce || undefined,
      theme: {
        typography: {
          fontFamily: fonts,
          headings: { fontFamily: fonts },
          code: { fontFamily: 'ui-monospace, "Cascadia Mono", "Noto Sans Mono", monospace' },
        },
      },
    },
    root,
  );
})();
