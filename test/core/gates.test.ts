import { describe, expect, it } from "vitest";
import {
  correlationIdsIn,
  findGateRun,
  gateEvidence,
  gateFailedDescription,
  gateHoldMarker,
  gateOutcome,
  gatesVerdict,
  isGateFailure,
  parseGateHold,
  planGateDispatch,
  type GateRun,
} from "../../src/core/gates.js";
import { markerTag } from "../../src/core/markers.js";
import { owedDescription, parseOwed } from "../../src/core/owed.js";
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

describe("finding Conveyor's run by its whole correlation id", () => {
  it.each([
    ["e2e [conveyor-staging-42-1]", ["conveyor-staging-42-1"]],
    ["conveyor-staging-42-10", ["conveyor-staging-42-10"]],
    ["e2e conveyor-pre-prod-7-2 and conveyor-staging-8-1", ["conveyor-pre-prod-7-2", "conveyor-staging-8-1"]],
    ["xconveyor-staging-42-1", []],
    ["conveyor-staging-42-1x", []],
    ["e2e of main", []],
  ])("%s -> %j", (title, ids) => {
    expect(correlationIdsIn(title)).toEqual(ids);
  });
  it("gate 1's id does not find gate 10's run, nor a run made before the gate started", () => {
    const runs = [
      { display_title: "conveyor-staging-42-10", created_at: "2026-01-01T10:05:00Z" },
      { display_title: "conveyor-staging-42-1", created_at: "2026-01-01T09:00:00Z" },
    ];
    expect(findGateRun(runs, "conveyor-staging-42-1", "2026-01-01T10:00:00.000Z")).toBeUndefined();
    expect(findGateRun(runs, "conveyor-staging-42-1")).toBe(runs[1]);
    // GitHub's clock a little behind Conveyor's: still found.
    expect(findGateRun(runs, "conveyor-staging-42-10", "2026-01-01T10:05:30.000Z")).toBe(runs[0]);
  });
});

describe("gatesVerdict: all of an environment's gates at once", () => {
  const start = "2026-01-01T10:00:00.000Z";
  const at = (minutes: number) => new Date(Date.parse(start) + minutes * 60_000).toISOString();
  const run = (id: number, status: string, conclusion: string | null): GateRun => ({
    id,
    status,
    conclusion,
    htmlUrl: `https://github.com/acme/order-service/actions/runs/${id}`,
  });
  const passed = (id: number) => run(id, "completed", "success");
  const table: Array<[string, Array<GateRun | undefined>, number, Record<string, unknown>]> = [
    [
      "both passed: evidence for each",
      [passed(1), passed(2)],
      5,
      {
        kind: "passed",
        evidence: [
          "E2E gate `e2e.yml` passed in staging: success, [run 1](https://github.com/acme/order-service/actions/runs/1)",
          "E2E gate `smoke.yml` passed in staging: success, [run 2](https://github.com/acme/order-service/actions/runs/2)",
        ],
      },
    ],
    [
      "one passed, one running: wait for its deadline",
      [passed(1), run(2, "in_progress", null)],
      5,
      { kind: "waiting", deadline: at(30) },
    ],
    ["one not started yet: wait", [undefined, passed(2)], 1, { kind: "waiting", deadline: at(30) }],
    [
      "the second failed: failed, even with the first still running",
      [run(1, "queued", null), run(2, "completed", "failure")],
      5,
      { kind: "failed", reason: "smoke.yml ended failure (https://github.com/acme/order-service/actions/runs/2)" },
    ],
    [
      "one timed out",
      [passed(1), run(2, "in_progress", null)],
      31,
      {
        kind: "failed",
        reason:
          "smoke.yml did not finish within 30m (https://github.com/acme/order-service/actions/runs/2, in_progress)",
      },
    ],
  ];
  it.each(table)("%s", (_, runs, minute, expected) => {
    expect(gatesVerdict([e2e, smoke], runs, "staging", start, at(minute))).toMatchObject(expected);
  });
});

describe("what is recorded about gates on GitHub", () => {
  it("the Deployment's in_progress status says since when the gates run, and reads back", () => {
    const owed = { kind: "verified" as const, gates: { since: "2026-01-01T10:00:00.000Z" } };
    expect(owedDescription(owed)).toBe("Verdict: verified; E2E gates since 2026-01-01T10:00:00.000Z");
    expect(parseOwed(owedDescription(owed))).toEqual(owed);
    expect(parseOwed("Verdict: verified; acting on it")).toEqual({ kind: "verified" });
    // Someone wrote a status by hand: the gates are taken as started long ago, so they time out.
    expect(parseOwed("Verdict: verified; E2E gates since whenever")).toEqual({
      kind: "verified",
      gates: { since: "1970-01-01T00:00:00.000Z" },
    });
  });
  it("a gate's failure is told apart from a rollout's, within GitHub's 140 characters", () => {
    const description = gateFailedDescription("e2e.yml ended failure " + "x".repeat(200));
    expect(description).toHaveLength(140);
    expect(isGateFailure(description)).toBe(true);
    expect(isGateFailure('Deployment "order-service" exceeded its progress deadline')).toBe(false);
    expect(isGateFailure(undefined)).toBe(false);
  });
  it("a gate's hold names its Deployment; other holds name none", () => {
    expect(parseGateHold(`held\n\n${markerTag(gateHoldMarker(77))}`)).toBe(77);
    expect(parseGateHold("held image: `x`\n\n<!-- conveyor:hold:order-service:staging -->")).toBeUndefined();
  });
});
