// ESLint (flat config) over the pages' plain ES modules: `npx eslint` in web/, run by ./dev test.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/**"] },
  js.configs.recommended,
  {
    files: ["src/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      // Leaflet and its plugins are UMD builds loaded by <script>: the global L.
      globals: { ...globals.browser, L: "readonly" },
    },
    rules: {
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_" }],
      eqeqeq: ["error", "smart"],
      "no-var": "error",
      "prefer-const": "error",
      // The pages run under a Content-Security-Policy without 'unsafe-eval' (api/security_headers.py), and
      // markup is built in one way only: innerHTML from templates whose every value goes through esc().
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-restricted-properties": ["error",
        { object: "document", property: "write", message: "Build nodes, or innerHTML with esc()." },
        { property: "insertAdjacentHTML", message: "Use innerHTML with esc(), or textContent." },
        { property: "outerHTML", message: "Use innerHTML with esc(), or textContent." }],
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
