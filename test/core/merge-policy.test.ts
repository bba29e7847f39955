import { describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import { mergeDecision, type MergeInput } from "../../src/core/merge-policy.js";

const config = (raw: unknown = null): Config => {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error("bad config");
  return result.config;
};

const base: MergeInput = {
  config: config(),
  env: "staging",
  kind: "deploy",
  prLabels: ["conveyor"],
  frozen: false,
  image: "r/a:2",
  checks: { runs: [], statuses: [] },
};

describe("mergeDecision", () => {
  it.each<[string, Partial<MergeInput>, string, string?]>([
    ["staging deploy with no checks", {}, "merge"],
    [
      "all checks green",
      {
        checks: {
          runs: [
            { name: "conveyor/render", status: "completed", conclusion: "success" },
            { name: "lint", status: "completed", conclusion: "skipped" },
          ],
          statuses: [{ context: "ci", state: "success" }],
        },
      },
      "merge",
    ],
    ["production needs a reviewer", { env: "production" }, "skip", "a reviewer merges"],
    ["unknown environment", { env: "qa" }, "skip", "not a configured environment"],
    [
      "a check still running",
      { checks: { runs: [{ name: "conveyor/render", status: "in_progress", conclusion: null }], statuses: [] } },
      "wait",
      "has not finished",
    ],
    [
      "a failed render blocks",
      { checks: { runs: [{ name: "conveyor/render", status: "completed", conclusion: "failure" }], statuses: [] } },
      "skip",
      "concluded failure",
    ],
    ["a pending status", { checks: { runs: [], statuses: [{ context: "ci", state: "pending" }] } }, "wait", "pending"],
    ["a failed status", { checks: { runs: [], statuses: [{ context: "ci", state: "error" }] } }, "skip", "is error"],
    ["a PR on hold", { prLabels: ["conveyor", "conveyor:hold"] }, "skip", "on hold"],
    ["a frozen environment", { frozen: true }, "skip", "frozen"],
    ["the image that failed here before", { heldImage: "r/a:2" }, "skip", "held there"],
    ["a newer image than the held one", { heldImage: "r/a:1" }, "merge"],
    ["a revert ignores the service hold", { kind: "revert", heldImage: "r/a:2" }, "merge"],
    ["the render check has not started yet", { requiredChecks: ["conveyor/render"] }, "wait", "has not started"],
    [
      "the render check passed",
      {
        requiredChecks: ["conveyor/render"],
        checks: { runs: [{ name: "conveyor/render", status: "completed", conclusion: "success" }], statuses: [] },
      },
      "merge",
    ],
    [
      "a revert where rollback does not auto-merge",
      { kind: "revert", config: config({ rollback: { autoMerge: false } }) },
      "skip",
      "reverts",
    ],
  ])("%s -> %s", (_name, patch, kind, words) => {
    const decision = mergeDecision({ ...base, ...patch });
    expect(decision.kind).toBe(kind);
    if (words && decision.kind !== "merge") expect(decision.reason).toContain(words);
  });
});
