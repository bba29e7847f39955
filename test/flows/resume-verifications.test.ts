// resume-verifications: after a restart (or when another replica started one) the leader finds
// every in-progress Conveyor Deployment of every installation's repositories and verifies it again,
// from its original start time. Strict GitHub mocks; a real Verifier over a fake Argo CD source,
// on a fixed clock so a resumed verification's deadlines cannot pass during the test.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Application } from "../../src/core/argo-types.js";
import type { AppKey, ArgoSource } from "../../src/core/argo-source.js";
import { VerificationResumer } from "../../src/flows/resume-verifications.js";
import { Verifier } from "../../src/runtime/verifier.js";
import { GateWaits } from "../../src/runtime/gate-waits.js";
import type { Owed } from "../../src/core/owed.js";
import type { VerdictActor } from "../../src/flows/act-on-verdict.js";
import { flowWorld, INSTALLATION, R, recordingLog, type FlowWorld } from "../helpers/flow-world.js";

const OTHER_INSTALLATION = 5151;
const STAGING = "services/order-service/overlays/staging/kustomization.yaml";
/** An hour ago: inside the 24 h look-back. The verifier's clock stands a minute after it. */
const CREATED = new Date(Date.now() - 3_600_000).toISOString();

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
let verifier: Verifier;
let decided: string[];
let resumer: VerificationResumer;

