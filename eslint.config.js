// @ts-check
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

/**
 * The layers, enforced: handlers are entry points, flows compose, core decides, adapters talk to
 * the world, runtime holds the long-lived parts. An arrow means "may import":
 *   app.ts -> handlers -> flows -> core | adapters | runtime;  adapters -> core;  runtime -> core.
 * Product code never imports the sandbox, tests or benchmarks.
 */
const outside = {
  regex: "^(\\.\\./)+(sandbox|test|bench|scripts)/",
  message: "product code does not import the sandbox, tests, benchmarks or scripts",
};
const layer = (names, message) => ({ regex: `^(\\.\\./)+(${names.join("|")})/`, message });
const entryPoints = {
  regex: "^(\\.\\./)+(app|server|cli)\\.js$",
  message: "only the entry points wire the app together",
};
const restrict = (...patterns) => ({ "no-restricted-imports": ["error", { patterns }] });

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/core/**/*.ts"],
    rules: restrict(
      layer(
        ["adapters", "flows", "handlers", "runtime"],
        "core is pure: it decides over plain data and imports nothing outward",
      ),
      {
        regex: "^node:(?!path$)",
        message: "core does no I/O: no Node built-ins (node:path's string functions excepted)",
      },
      entryPoints,
      outside,
    ),
  },
  {
    files: ["src/adapters/**/*.ts"],
    rules: restrict(
      layer(
        ["flows", "handlers", "runtime"],
        "adapters talk to the world and may use core types; what they report is injected, not imported",
      ),
      entryPoints,
      outside,
    ),
  },
  {
    files: ["src/runtime/**/*.ts"],
    rules: restrict(
      layer(["adapters", "flows", "handlers"], "runtime parts depend on core ports, not on adapters or flows"),
      entryPoints,
      outside,
    ),
  },
  {
    files: ["src/flows/**/*.ts"],
    rules: restrict(
      layer(["handlers"], "flows are called by handlers, never the other way round"),
      entryPoints,
      outside,
    ),
  },
  {
    files: ["src/handlers/**/*.ts"],
    rules: restrict(
      { regex: "^\\./", message: "handlers do not import handlers: shared work belongs in a flow" },
      entryPoints,
      outside,
    ),
  },
  {
    files: ["src/*.ts"],
    rules: restrict(outside),
  },
  prettier,
);
