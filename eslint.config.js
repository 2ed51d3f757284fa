// Lint only, no formatting rules: ESLint's and typescript-eslint's recommended rules for every
// TypeScript and JavaScript file in the repository. `npm run lint`; `npm test` runs it.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".state/", ".dev/", "tmp/", "build/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // A disable comment that silences nothing (or names no configured rule) is an error.
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // A leading underscore marks a parameter or binding that is there for its position or to
      // leave a property out of a rest object.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    // Ambient declarations of Moddable's globals: `declare global { var ... }` is the only form.
    files: ["**/*.d.ts"],
    rules: { "no-var": "off" },
  },
  {
    // The stand-in's web console runs in a browser.
    files: ["host/iotcore/console/web/**/*.js"],
    languageOptions: {
      globals: Object.fromEntries([
        "window", "document", "location", "addEventListener", "removeEventListener", "fetch", "crypto", "atob",
        "AbortController", "FormData", "TextEncoder", "TextDecoder", "TextDecoderStream", "URL", "setTimeout", "clearTimeout",
      ].map((name) => [name, "readonly"])),
    },
  },
  {
    // Lambda-style functions the IoT Core stand-in runs under Node.
    files: ["**/*.mjs"],
    languageOptions: { globals: { console: "readonly", process: "readonly", Buffer: "readonly" } },
  },
);
