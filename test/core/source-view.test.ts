// What the service repository sees of a deploy: the Deployment status of each stage, and the
// conveyor/environments check run, by tables.
import { describe, expect, it } from "vitest";
import { environmentsCheck, shouldWrite, stageOf, stageStatus, type Stage } from "../../src/core/source-view.js";

describe("stageStatus", () => {
  const at = { env: "production", image: "ghcr.io/acme/api:1.5.0", pr: 31, manifests: "acme/manifests" };
  it.each<[Stage, string, string]>([
    ["queued", "queued", "Queued for production: Degraded"],
    ["pr-open", "pending", "PR open acme/manifests#31"],
    ["merged", "in_progress", "Merged in acme/manifests#31; verifying next"],
    ["verifying", "in_progress", "Verifying in production acme/manifests#31"],
    ["verified", "success", "Verified in production: synced, healthy and stable"],
    ["failed", "failure", "Failed in production: Degraded"],
    ["reverted", "failure", "Failed in production; reverted by acme/manifests#31: Degraded"],
    ["superseded", "inactive", "Superseded: Degraded"],
  ])("%s -> %s, read back as the same stage", (stage, state, description) => {
    expect(stageStatus(stage, { ...at, reason: "Degraded" })).toEqual({ state, description });
    expect(stageOf(state, description)).toBe(stage);
  });

  it("a status that is none of Conveyor's stages is not read as one", () => {
    expect(stageOf("error", "boom")).toBeUndefined();
  });
});

describe("shouldWrite: each stage once, forward through one attempt", () => {
  const PR = "https://github.com/acme/manifests/pull/3";
  const OTHER = "https://github.com/acme/manifests/pull/9";
  it.each<
    [string, { stage: Stage; logUrl?: string } | undefined, { stage: Stage; logUrl?: string; retry?: boolean }, boolean]
  >([
    ["nothing written yet", undefined, { stage: "queued" }, true],
    ["queued -> PR open", { stage: "queued" }, { stage: "pr-open", logUrl: PR }, true],
    ["PR open -> merged", { stage: "pr-open", logUrl: PR }, { stage: "merged", logUrl: PR }, true],
    ["merged -> verifying", { stage: "merged", logUrl: PR }, { stage: "verifying", logUrl: PR }, true],
    ["verifying -> verified", { stage: "verifying", logUrl: PR }, { stage: "verified", logUrl: PR }, true],
    ["verifying -> failed", { stage: "verifying", logUrl: PR }, { stage: "failed", logUrl: PR }, true],
    ["verified -> superseded", { stage: "verified", logUrl: PR }, { stage: "superseded", logUrl: OTHER }, true],
    [
      "PR open -> superseded (replaced in the PR)",
      { stage: "pr-open", logUrl: PR },
      { stage: "superseded", logUrl: PR },
      true,
    ],
    [
      "replayed: the same stage of the same PR",
      { stage: "merged", logUrl: PR },
      { stage: "merged", logUrl: PR },
      false,
    ],
    [
      "replayed dispatch after its PR opened: not queued again",
      { stage: "pr-open", logUrl: PR },
      { stage: "queued" },
      false,
    ],
    ["queued twice (a freeze said again)", { stage: "queued" }, { stage: "queued" }, false],
    ["resumed: merged after verifying", { stage: "verifying", logUrl: PR }, { stage: "merged", logUrl: PR }, false],
    [
      "verified is not undone by a late verifying",
      { stage: "verified", logUrl: PR },
      { stage: "verifying", logUrl: PR },
      false,
    ],
    ["a failure's record is not hidden by superseded", { stage: "failed", logUrl: PR }, { stage: "superseded" }, false],
    ["reverted is not hidden by superseded", { stage: "reverted", logUrl: OTHER }, { stage: "superseded" }, false],
    ["superseded twice", { stage: "superseded" }, { stage: "superseded", logUrl: PR }, false],
    ["failed -> reverted", { stage: "failed", logUrl: PR }, { stage: "reverted", logUrl: OTHER }, true],
    [
      "a retried verification after a failure",
      { stage: "failed", logUrl: PR },
      { stage: "verifying", logUrl: PR, retry: true },
      true,
    ],
    [
      "not a retry: verifying after a failure is a replay",
      { stage: "failed", logUrl: PR },
      { stage: "verifying", logUrl: PR },
      false,
    ],
    ["queued again after it was superseded", { stage: "superseded", logUrl: PR }, { stage: "queued" }, true],
    [
      "a new PR for a superseded commit",
      { stage: "superseded", logUrl: PR },
      { stage: "pr-open", logUrl: OTHER },
      true,
    ],
    [
      "a revert merged under an active commit leaves it active",
      { stage: "verified", logUrl: PR },
      { stage: "merged", logUrl: OTHER },
      false,
    ],
  ])("%s", (_title, latest, next, write) => {
    expect(shouldWrite(latest, next)).toBe(write);
  });
});

describe("environmentsCheck", () => {
  const row = (env: string, state: string) => ({
    env,
    state,
    description: `${env} ${state}`,
    logUrl: "https://github.com/acme/manifests/pull/3",
    since: "2026-01-01T00:00:00Z",
  });
  const order = ["staging", "production"];
  it.each<[string, Array<ReturnType<typeof row>>, string | undefined, string]>([
    [
      "staging verified, production PR open: in progress",
      [row("production", "pending"), row("staging", "success")],
      undefined,
      "Active in staging",
    ],
    [
      "both verified: success",
      [row("staging", "success"), row("production", "success")],
      "success",
      "Active in staging, production",
    ],
    [
      "production failed: failure",
      [row("staging", "success"), row("production", "failure")],
      "failure",
      "Active in staging",
    ],
    ["only staging, nothing pending: neutral", [row("staging", "success")], "neutral", "Active in staging"],
    ["superseded everywhere", [row("staging", "inactive")], "neutral", "Not active anywhere"],
  ])("%s", (_title, rows, conclusion, title) => {
    const check = environmentsCheck(rows, order);
    expect(check.conclusion).toBe(conclusion);
    expect(check.title).toBe(title);
    // Rows in promotion order.
    const envs = check.summary
      .split("\n")
      .slice(2)
      .map((l) => l.split(" | ")[0]?.slice(2));
    expect(envs).toEqual(order.filter((e) => rows.some((r) => r.env === e)));
  });

  it("a description cannot break the table, and only a plain URL is linked", () => {
    const check = environmentsCheck(
      [{ ...row("staging", "success"), description: "a | b\nc", logUrl: "javascript:alert(1)" }],
      order,
    );
    expect(check.summary.split("\n")[2]).toBe("| staging | ✅ active — a \\| b c | — | 2026-01-01T00:00:00Z |");
  });
});
