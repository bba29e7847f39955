// What the service repository sees of a deploy: the Deployment status of each stage, and the
// conveyor/environments check run, by tables.
import { describe, expect, it } from "vitest";
import { environmentsCheck, stageStatus, type Stage } from "../../src/core/source-view.js";

describe("stageStatus", () => {
  const at = { env: "production", image: "ghcr.io/acme/api:1.5.0", pr: 31, manifests: "acme/manifests" };
  it.each<[Stage, string, string]>([
    ["queued", "queued", "Queued for production"],
    ["pr-open", "pending", "PR open acme/manifests#31"],
    ["merged", "in_progress", "Merged acme/manifests#31"],
    ["verifying", "in_progress", "Verifying in production acme/manifests#31"],
    ["verified", "success", "Verified in production: synced, healthy and stable"],
    ["failed", "failure", "Failed in production: Degraded"],
    ["reverted", "failure", "Reverted in production: Degraded"],
    ["superseded", "inactive", "Superseded: Degraded"],
  ])("%s -> %s", (stage, state, description) => {
    expect(stageStatus(stage, { ...at, reason: "Degraded" })).toEqual({ state, description });
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
