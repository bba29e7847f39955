// The layer rules are the linter's: each import below breaks one, and must be reported where it
// is written (and nowhere it is allowed).
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint();

async function problems(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const used = x;\n`, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("import rules between layers", () => {
  it.each([
    [
      "core imports an adapter",
      "src/core/plan-deploy.ts",
      'import { x } from "../adapters/github/repo.js";',
      "core is pure",
    ],
    [
      "core (in a subfolder) imports a flow",
      "src/core/verdict/facts.ts",
      'import { x } from "../../flows/publish-edit.js";',
      "core is pure",
    ],
    ["core does I/O", "src/core/config.ts", 'import { x } from "node:fs";', "core does no I/O"],
    [
      "an adapter imports runtime metrics",
      "src/adapters/github/octokit.ts",
      'import { x } from "../../runtime/metrics.js";',
      "injected, not imported",
    ],
    [
      "runtime imports an adapter",
      "src/runtime/verifier.ts",
      'import { x } from "../adapters/argo/kube-source.js";',
      "core ports",
    ],
    [
      "a flow imports a handler",
      "src/flows/propose-deploy.ts",
      'import { x } from "../handlers/push.js";',
      "never the other way round",
    ],
    [
      "a handler imports a handler",
      "src/handlers/push.ts",
      'import { x } from "./pull-request.js";',
      "handlers do not import handlers",
    ],
    [
      "product code imports the sandbox",
      "src/flows/run-commands.ts",
      'import { x } from "../../sandbox/world.js";',
      "does not import the sandbox",
    ],
    [
      "product code imports a test helper",
      "src/app.ts",
      'import { x } from "../test/helpers/probot.js";',
      "does not import the sandbox",
    ],
    ["a flow imports the app", "src/flows/load-config.ts", 'import { x } from "../app.js";', "only the entry points"],
  ])("refuses: %s", async (_name, file, source, message) => {
    const found = await problems(file, source);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it.each([
    ["core imports core", "src/core/plan-deploy.ts", 'import { x } from "./config.js";'],
    ["core uses node:path's string functions", "src/core/affected-overlays.ts", 'import { x } from "node:path";'],
    ["an adapter uses a core type", "src/adapters/github/issues.ts", 'import { x } from "../../core/markers.js";'],
    [
      "a flow uses an adapter, core and runtime",
      "src/flows/publish-edit.ts",
      'import { x } from "../runtime/keyed-queue.js";',
    ],
    ["a handler calls a flow", "src/handlers/push.ts", 'import { x } from "../flows/verify-push.js";'],
    ["the sandbox uses the product", "sandbox/world.ts", 'import { x } from "../src/app.js";'],
  ])("allows: %s", async (_name, file, source) => {
    expect(await problems(file, source)).toEqual([]);
  });
});
