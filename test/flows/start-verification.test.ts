// start-verification: a merged change becomes a GitHub Deployment (Conveyor's durable record),
// marked in progress, announced on its PR, and handed to this replica's verifier when it runs the
// watch loop. Strict GitHub mocks; a real Verifier over a fake Argo CD source.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Application } from "../../src/core/argo-types.js";
import type { AppKey, ArgoSource } from "../../src/core/argo-source.js";
import { findEnvironment, parseConfig, type Config, type EnvironmentConfig } from "../../src/core/config.js";
import type { ChangeRecord } from "../../src/core/verification.js";
import { startVerification, type StartInput } from "../../src/flows/start-verification.js";
import { Verifier } from "../../src/runtime/verifier.js";
import { flowWorld, INSTALLATION, R, type FlowWorld } from "../helpers/flow-world.js";
import { expectSourceInstalled, expectSourceView } from "../helpers/source-view-mock.js";

const REV = "a1".repeat(20);
const BASE = "b2".repeat(20);
const FILE = "services/order-service/overlays/staging/kustomization.yaml";
const FROM = "ghcr.io/acme/order-service:1.4.0";
const TO = "ghcr.io/acme/order-service:1.5.0";

/** An Argo CD that knows no application yet: a tracked verification just waits. */
class QuietArgo implements ArgoSource {
  refreshed: string[] = [];
  async start() {}
  async stop() {}
  onApplication() {
    return () => undefined;
  }
  getApplication(): Application | undefined {
    return undefined;
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
}

let w: FlowWorld;
let argo: QuietArgo;
let decided: string[];
beforeEach(() => {
  w = flowWorld();
  argo = new QuietArgo();
  decided = [];
});
afterEach(() => {
  w.services.verifier?.stop();
  w.cleanup();
});

function verifier(start: boolean): Verifier {
  const v = new Verifier({
    source: argo,
    tickMs: 600_000,
    isAncestor: async () => false,
    outcomes: {
      verified: async (x) => void decided.push(`verified ${x.deploymentId}`),
      failed: async (x) => void decided.push(`failed ${x.deploymentId}`),
      superseded: async (x) => void decided.push(`superseded ${x.deploymentId}`),
    },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  if (start) v.start();
  w.services.verifier = v;
  return v;
}

function configOf(raw: unknown = {}): Config {
  const parsed = parseConfig(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

function input(
  overrides: Partial<Omit<StartInput, "change">> & { change?: Partial<ChangeRecord>; envName?: string } = {},
): StartInput {
  const config = overrides.config ?? configOf();
  const envName = overrides.envName ?? "staging";
  const env = findEnvironment(config, envName) as EnvironmentConfig;
  return {
    config,
    env,
    change: {
      service: "order-service",
      env: envName,
      file: FILE.replace("/staging/", `/${envName}/`),
      revision: REV,
      base: BASE,
      from: FROM,
      to: TO,
      pr: 12,
      ...overrides.change,
    },
    pr: "pr" in overrides ? overrides.pr : { number: 12, author: "alice", labels: ["conveyor", "env/staging"] },
    announce: overrides.announce ?? true,
  };
}

/** Mocks the Deployment's creation (capturing what was sent) and its in_progress status. */
function expectDeployment(id: number, environment = "staging") {
  const seen: { create?: Record<string, unknown>; status?: Record<string, unknown> } = {};
  w.gh.scope
    .post(`${R}/deployments`, (b) => ((seen.create = b), true))
    .reply(201, { id, sha: REV, environment, created_at: "2026-01-01T00:00:00Z", url: `https://api/d/${id}` });
  w.gh.scope.post(`${R}/deployments/${id}/statuses`, (b) => ((seen.status = b), true)).reply(201, {});
  return seen;
}

function expectComment(number: number) {
  const seen: { body?: string } = {};
  w.gh.scope
    .post(`${R}/issues/${number}/comments`, (b: { body: string }) => ((seen.body = b.body), true))
    .reply(201, { id: 1, html_url: "c" });
  return seen;
}

describe("startVerification", () => {
  it("records a Conveyor Deployment at the merged commit, marks it in progress, then tells the PR (3 calls, in that order)", async () => {
    const d = expectDeployment(501);
    const comment = expectComment(12);
    const result = await startVerification(w.services, w.scope, input());

    expect(result).toEqual({ deploymentId: 501, app: "order-service-staging" });
    expect(d.create).toEqual({
      ref: REV,
      environment: "staging",
      description: `order-service: ${TO}`,
      production_environment: false,
      task: "deploy",
      auto_merge: false,
      required_contexts: [],
      payload: {
        conveyor: true,
        service: "order-service",
        from: FROM,
        to: TO,
        pr: 12,
        application: "order-service-staging",
        file: FILE,
        base: BASE,
        revert: false,
      },
    });
    expect(d.status).toEqual({
      state: "in_progress",
      description: "Watching Argo CD application order-service-staging",
      auto_inactive: false,
    });
    expect(comment.body).toBe(
      "Merged as `a1a1a1a1a1a1`. Conveyor is watching Argo CD application `order-service-staging` until order-service runs it synced and healthy in **staging** for 2m (deployment 501).",
    );
    expect(w.gh.calls()).toEqual([
      `POST ${R}/deployments`,
      `POST ${R}/deployments/501/statuses`,
      `POST ${R}/issues/12/comments`,
    ]);
  });

  it("names the Argo CD application from the config's template, and marks the last environment as production", async () => {
    const config = configOf({
      environments: [{ name: "staging" }, { name: "production", soak: "7m" }],
      argocd: { application: "{env}-{service}" },
    });
    const d = expectDeployment(502, "production");
    const comment = expectComment(12);
    const result = await startVerification(w.services, w.scope, input({ config, envName: "production" }));

    expect(result.app).toBe("production-order-service");
    expect(d.create).toMatchObject({
      environment: "production",
      production_environment: true,
      payload: { application: "production-order-service", file: FILE.replace("/staging/", "/production/") },
    });
    expect(d.status?.description).toBe("Watching Argo CD application production-order-service");
    expect(comment.body).toContain("in **production** for 7m (deployment 502)");
  });

  it("an overlay change without a known image is described as such, with null images in the payload", async () => {
    const d = expectDeployment(503);
    expectComment(12);
    await startVerification(
      w.services,
      w.scope,
      input({ change: { from: undefined, to: undefined, base: undefined } }),
    );
    expect(d.create?.description).toBe("order-service: overlay change");
    expect(d.create?.payload).toMatchObject({ from: null, to: null, base: null });
  });

  it("does not comment when told not to announce (a /retry answers in its own reply)", async () => {
    expectDeployment(504);
    await startVerification(w.services, w.scope, input({ announce: false }));
    expect(w.gh.calls()).toEqual([`POST ${R}/deployments`, `POST ${R}/deployments/504/statuses`]);
  });

  it("does not comment when the change came without a PR (a person pushed to main)", async () => {
    const d = expectDeployment(505);
    await startVerification(w.services, w.scope, input({ pr: undefined, change: { pr: undefined } }));
    expect(d.create?.payload).toMatchObject({ pr: null });
    expect(w.gh.calls()).toHaveLength(2);
  });

  it("hands the verification to the running verifier, which asks Argo CD to refresh the application", async () => {
    const v = verifier(true);
    expectDeployment(506);
    expectComment(12);
    const before = Date.now();
    await startVerification(w.services, w.scope, input());
    const after = Date.now();

    const inFlight = v.inFlight();
    expect(inFlight).toHaveLength(1);
    const tracked = inFlight[0]!;
    expect(tracked).toMatchObject({
      repo: {
        owner: "acme",
        repo: "manifests",
        installationId: INSTALLATION,
        cloneUrl: w.remote.url,
        defaultBranch: "main",
      },
      service: "order-service",
      env: "staging",
      app: { namespace: "argocd", name: "order-service-staging" },
      revision: REV,
      base: BASE,
      deploymentId: 506,
      pr: { number: 12, author: "alice", labels: ["conveyor", "env/staging"] },
      from: FROM,
      to: TO,
      file: FILE,
      policy: { soakMs: 120_000, syncMs: 600_000, healthMs: 900_000, suspendedMs: 3_600_000, degradedGraceMs: 60_000 },
    });
    const started = Date.parse(tracked.startedAt);
    expect(started).toBeGreaterThanOrEqual(before);
    expect(started).toBeLessThanOrEqual(after);
    expect(v.isTracking(506)).toBe(true);
    expect(argo.refreshed).toEqual(["order-service-staging"]);
    expect(decided).toEqual([]);
    expect(
      w.logs.some((l) => l.msg === "verification started" && (l.obj as { deployment?: number }).deployment === 506),
    ).toBe(true);
  });

  it("leaves the verification to the replica that leads when this one's verifier is not running", async () => {
    const v = verifier(false);
    expectDeployment(507);
    expectComment(12);
    const result = await startVerification(w.services, w.scope, input());

    expect(result.deploymentId).toBe(507);
    expect(v.inFlight()).toEqual([]);
    expect(argo.refreshed).toEqual([]);
    expect(w.logs.some((l) => l.msg === "verification started")).toBe(false);
  });

  it("a retry says so on the Deployment and its status, and records which Deployment it retries", async () => {
    const v = verifier(true);
    const d = expectDeployment(508);
    await startVerification(w.services, w.scope, input({ announce: false, change: { retryOf: 400 } }));

    expect(d.create?.description).toBe(`order-service: ${TO} (retry)`);
    expect(d.create?.payload).toMatchObject({ conveyor: true, retryOf: 400 });
    expect(d.status?.description).toBe("Watching Argo CD application order-service-staging (retry)");
    expect(v.inFlight().map((x) => x.deploymentId)).toEqual([508]);
  });

  it("a first attempt records no retryOf at all", async () => {
    const d = expectDeployment(509);
    await startVerification(w.services, w.scope, input({ announce: false }));
    expect(d.create?.payload).not.toHaveProperty("retryOf");
    expect(d.status?.description).not.toContain("retry");
  });

  it("when GitHub refuses the Deployment, nothing is marked, announced or watched", async () => {
    const v = verifier(true);
    w.gh.scope.post(`${R}/deployments`).reply(422, { message: "Validation Failed" });
    await expect(startVerification(w.services, w.scope, input())).rejects.toThrow(/Validation Failed/);
    expect(w.gh.calls()).toEqual([`POST ${R}/deployments`]);
    expect(v.inFlight()).toEqual([]);
  });
});

describe("the service repository's view (acme/order-service in the installation)", () => {
  const SHA = "d".repeat(40);
  const source = { repository: "acme/order-service", sha: SHA };
  const PR_URL = "https://github.com/acme/manifests/pull/12";

  it("the merge, then the watch: two stages on the commit's staging Deployment, linking the manifests PR", async () => {
    expectSourceInstalled(w.gh.scope);
    const merged = expectSourceView(
      w.gh.scope,
      SHA,
      [{ id: 7, environment: "staging", state: "pending", description: "PR open acme/manifests#12", log_url: PR_URL }],
      { deploymentId: 7, env: "staging" },
    );
    expectDeployment(510);
    expectComment(12);
    const verifying = expectSourceView(
      w.gh.scope,
      SHA,
      [
        {
          id: 7,
          environment: "staging",
          state: "in_progress",
          description: "Merged in acme/manifests#12; verifying next",
          log_url: PR_URL,
        },
      ],
      { deploymentId: 7, env: "staging" },
    );

    await startVerification(w.services, w.scope, input({ change: { source } }));

    expect(merged.status).toEqual({
      state: "in_progress",
      description: "Merged in acme/manifests#12; verifying next",
      log_url: PR_URL,
      auto_inactive: false,
    });
    expect(merged.check?.output.summary).toContain("| staging | 🔀 merged — Merged in acme/manifests#12");
    expect(verifying.status).toEqual({
      state: "in_progress",
      description: "Verifying in staging acme/manifests#12",
      log_url: PR_URL,
      auto_inactive: false,
    });
    expect(verifying.check).toMatchObject({ name: "conveyor/environments", status: "in_progress" });
    expect(verifying.check?.output.summary).toContain("| staging | 🔄 verifying — Verifying in staging");
  });

  it("a push seen again after its stages were written (another replica) writes neither again", async () => {
    expectSourceInstalled(w.gh.scope);
    const written = [
      {
        id: 7,
        environment: "staging",
        state: "in_progress",
        description: "Verifying in staging acme/manifests#12",
        log_url: PR_URL,
      },
    ];
    expectSourceView(w.gh.scope, SHA, written);
    expectDeployment(511);
    expectComment(12);
    expectSourceView(w.gh.scope, SHA, written);

    await startVerification(w.services, w.scope, input({ change: { source } }));

    expect(w.gh.calls().filter((c) => c.startsWith("POST") && c.includes("order-service"))).toEqual([]);
  });

  it("a /retry after a failure: verifying again, without a second merge", async () => {
    expectSourceInstalled(w.gh.scope);
    expectDeployment(512);
    const again = expectSourceView(
      w.gh.scope,
      SHA,
      [
        {
          id: 7,
          environment: "staging",
          state: "failure",
          description: "Failed in staging: Degraded",
          log_url: PR_URL,
        },
      ],
      { deploymentId: 7, env: "staging" },
    );

    await startVerification(w.services, w.scope, input({ change: { source, retryOf: 501 }, announce: false }));

    expect(again.status).toMatchObject({ state: "in_progress", description: "Verifying in staging acme/manifests#12" });
  });
});
