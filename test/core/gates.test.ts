import { describe, expect, it } from "vitest";
import { findGateRun, gateEvidence, gateOutcome, planGateDispatch, type GateRun } from "../../src/core/gates.js";
import type { GateConfig } from "../../src/core/strategy-config.js";
import { validConfig } from "../helpers/config.js";

const config = validConfig({
  environments: [
    {
      name: "staging",
      gates: [
        { workflow: "e2e.yml", timeout: "30m" },
        { workflow: "smoke.yml", repository: "acme/e2e-suite", ref: "v2" },
      ],
    },
    { name: "production" },
  ],
});
const [e2e, smoke] = config.environments[0]!.gates as [GateConfig, GateConfig];
const ctx = {
  service: "order-service",
  env: "staging",
  image: "ghcr.io/acme/order-service:1.5.0",
  manifestsCommit: "a".repeat(40),
  sourceRepository: "acme/order-service",
  deploymentId: 42,
};

describe("planGateDispatch: what Conveyor dispatches once staging is verified", () => {
  it("runs {source}'s workflow with what was verified and a correlation id", () => {
    expect(planGateDispatch(e2e, 0, ctx)).toEqual({
      kind: "dispatch",
      dispatch: {
        repository: "acme/order-service",
        workflow: "e2e.yml",
        ref: "main",
        correlationId: "conveyor-staging-42-1",
        inputs: {
          image: "ghcr.io/acme/order-service:1.5.0",
          environment: "staging",
          service: "order-service",
          manifests_commit: "a".repeat(40),
          correlation_id: "conveyor-staging-42-1",
        },
      },
    });
  });
  it("runs a named repository's workflow at its ref", () => {
    expect(planGateDispatch(smoke, 1, ctx)).toMatchObject({
      kind: "dispatch",
      dispatch: { repository: "acme/e2e-suite", ref: "v2", correlationId: "conveyor-staging-42-2" },
    });
  });
  it("cannot run {source}'s workflow when the deploy event named no repository", () => {
    expect(planGateDispatch(e2e, 0, { ...ctx, sourceRepository: undefined })).toMatchObject({
      kind: "refuse",
      reason: expect.stringContaining("send source.repository"),
    });
  });
});

describe("gateOutcome", () => {
  const start = "2026-01-01T10:00:00.000Z";
  const at = (minutes: number) => new Date(Date.parse(start) + minutes * 60_000).toISOString();
  const run = (status: string, conclusion: string | null): GateRun => ({
    id: 7,
    status,
    conclusion,
    htmlUrl: "https://github.com/acme/order-service/actions/runs/7",
  });
  it.each([
    ["no run yet", undefined, 5, "waiting"],
    ["running", run("in_progress", null), 29, "waiting"],
    ["passed", run("completed", "success"), 10, "passed"],
    ["passed just after the timeout: the run decides", run("completed", "success"), 31, "passed"],
    ["failed", run("completed", "failure"), 10, "failed"],
    ["cancelled", run("completed", "cancelled"), 10, "failed"],
    ["still running past the timeout", run("in_progress", null), 31, "timed-out"],
    ["never started, past the timeout", undefined, 31, "timed-out"],
  ] as const)("%s -> %s", (_, given, minute, kind) => {
    expect(gateOutcome(e2e, given, start, at(minute)).kind).toBe(kind);
  });
  it("says why, with the run's link", () => {
    expect(gateOutcome(e2e, run("completed", "failure"), start, at(10))).toMatchObject({
      reason: "e2e.yml ended failure (https://github.com/acme/order-service/actions/runs/7)",
    });
    expect(gateOutcome(e2e, undefined, start, at(31))).toMatchObject({
      reason: "e2e.yml did not finish within 30m (no run started)",
    });
    expect(gateOutcome(e2e, undefined, start, at(1))).toMatchObject({ deadline: at(30) });
  });
  it("a passed gate is evidence in the promotion PR, with the run's link", () => {
    expect(gateEvidence(e2e, "staging", run("completed", "success"))).toBe(
      "E2E gate `e2e.yml` passed in staging: success, [run 7](https://github.com/acme/order-service/actions/runs/7)",
    );
  });
  it("finds Conveyor's run by the correlation id in its title", () => {
    const runs = [
      { display_title: "e2e of x [conveyor-staging-41-1]" },
      { display_title: "e2e of y [conveyor-staging-42-1]" },
    ];
    expect(findGateRun(runs, "conveyor-staging-42-1")).toBe(runs[1]);
    expect(findGateRun(runs, "conveyor-staging-43-1")).toBeUndefined();
  });
});