beforeEach(() => {
  w = flowWorld();
  argo = new QuietArgo();
  decided = [];
  verifier = new Verifier({
    source: argo,
    now: () => Date.parse(CREATED) + 60_000,
    tickMs: 600_000,
    isAncestor: async () => false,
    outcomes: {
      verified: async (v) => void decided.push(`verified ${v.deploymentId}`),
      failed: async (v) => void decided.push(`failed ${v.deploymentId}`),
      superseded: async (v) => void decided.push(`superseded ${v.deploymentId}`),
    },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  verifier.start();
  w.services.verifier = verifier;
  resumer = new VerificationResumer(w.services, recordingLog(w.logs));
});
afterEach(() => {
  verifier.stop();
  w.cleanup();
});

function deployment(id: number, extra: { created?: string; payload?: Record<string, unknown>; env?: string } = {}) {
  const env = extra.env ?? "staging";
  return {
    id,
    sha: String(id % 10).repeat(40),
    environment: env,
    created_at: extra.created ?? CREATED,
    url: `https://api.github.com${R}/deployments/${id}`,
    task: "deploy",
    payload: {
      conveyor: true,
      service: "order-service",
      from: "ghcr.io/acme/order-service:1.4.0",
      to: "ghcr.io/acme/order-service:1.5.0",
      pr: null,
      application: `order-service-${env}`,
      file: STAGING.replace("/staging/", `/${env}/`),
      base: "b".repeat(40),
      revert: false,
      ...extra.payload,
    },
  };
}

function expectInstallations(ids: number[]) {
  w.gh.scope
    .get("/app/installations")
    .query({ per_page: "100" })
    .reply(
      200,
      ids.map((id) => ({ id, account: { login: "acme" } })),
    );
}

function expectRepositories(repos: Array<{ owner: string; repo: string }>) {
  w.gh.scope
    .get("/installation/repositories")
    .query({ per_page: "100" })
    .reply(200, {
      total_count: repos.length,
      repositories: repos.map((r) => ({
        name: r.repo,
        full_name: `${r.owner}/${r.repo}`,
        owner: { login: r.owner },
        clone_url: r.repo === "manifests" ? w.remote.url : `https://github.com/${r.owner}/${r.repo}.git`,
        default_branch: "main",
      })),
    });
}

function expectDeployments(list: unknown[], repo = R) {
  w.gh.scope.get(`${repo}/deployments`).query({ task: "deploy", per_page: "100", page: "1" }).reply(200, list);
}

function expectLatestStatus(id: number, state: string | undefined) {
  w.gh.scope
    .get(`${R}/deployments/${id}/statuses`)
    .query({ per_page: "1" })
    .reply(200, state ? [{ state }] : []);
}

/** The usual scan of one installation with one manifests repository. */
function expectScan(list: unknown[]) {
  expectInstallations([INSTALLATION]);
  expectRepositories([{ owner: "acme", repo: "manifests" }]);
  expectDeployments(list);
}

describe("VerificationResumer", () => {
  it("resumes an in-progress Conveyor Deployment with its original start time and recorded application", async () => {
    expectScan([
      deployment(11, { payload: { application: "legacy-order-stg", pr: 12 } }),
      deployment(12),
      deployment(13, { payload: { conveyor: undefined } }),
      deployment(14, { created: new Date(Date.now() - 25 * 3_600_000).toISOString() }),
    ]);
    expectLatestStatus(11, "in_progress");
    expectLatestStatus(12, "success");
    // Older than any environment's deadlines (and owing no verdict): nothing left to judge.
    expectLatestStatus(14, "in_progress");
    w.gh.scope.get(`/repos/acme/manifests/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    w.gh.scope.get(`/repos/acme/.github/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    w.gh.scope.get(`${R}/pulls/12`).reply(200, {
      number: 12,
      html_url: "u",
      state: "closed",
      head: { sha: "f".repeat(40), ref: "conveyor/staging/order-service" },
      user: { login: "conveyor[bot]", type: "Bot" },
      merged_by: { login: "dave" },
      labels: [{ name: "conveyor" }, { name: "env/staging" }],
    });

    expect(await resumer.resume()).toBe(1);

    expect(verifier.inFlight()).toEqual([
      {
        repo: {
          owner: "acme",
          repo: "manifests",
          installationId: INSTALLATION,
          cloneUrl: w.remote.url,
          defaultBranch: "main",
        },
        service: "order-service",
        env: "staging",
        app: { namespace: "argocd", name: "legacy-order-stg" },
        revision: "1".repeat(40),
        base: "b".repeat(40),
        deploymentId: 11,
        pr: { number: 12, author: "dave", labels: ["conveyor", "env/staging"] },
        from: "ghcr.io/acme/order-service:1.4.0",
        to: "ghcr.io/acme/order-service:1.5.0",
        file: STAGING,
        startedAt: CREATED,
        policy: {
          soakMs: 120_000,
          syncMs: 600_000,
          healthMs: 900_000,
          suspendedMs: 3_600_000,
          degradedGraceMs: 60_000,
        },
      },
    ]);
    expect(argo.refreshed).toEqual(["legacy-order-stg"]);
    expect(decided).toEqual([]);
    expect(w.logs.find((l) => l.msg === "resumed in-progress verifications from GitHub Deployments")?.obj).toEqual({
      resumed: 1,
    });
  });

  it("the next scan asks GitHub nothing about Deployments it tracks or saw settled", async () => {
    const list = [deployment(21), deployment(22), deployment(23)];
    expectScan(list);
    expectLatestStatus(21, "in_progress");
    expectLatestStatus(22, "failure");
    expectLatestStatus(23, "inactive");
    w.gh.scope.get(`/repos/acme/manifests/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    w.gh.scope.get(`/repos/acme/.github/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    expect(await resumer.resume()).toBe(1);
    expect(verifier.inFlight().map((v) => v.deploymentId)).toEqual([21]);

    // Second scan: the same three Deployments are listed; none is asked about, no config is read.
    expectScan(list);
    expect(await resumer.resume()).toBe(0);
    expect(w.gh.calls().slice(-3)).toEqual([
      "GET /app/installations",
      "GET /installation/repositories",
      `GET ${R}/deployments`,
    ]);
    expect(verifier.inFlight().map((v) => v.deploymentId)).toEqual([21]);
  });

  it("skips a Deployment this replica already verifies: no status call, nothing tracked twice", async () => {
    verifier.track({
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
      revision: "1".repeat(40),
      deploymentId: 31,
      file: STAGING,
      startedAt: CREATED,
      policy: { soakMs: 120_000, syncMs: 600_000, healthMs: 900_000, suspendedMs: 3_600_000, degradedGraceMs: 60_000 },
    });
    expectScan([deployment(31)]);
    expect(await resumer.resume()).toBe(0);
    expect(verifier.inFlight().map((v) => v.deploymentId)).toEqual([31]);
    expect(w.gh.calls()).toHaveLength(3);
  });

  it("a Deployment that never got a status (a crash right after making it) is marked in progress and verified", async () => {
    expectScan([deployment(41)]);
    expectLatestStatus(41, undefined);
    w.gh.scope.get(`/repos/acme/manifests/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    w.gh.scope.get(`/repos/acme/.github/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    let marked: Record<string, unknown> | undefined;
    w.gh.scope.post(`${R}/deployments/41/statuses`, (b) => ((marked = b), true)).reply(201, {});
    expect(await resumer.resume()).toBe(1);
    expect(marked).toMatchObject({
      state: "in_progress",
      description: "Watching Argo CD application order-service-staging",
    });
    expect(verifier.inFlight().map((v) => v.deploymentId)).toEqual([41]);
  });

  it("goes through every installation and each of its repositories", async () => {
    expectInstallations([INSTALLATION, OTHER_INSTALLATION]);
    expectRepositories([
      { owner: "acme", repo: "manifests" },
      { owner: "acme", repo: "docs" },
    ]);
    expectDeployments([deployment(51)]);
    expectLatestStatus(51, "in_progress");
    w.gh.scope.get(`/repos/acme/manifests/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    w.gh.scope.get(`/repos/acme/.github/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    expectDeployments([], "/repos/acme/docs");
    expectRepositories([{ owner: "umbrella", repo: "gitops" }]);
    expectDeployments([], "/repos/umbrella/gitops");

    expect(await resumer.resume()).toBe(1);
    expect(verifier.inFlight().map((v) => [v.repo.installationId, v.deploymentId])).toEqual([[INSTALLATION, 51]]);
  });

  it("resumes nothing in a repository whose config is now invalid, and reports nothing there either", async () => {
    expectScan([deployment(61)]);
    expectLatestStatus(61, "in_progress");
    w.gh.scope
      .get(`/repos/acme/manifests/contents/.github%2Fconveyor.yml`)
      .reply(200, "environments: 5\n", { "content-type": "application/vnd.github.v3.raw; charset=utf-8" });
    expect(await resumer.resume()).toBe(0);
    expect(verifier.inFlight()).toEqual([]);
  });

  it("resumes nothing for an environment the config no longer has", async () => {
    expectScan([deployment(71, { env: "qa" })]);
    expectLatestStatus(71, "in_progress");
    w.gh.scope.get(`/repos/acme/manifests/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    w.gh.scope.get(`/repos/acme/.github/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    expect(await resumer.resume()).toBe(0);
    expect(verifier.inFlight()).toEqual([]);
  });

  it("E2E gates recorded as running are handed to the actor to read their runs back; gates waited for here are skipped", async () => {
    const acted: Array<{ id: number; owed: Owed; recorded?: boolean }> = [];
    const actor = {
      isActing: () => false,
      act: async (v: { deploymentId: number }, owed: Owed, options?: { recorded?: boolean }) =>
        void acted.push({ id: v.deploymentId, owed, recorded: options?.recorded }),
    } as unknown as VerdictActor;
    w.services.gateWaits = new GateWaits(() => undefined, 3_600_000);
    w.services.gateWaits.wait({
      key: 42,
      runs: [{ correlationId: "conveyor-staging-42-1", repository: "acme/order-service" }],
      deadline: new Date(Date.now() + 600_000).toISOString(),
      entry: {} as never,
    });
    const gated = new VerificationResumer(w.services, recordingLog(w.logs), actor);
    const since = new Date(Date.now() - 300_000).toISOString();
    expectScan([deployment(41), deployment(42)]);
    w.gh.scope
      .get(`${R}/deployments/41/statuses`)
      .query({ per_page: "1" })
      .reply(200, [{ state: "in_progress", description: `Verdict: verified; E2E gates since ${since}` }]);
    w.gh.scope.get(`/repos/acme/manifests/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });
    w.gh.scope.get(`/repos/acme/.github/contents/.github%2Fconveyor.yml`).reply(404, { message: "Not Found" });

    expect(await gated.resume()).toBe(1);

    expect(acted).toEqual([{ id: 41, owed: { kind: "verified", gates: { since } }, recorded: true }]);
    expect(verifier.inFlight()).toEqual([]);
    w.services.gateWaits.stop();
  });

  it("without an Argo CD source there is nothing to resume: no call", async () => {
    verifier.stop();
    w.services.verifier = undefined;
    expect(await resumer.resume()).toBe(0);
    expect(w.gh.calls()).toEqual([]);
  });
});
