// The verdict over one Deployment of an app (a blue-green slot, a canary), on a real Argo CD
// Application (test/fixtures/argo/app-01) given two slot Deployments in status.resources.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Application, ResourceStatus } from "../../src/core/argo-types.js";
import { observe, verdictFor } from "../../src/core/verdict/index.js";
import { focusOnResources } from "../../src/core/verdict/resource-health.js";

const REVISION = "ea8759964626a583667a2bfd08f334ec2070040a"; // app-01's synced revision
const MERGE = Date.parse("2024-03-05T07:30:00.000Z"); // app-01's sync finished at 07:33:04
const at = (minutes: number) => new Date(MERGE + minutes * 60_000).toISOString();

const captured = parse(
  readFileSync(new URL("../fixtures/argo/app-01-synced-healthy.yaml", import.meta.url), "utf8")
    .split("\n")
    .filter((line) => !line.startsWith("# SOURCE:"))
    .join("\n"),
) as Application;

function app(appHealth: string, slots: { blue?: string; green?: string }): Application {
  const copy = structuredClone(captured);
  copy.status!.sync!.revision = REVISION;
  copy.status!.health = { status: appHealth };
  const slot = (name: string, status: string | undefined): ResourceStatus => ({
    group: "apps",
    version: "v1",
    kind: "Deployment",
    namespace: "test-lla",
    name,
    status: "Synced",
    ...(status
      ? { health: { status, ...(status === "Degraded" ? { message: "progress deadline exceeded" } : {}) } }
      : {}),
  });
  copy.status!.resources = [
    ...(copy.status!.resources ?? []),
    ...(slots.blue !== undefined ? [slot("web-blue", slots.blue)] : []),
    ...(slots.green !== undefined ? [slot("web-green", slots.green || undefined)] : []),
  ];
  return copy;
}

const GREEN = [{ kind: "Deployment", name: "web-green", group: "apps" }];

/** The verdict at minute 10 over the green slot, having seen the same state at minutes 4 and 7. */
function verdictOnGreen(application: Application) {
  const view = focusOnResources(application, GREEN);
  const common = { rollouts: [], target: { revision: REVISION }, isAncestor: () => false };
  return verdictFor({
    ...common,
    app: view,
    startedAt: at(0),
    now: at(10),
    deadlines: { syncMs: 30 * 60_000, healthMs: 15 * 60_000, suspendedMs: 60 * 60_000 },
    soakMs: 5 * 60_000,
    history: [4, 7].map((m) => observe({ ...common, app: view, now: at(m) })),
    degradedGraceMs: 2 * 60_000,
  });
}

describe("the verdict over one Deployment: per-resource health, not the app's", () => {
  it("an app that is Healthy overall does not verify a Degraded idle slot", () => {
    const verdict = verdictOnGreen(app("Healthy", { blue: "Healthy", green: "Degraded" }));
    expect(verdict.kind).toBe("failed");
    if (verdict.kind === "failed") {
      expect(verdict.code).toBe("degraded");
      expect(verdict.reason).toContain("Deployment web-green: progress deadline exceeded");
    }
  });

  it("a Healthy slot is verified after the soak even while another resource is Degraded", () => {
    expect(verdictOnGreen(app("Degraded", { blue: "Degraded", green: "Healthy" })).kind).toBe("verified");
  });

  it("a slot Argo CD does not list is Missing; one without health yet is Progressing", () => {
    const missing = focusOnResources(app("Healthy", { blue: "Healthy" }), GREEN);
    expect(missing.status?.health).toEqual({
      status: "Missing",
      message: "Deployment web-green is not among the app's resources",
    });
    expect(verdictOnGreen(app("Healthy", { blue: "Healthy" })).kind).not.toBe("verified");
    const pending = focusOnResources(app("Healthy", { green: "" }), GREEN);
    expect(pending.status?.health?.status).toBe("Progressing");
  });

  it("keeps sync state and operations: only health is narrowed", () => {
    const whole = app("Healthy", { blue: "Healthy", green: "Healthy" });
    const view = focusOnResources(whole, GREEN);
    expect(view.status?.sync).toEqual(whole.status?.sync);
    expect(view.status?.operationState).toEqual(whole.status?.operationState);
    expect(view.status?.resources?.map((r) => r.name)).toEqual(["web-green"]);
    expect(focusOnResources(whole, [])).toBe(whole);
  });
});
