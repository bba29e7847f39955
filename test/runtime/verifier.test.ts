// The verification loop over a scripted Argo CD source: real objects from test/fixtures/argo, a fake
// clock, and outcomes recorded instead of sent to GitHub.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Application } from "../../src/core/argo-types.js";
import type { AppKey, ArgoSource } from "../../src/core/argo-source.js";
import type { Verification } from "../../src/core/verification.js";
import { Verifier } from "../../src/runtime/verifier.js";

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

class ScriptedSource implements ArgoSource {
  apps = new Map<string, Application>();
  listeners = new Set<(app: Application) => void>();
  refreshed: string[] = [];
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
  const verifier = new Verifier({
    source,
    now: () => now,
    tickMs: 60_000,
    isAncestor: async (_v, a, d) => a === REV && d === LATER,
    outcomes: {
      verified: async (v) => void outcomes.push(["verified", v.deploymentId, ""]),
      failed: async (v, verdict) => void outcomes.push(["failed", v.deploymentId, verdict.reason]),
      superseded: async (v, by) => void outcomes.push(["superseded", v.deploymentId, by]),
    },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  verifier.start();
  const track = (revision: string, deploymentId: number) => {
    const v: Verification = {
      repo: {
        owner: "acme",
        repo: "manifests",
        installationId: 1,
        cloneUrl: "file:///dev/null",
        defaultBranch: "main",
      },
      service: "api",
      env: "staging",
      app: { namespace: "argocd", name: "api-staging" },
      revision,
      deploymentId,
      file: "services/api/overlays/staging/kustomization.yaml",
      startedAt: "2026-01-01T00:00:00Z",
      policy: { soakMs: 2_000, syncMs: 60_000, healthMs: 60_000, suspendedMs: 60_000, degradedGraceMs: 1_000 },
    };
    verifier.track(v);
  };
  const advance = async (ms: number, app?: Application) => {
    now += ms;
    if (app) source.set(app);
    await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { source, verifier, outcomes, track, advance };
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
