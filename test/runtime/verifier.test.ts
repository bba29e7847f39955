// The verification loop over a scripted Argo CD source: real objects from test/fixtures/argo, a fake
// clock, and outcomes recorded instead of sent to GitHub.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Application, AppProject } from "../../src/core/argo-types.js";
import type { AppKey, ArgoSource } from "../../src/core/argo-source.js";
import type { Verification } from "../../src/core/verification.js";
import { Verifier } from "../../src/runtime/verifier.js";
import { eventually } from "../helpers/argo-sim-repo.js";

const REV = "1111111111111111111111111111111111111111";
const LATER = "2222222222222222222222222222222222222222";

function fixture(name: string): Application {
  const text = readFileSync(new URL(`../fixtures/argo/${name}`, import.meta.url), "utf8");
  return parse(text.replace(/^# SOURCE:.*\n/, "")) as Application;
}

/** app-04 (Synced, Healthy, operation Succeeded) re-pointed at a revision. */
function healthyAt(revision: string, health = "Healthy"): Application {
  const app = fixture("app-04-synced-healthy-operation-succeeded.yaml");
  app.metadata = { ...app.metadata, name: "api-staging", namespace: "argocd" };
  app.spec = { ...app.spec, syncPolicy: { automated: {} } } as Application["spec"];
  const status = app.status!;
  status.sync = { ...status.sync, status: "Synced", revision };
  status.operationState = {
    ...status.operationState!,
    phase: "Succeeded",
    finishedAt: "2026-01-01T00:00:01Z",
    syncResult: { revision },
  };
  status.reconciledAt = "2026-01-01T00:00:02Z";
  status.health = {
    status: health,
    message: health === "Degraded" ? 'Deployment "api" exceeded its progress deadline' : undefined,
  };
  return app;
}

/** A change of `service` in staging (app `<service>-staging`), soak 2 s. */
function verificationOf(service: string, revision: string, deploymentId: number): Verification {
  return {
    repo: { owner: "acme", repo: "manifests", installationId: 1, cloneUrl: "file:///dev/null", defaultBranch: "main" },
    service,
    env: "staging",
    app: { namespace: "argocd", name: `${service}-staging` },
    revision,
    deploymentId,
    file: `services/${service}/overlays/staging/kustomization.yaml`,
    startedAt: "2026-01-01T00:00:00Z",
    policy: { soakMs: 2_000, syncMs: 60_000, healthMs: 60_000, suspendedMs: 60_000, degradedGraceMs: 1_000 },
  };
}

class ScriptedSource implements ArgoSource {
  apps = new Map<string, Application>();
  listeners = new Set<(app: Application) => void>();
  refreshed: string[] = [];
  /** The AppProjects by name (absent: the source cannot read them). */
  projects?: Map<string, AppProject>;
  async start() {}
  async stop() {}
  onApplication(listener: (app: Application) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  getApplication(key: AppKey) {
    return this.apps.get(key.name);
  }
  rolloutsFor() {
    return [];
  }
  projectFor(app: Application) {
    return this.projects?.get(app.spec?.project || "default");
  }
  async refresh(key: AppKey) {
    this.refreshed.push(key.name);
  }
  stats() {
    return { watchConnections: 1, reconnects: 0, relists: 0 };
  }
  set(app: Application) {
    this.apps.set(app.metadata!.name!, app);
    for (const l of this.listeners) l(app);
  }
}

function setup() {
  let now = Date.parse("2026-01-01T00:00:03Z");
  const source = new ScriptedSource();
  const outcomes: Array<[string, number, string]> = [];
  const statuses: string[] = [];
  const warnings: string[] = [];
  const verifier = new Verifier({
    source,
    now: () => now,
    tickMs: 60_000,
    isAncestor: async (_v, a, d) => a === REV && d === LATER,
    outcomes: {
      verified: async (v) => void outcomes.push(["verified", v.deploymentId, ""]),
      failed: async (v, verdict) => void outcomes.push(["failed", v.deploymentId, verdict.reason]),
      superseded: async (v, by) => void outcomes.push(["superseded", v.deploymentId, by]),
      waiting: async (_v, description) => void statuses.push(description),
    },
    log: { info: () => undefined, warn: (_obj, msg) => void warnings.push(String(msg)), error: () => undefined },
  });
  verifier.start();
  const track = (revision: string, deploymentId: number) =>
    verifier.track(verificationOf("api", revision, deploymentId));
  const advance = async (ms: number, app?: Application) => {
    now += ms;
    if (app) source.set(app);
    await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { source, verifier, outcomes, statuses, warnings, track, advance };
}

describe("Verifier", () => {
  it("asks Argo CD to refresh, then verifies only after the soak period", async () => {
    const t = setup();
    t.track(REV, 1);
    expect(t.source.refreshed).toEqual(["api-staging"]);
    await t.advance(0, healthyAt(REV));
    await t.advance(1_000, healthyAt(REV));
    expect(t.outcomes).toEqual([]);
    await t.advance(1_500, healthyAt(REV));
    expect(t.outcomes).toEqual([["verified", 1, ""]]);
    expect(t.verifier.inFlight()).toEqual([]);
    t.verifier.stop();
  });

  it("accepts a later commit that contains the revision", async () => {
    const t = setup();
    t.track(REV, 1);
    await t.advance(0, healthyAt(LATER));
    await t.advance(2_500, healthyAt(LATER));
    expect(t.outcomes).toEqual([["verified", 1, ""]]);
    t.verifier.stop();
  });

  it("fails a Degraded that persists past the grace period, once", async () => {
    const t = setup();
    t.track(REV, 1);
    await t.advance(0, healthyAt(REV, "Degraded"));
    await t.advance(1_500, healthyAt(REV, "Degraded"));
    await t.advance(1_500, healthyAt(REV, "Degraded"));
    expect(t.outcomes).toHaveLength(1);
    expect(t.outcomes[0]?.[0]).toBe("failed");
    expect(t.outcomes[0]?.[2]).toContain("exceeded its progress deadline");
    t.verifier.stop();
  });

  it("a later change to the same overlay supersedes the watch", async () => {
    const t = setup();
    t.track(REV, 1);
    t.track(LATER, 2);
    await t.advance(0);
    expect(t.outcomes).toEqual([["superseded", 1, LATER]]);
    expect(t.verifier.inFlight().map((v) => v.deploymentId)).toEqual([2]);
    t.verifier.stop();
  });
});

/** app-04 with the merged revision compared (OutOfSync) but not applied yet: auto-sync has not started. */
function pendingAt(revision: string): Application {
  const app = healthyAt("0000000000000000000000000000000000000000");
  app.status!.sync = { status: "OutOfSync", revision };
  return app;
}

/** app-04's project with a deny window over every app from 00:00 to 00:02 UTC on 1 January. */
const newYearFreeze: AppProject = {
  apiVersion: "argoproj.io/v1alpha1",
  kind: "AppProject",
  metadata: { name: "important-project", namespace: "argocd" },
  spec: { syncWindows: [{ kind: "deny", schedule: "0 0 1 1 *", duration: "2m", applications: ["*"] }] },
};

describe("Verifier and Argo CD sync windows", () => {
  it("without the project's windows, a sync that does not start within the sync timeout fails", async () => {
    const t = setup();
    t.track(REV, 1);
    await t.advance(0, pendingAt(REV));
    await t.advance(61_000, pendingAt(REV));
    expect(t.outcomes).toEqual([["failed", 1, expect.stringContaining("auto-sync has not applied it")]]);
    t.verifier.stop();
  });

  it("waits while a deny window holds the sync, says so once, and counts the deadline from its end", async () => {
    const t = setup();
    t.source.projects = new Map([["important-project", newYearFreeze]]);
    t.track(REV, 1);
    await t.advance(0, pendingAt(REV));
    await t.advance(90_000, pendingAt(REV)); // 00:01:33, past merge + sync timeout
    expect(t.outcomes).toEqual([]);
    expect(t.statuses).toEqual(["Argo CD sync window #0 (deny, '0 0 1 1 *' for 2m) holds the sync until 00:02 UTC"]);
    expect(t.source.refreshed).toEqual(["api-staging"]);

    // The window ends: Argo CD is asked to look again, the Deployment says so, and the sync has
    // a full timeout from 00:02.
    await t.advance(30_000, pendingAt(REV)); // 00:02:03
    expect(t.source.refreshed).toEqual(["api-staging", "api-staging"]);
    expect(t.statuses).toEqual([
      "Argo CD sync window #0 (deny, '0 0 1 1 *' for 2m) holds the sync until 00:02 UTC",
      "Watching Argo CD application api-staging; the sync window has ended",
    ]);
    await t.advance(50_000, pendingAt(REV)); // 00:02:53
    expect(t.outcomes).toEqual([]);
    await t.advance(1_000, healthyAt(REV));
    await t.advance(2_500, healthyAt(REV));
    expect(t.outcomes).toEqual([["verified", 1, ""]]);
    t.verifier.stop();
  });

  it("fails once the sync timeout has passed after the window, naming it", async () => {
    const t = setup();
    t.source.projects = new Map([["important-project", newYearFreeze]]);
    t.track(REV, 1);
    await t.advance(0, pendingAt(REV));
    await t.advance(120_000, pendingAt(REV)); // 00:02:03
    await t.advance(58_000, pendingAt(REV)); // 00:03:01
    expect(t.outcomes).toEqual([
      ["failed", 1, expect.stringContaining("1m1s after sync window #0 (deny, '0 0 1 1 *' for 2m) ended")],
    ]);
    t.verifier.stop();
  });

  it("a window removed from the project early: the sync still has a full timeout from when it was seen holding", async () => {
    const t = setup();
    t.source.projects = new Map([["important-project", newYearFreeze]]);
    t.track(REV, 1);
    await t.advance(0, pendingAt(REV));
    await t.advance(70_000, pendingAt(REV)); // 00:01:13, held, past merge + sync timeout
    expect(t.statuses).toEqual(["Argo CD sync window #0 (deny, '0 0 1 1 *' for 2m) holds the sync until 00:02 UTC"]);
    // An operator lifts the freeze: the window is gone from the AppProject, as if it never was.
    t.source.projects = new Map([["important-project", { ...newYearFreeze, spec: { syncWindows: [] } }]]);
    await t.advance(1_000, pendingAt(REV));
    expect(t.source.refreshed).toEqual(["api-staging", "api-staging"]);
    await t.advance(50_000, pendingAt(REV));
    expect(t.outcomes).toEqual([]);
    await t.advance(1_000, healthyAt(REV));
    await t.advance(2_500, healthyAt(REV));
    expect(t.outcomes).toEqual([["verified", 1, ""]]);
    t.verifier.stop();
  });

  it("a window removed early and a sync that still never starts: fails a timeout later, naming the window", async () => {
    const t = setup();
    t.source.projects = new Map([["important-project", newYearFreeze]]);
    t.track(REV, 1);
    await t.advance(0, pendingAt(REV));
    await t.advance(70_000, pendingAt(REV));
    t.source.projects = new Map([["important-project", { ...newYearFreeze, spec: { syncWindows: [] } }]]);
    await t.advance(30_000, pendingAt(REV));
    expect(t.outcomes).toEqual([]);
    await t.advance(32_000, pendingAt(REV));
    expect(t.outcomes).toEqual([
      ["failed", 1, expect.stringContaining("after sync window #0 (deny, '0 0 1 1 *' for 2m) ended")],
    ]);
    t.verifier.stop();
  });

  it("warns once about windows Argo CD cannot parse, which hold nothing", async () => {
    const t = setup();
    const broken: AppProject = {
      ...newYearFreeze,
      spec: { syncWindows: [{ kind: "deny", schedule: "0 0 1 1 *", duration: "2 minutes", applications: ["*"] }] },
    };
    t.source.projects = new Map([["important-project", broken]]);
    t.track(REV, 1);
    await t.advance(0, pendingAt(REV));
    await t.advance(1_000, pendingAt(REV));
    await t.advance(1_000, pendingAt(REV));
    expect(t.warnings).toEqual(["sync windows Argo CD cannot parse are ignored"]);
    expect(t.statuses).toEqual([]);
    t.verifier.stop();
  });

  it("the clock's sweep judges every verification in flight, however many, and none after stop()", async () => {
    // No Application event after the first: only the periodic sweep can see the soak end, for
    // more verifications than it judges at once.
    const source = new ScriptedSource();
    const names = Array.from({ length: 130 }, (_, i) => `svc-${i}-staging`);
    for (const name of names) {
      const app = healthyAt(REV);
      app.metadata = { ...app.metadata, name };
      source.apps.set(name, app);
    }
    let now = Date.parse("2026-01-01T00:00:03Z");
    const verified: string[] = [];
    const verifier = new Verifier({
      source,
      now: () => now,
      tickMs: 10,
      isAncestor: async () => false,
      outcomes: {
        verified: async (v) => void verified.push(v.app.name),
        failed: async () => undefined,
        superseded: async () => undefined,
      },
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    verifier.start();
    const track = (name: string, deploymentId: number) =>
      verifier.track(verificationOf(name.replace(/-staging$/, ""), REV, deploymentId));
    names.slice(0, 120).forEach((name, i) => track(name, i + 1));
    await eventually(() => verifier.inFlight().length === 120, 30_000, "all tracked");
    expect(verified).toEqual([]); // healthy, but not for the soak yet
    now += 3_000;
    await eventually(() => verified.length === 120, 30_000, "all verified by the sweep");
    expect(new Set(verified)).toEqual(new Set(names.slice(0, 120)));

    verifier.stop();
    names.slice(120).forEach((name, i) => track(name, 200 + i));
    now += 3_000;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(verified).toHaveLength(120); // the ten tracked after stop() are judged once, when tracked
  });
});
