// How much work analyzeOverlay does on large render output, counted rather than timed (a
// wall-clock bound is flaky on a loaded machine). The renderer caps its output at 16 MiB
// (MAX_OUTPUT_BYTES in src/adapters/renderer.ts) and analyzeOverlay runs synchronously on the event
// loop, so any step that grows with the square of the output blocks the whole app for minutes to
// hours on output well inside that cap. Two such steps are counted here:
// - the `yaml` package's duplicate-key check, a function called once per pair of keys in a
//   mapping (the yaml package is wrapped below to count the calls; a parse that turns the check
//   off, as yaml-limits.ts does for kustomizations, counts none);
// - String.prototype.includes, which the secret-value scrubber calls for every secret value on
//   every string shown.
// Both budgets are a generous constant per line of output: linear work passes with room to spare.
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { parseDocument } from "yaml";
import { analyzeOverlay, type OverlayRender } from "../../src/core/render-report.js";
import { SEED } from "./arbitraries.js";

const counters = vi.hoisted(() => ({ keyComparisons: 0 }));

vi.mock("yaml", async (importOriginal) => {
  const actual = await importOriginal<typeof import("yaml")>();
  type Options = Parameters<typeof actual.parseDocument>[1];
  type KeyCheck = (a: unknown, b: unknown) => boolean;
  const counted = (options: Options): Options => {
    const unique = (options as { uniqueKeys?: boolean | KeyCheck } | undefined)?.uniqueKeys;
    if (unique === false) return options;
    const same: KeyCheck =
      typeof unique === "function"
        ? unique
        : (a, b) => a === b || (actual.isScalar(a) && actual.isScalar(b) && a.value === b.value);
    const uniqueKeys: KeyCheck = (a, b) => {
      counters.keyComparisons++;
      return same(a, b);
    };
    return { ...options, uniqueKeys } as Options;
  };
  return {
    ...actual,
    parseDocument: (source: string, options?: Options) => actual.parseDocument(source, counted(options)),
    parseAllDocuments: (source: string, options?: Options) => actual.parseAllDocuments(source, counted(options)),
  };
});

const render = (yaml: string): OverlayRender => ({
  dir: "services/api/overlays/staging",
  service: "api",
  env: "staging",
  because: ["the overlay"],
  before: { kind: "absent" },
  after: { kind: "rendered", yaml },
});

const lines = (yaml: string) => yaml.split("\n").length;

function configMap(keys: number): string {
  const out = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: big", "  namespace: app", "data:"];
  for (let i = 0; i < keys; i++) out.push(`  key-${i}: value-${i}`);
  return `${out.join("\n")}\n`;
}

function secretAndCopies(secrets: number, strings: number): string {
  const secret = ["apiVersion: v1", "kind: Secret", "metadata:", "  name: db", "  namespace: app", "stringData:"];
  for (let i = 0; i < secrets; i++) secret.push(`  s${i}: secret-value-${String(i).padStart(6, "0")}`);
  const list = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: settings", "  namespace: app", "data:"];
  for (let i = 0; i < strings; i++) list.push(`  k${i}: plain-setting-number-${i}`);
  return `${secret.join("\n")}\n---\n${list.join("\n")}\n`;
}

describe("analyzeOverlay's work grows linearly with the render output", () => {
  it("counts key comparisons where the duplicate-key check is on, none where it is off", () => {
    counters.keyComparisons = 0;
    parseDocument("a: 1\nb: 2\nc: 3\n");
    expect(counters.keyComparisons).toBe(3);
    parseDocument("a: 1\nb: 2\nc: 3\n", { uniqueKeys: false });
    expect(counters.keyComparisons).toBe(3);
  });

  // Regression (found by this suite, fixed): parseResources in src/core/render-report.ts parses each rendered document with
  // `parseDocument(trimmed)`, i.e. with the yaml package's default duplicate-key check, which
  // compares every key of a mapping with every earlier one. A ConfigMap with n keys costs n²/2
  // comparisons: 16,000 keys (180 KB) took 2.7 s, 32,000 about 11 s, and the 16 MiB the renderer
  // allows would block the event loop for hours. Anyone who can open a pull request can add such
  // a ConfigMap. (yaml-limits.ts turns the check off for kustomizations, for this reason.)
  // Minimal counterexample: a ConfigMap with 1,000 data keys: 499,500 comparisons for 1,007 lines.
  it("compares keys at most a constant number of times per line of output", () => {
    fc.assert(
      fc.property(fc.integer({ min: 600, max: 1_200 }), (keys) => {
        const yaml = configMap(keys);
        counters.keyComparisons = 0;
        analyzeOverlay(render(yaml));
        expect(counters.keyComparisons).toBeLessThanOrEqual(20 * lines(yaml));
      }),
      // Fixed runs (FUZZ_RUNS does not apply): each is a large input, and a failure is not shrunk.
      { seed: SEED, numRuns: 3, endOnFailure: true },
    );
  });

  // Regression (found by this suite, fixed): valueScrubber in src/core/render-report.ts looks for every secret value (12+ characters)
  // in every string of every shown object, with one `includes` per pair: S secret values and T
  // strings cost S×T searches. A Secret and a ConfigMap of 32,000 entries each (1.8 MB of output)
  // took 142 s; the renderer allows 16 MiB. Anyone who can open a pull request can add them.
  // Minimal counterexample: a Secret with 1,000 stringData values and a ConfigMap with 1,000
  // strings: about 1,000,000 `includes` calls for 2,014 lines.
  it("searches strings for secret values at most a constant number of times per line", () => {
    fc.assert(
      fc.property(fc.integer({ min: 800, max: 1_200 }), (entries) => {
        const yaml = secretAndCopies(entries, entries);
        const original = String.prototype.includes;
        let calls = 0;
        String.prototype.includes = function (this: string, search: string, position?: number) {
          calls++;
          return original.call(this, search, position);
        };
        try {
          analyzeOverlay(render(yaml));
        } finally {
          String.prototype.includes = original;
        }
        expect(calls).toBeLessThanOrEqual(50 * lines(yaml));
      }),
      { seed: SEED, numRuns: 2, endOnFailure: true },
    );
  });
});
