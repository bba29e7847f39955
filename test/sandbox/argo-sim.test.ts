import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  loadCrdSchema,
  startArgoSim,
  validateCustomResource,
  type ApplicationView,
  type ArgoSim,
  type ArgoSimOptions,
  type RolloutView,
} from "../../sandbox/argo/index.js";
import type { JsonObject } from "../../sandbox/argo/json.js";
import { makeSimRepo, type SimRepo } from "../helpers/argo-sim-repo.js";

const run = promisify(execFile);
const git = async (cwd: string, ...args: string[]) => (await run("git", args, { cwd })).stdout.trim();
const fixtures = new URL("../fixtures/argo/", import.meta.url);
const schemas = {
  Application: loadCrdSchema(new URL("application-crd.yaml", fixtures)),
  Rollout: loadCrdSchema(new URL("rollout-crd.yaml", fixtures)),
};

const FAST = {
  pollIntervalMs: 150,
  syncDelayMs: 20,
  autoSyncDelayMs: 20,
  operationMs: 40,
  postSyncRefreshMs: 20,
  progressingMs: 80,
  degradedAfterMs: 80,
  rolloutStepMs: 30,
  bookmarkIntervalMs: 40,
};

const GROUP = { group: "argoproj.io", version: "v1alpha1", namespace: "argocd", plural: "applications" };
const APPS_PATH = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications";

// ---------------------------------------------------------------------------------------------
// A real bare manifests repo, pushed to through a working clone.

// ---------------------------------------------------------------------------------------------
// Recording what the simulator produces, and checking it against the CRD schemas.

const produced: JsonObject[] = [];

function record(sim: ArgoSim): void {
  sim.on("watch-event", (e) => produced.push(e.object));
}

function summary(app: ApplicationView): string {
  return `${app.status.sync?.status}/${app.status.operationState?.phase ?? "-"}/${app.status.health?.status}`;
}

/** The states an app went through, consecutive duplicates removed. */
function timeline(states: ApplicationView[]): string[] {
  return states.map(summary).filter((s, i, all) => i === 0 || all[i - 1] !== s);
}

function expectInOrder(actual: string[], expected: string[]): void {
  let at = 0;
  for (const item of actual) if (item === expected[at]) at += 1;
  expect({ actual, matched: expected.slice(0, at) }).toEqual({ actual, matched: expected });
}

function statesOf(sim: ArgoSim, name: string): ApplicationView[] {
  const states: ApplicationView[] = [];
  sim.on("state", (app) => {
    if (app.metadata.name === name) states.push(app);
  });
  return states;
}

function kubeConfigFor(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

type InformedApp = KubernetesObject & { status: ApplicationView["status"] };

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------

let root: string;
const sims: ArgoSim[] = [];
const simErrors: Error[] = [];

async function start(repo: SimRepo, options: Omit<ArgoSimOptions, "repoPath">): Promise<ArgoSim> {
  const sim = await startArgoSim({ repoPath: repo.bare, timings: FAST, ...options });
  sims.push(sim);
  record(sim);
  sim.on("error", (err) => simErrors.push(err));
  for (const app of sim.list()) {
    produced.push(app as unknown as JsonObject);
    const rollout = sim.getRollout(app.metadata.name);
    if (rollout) produced.push(rollout as unknown as JsonObject);
  }
  return sim;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "argo-sim-"));
});

afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  expect(simErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("simulated Argo CD", () => {
  let n = 0;
  const freshRepo = async (services: Record<string, string[]>) => makeSimRepo(join(root, `repo-${++n}`), services);

  it("serves list and get to @kubernetes/client-node, with k8s Status errors and bearer auth", async () => {
    const repo = await freshRepo({ "order-service": ["staging", "production"] });
    const sim = await start(repo, {
      applications: [
        { name: "order-service-staging", path: "services/order-service/overlays/staging", labels: { env: "staging" } },
        {
          name: "order-service-production",
          path: "services/order-service/overlays/production",
          labels: { env: "production" },
        },
      ],
    });
    const kubeconfig = join(root, `kubeconfig-${n}`);
    await sim.writeKubeconfig(kubeconfig);
    const kc = kubeConfigFor(kubeconfig);
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe("argocd");
    const api = kc.makeApiClient(CustomObjectsApi);

    const list = await api.listNamespacedCustomObject(GROUP);
    expect(list.kind).toBe("ApplicationList");
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(list.items.map((a: ApplicationView) => a.metadata.name)).toEqual([
      "order-service-production",
      "order-service-staging",
    ]);
    const all = await api.listClusterCustomObject({
      group: GROUP.group,
      version: GROUP.version,
      plural: GROUP.plural,
      labelSelector: "env=staging",
    });
    expect(all.items.map((a: ApplicationView) => a.metadata.name)).toEqual(["order-service-staging"]);

    const app = (await api.getNamespacedCustomObject({ ...GROUP, name: "order-service-staging" })) as ApplicationView;
    const head = await git(join(root, `repo-${n}`, "work"), "rev-parse", "HEAD");
    expect(app.status.sync).toMatchObject({ status: "Synced", revision: head });
    expect(app.status.health?.status).toBe("Healthy");
    expect(app.status.summary?.images).toEqual(["ghcr.io/acme/order-service:1.0.0"]);
    expect(app.status.reconciledAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(app.spec.source).toEqual({
      repoURL: `file://${repo.bare}`,
      path: "services/order-service/overlays/staging",
      targetRevision: "main",
    });
    expect(app.spec.destination.namespace).toBe("staging");

    await expect(api.getNamespacedCustomObject({ ...GROUP, name: "nope" })).rejects.toMatchObject({ code: 404 });
    const missing = await fetch(`${sim.url}${APPS_PATH}/nope`, { headers: { Authorization: `Bearer ${sim.token}` } });
    expect(await missing.json()).toMatchObject({ kind: "Status", status: "Failure", reason: "NotFound", code: 404 });
    const anonymous = await fetch(`${sim.url}${APPS_PATH}`);
    expect(anonymous.status).toBe(401);

    // Pagination, and 410 for a continue token older than the retained history.
    const page = await api.listNamespacedCustomObject({ ...GROUP, limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.metadata.remainingItemCount).toBe(1);
    const rest = await api.listNamespacedCustomObject({ ...GROUP, limit: 1, _continue: page.metadata.continue });
    expect(rest.items.map((a: ApplicationView) => a.metadata.name)).toEqual(["order-service-staging"]);
    sim.refresh("order-service-staging");
    await sim.waitFor("order-service-staging", (a) => !a.metadata.annotations?.["argocd.argoproj.io/refresh"]);
    sim.compactHistory();
    await expect(
      api.listNamespacedCustomObject({ ...GROUP, limit: 1, _continue: page.metadata.continue }),
    ).rejects.toMatchObject({ code: 410 });
  });

  it("streams ordered watch events with bookmarks, and answers a too old resourceVersion with 410 Expired", async () => {
    const repo = await freshRepo({ cart: ["staging"] });
    const sim = await start(repo, { applications: [{ name: "cart-staging", path: "services/cart/overlays/staging" }] });
    const kubeconfig = join(root, `kubeconfig-${n}`);
    await sim.writeKubeconfig(kubeconfig);
    const kc = kubeConfigFor(kubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const list = await api.listNamespacedCustomObject(GROUP);

    const events: Array<{ type: string; rv: number; app?: ApplicationView }> = [];
    const ended: unknown[] = [];
    const watch = await new Watch(kc).watch(
      APPS_PATH,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (type, object: ApplicationView) =>
        events.push({
          type,
          rv: Number(object.metadata.resourceVersion),
          app: type === "BOOKMARK" ? undefined : object,
        }),
      (err) => ended.push(err),
    );
    await repo.setTag("cart", "staging", "1.1.0");
    const sha = await repo.commit("cart 1.1.0");
    await sim.notifyPush();
    await sim.waitFor(
      "cart-staging",
      (a) =>
        a.status.health?.status === "Healthy" && a.status.sync?.revision === sha && a.status.sync.status === "Synced",
    );
    await delay(3 * FAST.bookmarkIntervalMs);
    watch.abort();

    const changes = events.filter((e) => e.type !== "BOOKMARK");
    expect(changes.length).toBeGreaterThanOrEqual(4);
    expect(new Set(changes.map((e) => e.type))).toEqual(new Set(["MODIFIED"]));
    const rvs = changes.map((e) => e.rv);
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    expect(new Set(rvs).size).toBe(rvs.length);
    expect(rvs[0]).toBeGreaterThan(Number(list.metadata.resourceVersion));
    const bookmarks = events.filter((e) => e.type === "BOOKMARK");
    expect(bookmarks.length).toBeGreaterThan(0);
    expect(bookmarks.at(-1)?.rv).toBeGreaterThanOrEqual(rvs.at(-1) ?? 0);

    // Replaying from an old-but-retained version gives the same events again.
    const replayed: number[] = [];
    const replay = await new Watch(kc).watch(
      APPS_PATH,
      { resourceVersion: list.metadata.resourceVersion },
      (_t, o: ApplicationView) => replayed.push(Number(o.metadata.resourceVersion)),
      () => undefined,
    );
    await delay(50);
    replay.abort();
    expect(replayed.slice(0, rvs.length)).toEqual(rvs);

    // Without a resourceVersion a watch starts with a synthetic ADDED per existing object.
    const initial: string[] = [];
    const fresh = await new Watch(kc).watch(
      APPS_PATH,
      {},
      (type, o: ApplicationView) => initial.push(`${type} ${o.metadata.name}`),
      () => undefined,
    );
    await delay(50);
    fresh.abort();
    expect(initial).toEqual(["ADDED cart-staging"]);

    // After compaction the same version is gone: ERROR 410 Expired inside the stream, then it ends.
    sim.compactHistory();
    const expired: Array<{ type: string; object: JsonObject }> = [];
    const done = new Promise<unknown>((resolve) => {
      void new Watch(kc).watch(
        APPS_PATH,
        { resourceVersion: list.metadata.resourceVersion },
        (type, object: JsonObject) => expired.push({ type, object }),
        resolve,
      );
    });
    expect(await done).toBeNull();
    expect(expired).toEqual([
      {
        type: "ERROR",
        object: expect.objectContaining({
          kind: "Status",
          status: "Failure",
          reason: "Expired",
          code: 410,
          message: expect.stringMatching(/^too old resource version: \d+ \(\d+\)$/),
        }),
      },
    ]);
  });

  it("clears the refresh annotation after a merge-patch refresh (and a JSON patch works too)", async () => {
    const repo = await freshRepo({ cart: ["staging"] });
    const sim = await start(repo, {
      applications: [{ name: "cart-staging", path: "services/cart/overlays/staging" }],
      timings: { ...FAST, pollIntervalMs: 60_000 },
    });
    const kubeconfig = join(root, `kubeconfig-${n}`);
    await sim.writeKubeconfig(kubeconfig);
    const api = kubeConfigFor(kubeconfig).makeApiClient(CustomObjectsApi);
    // A new commit the controller has not polled yet: the refresh is what makes it notice.
    await repo.setTag("cart", "staging", "2.0.0");
    const sha = await repo.commit("cart 2.0.0");
    const patched = (await api.patchNamespacedCustomObject(
      { ...GROUP, name: "cart-staging", body: { metadata: { annotations: { "argocd.argoproj.io/refresh": "hard" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )) as ApplicationView;
    expect(patched.metadata.annotations?.["argocd.argoproj.io/refresh"]).toBe("hard");
    const refreshed = await sim.waitFor(
      "cart-staging",
      (a) => a.metadata.annotations?.["argocd.argoproj.io/refresh"] === undefined,
    );
    expect(Number(refreshed.metadata.resourceVersion)).toBeGreaterThan(Number(patched.metadata.resourceVersion));
    expect(refreshed.status.sync).toMatchObject({ status: "OutOfSync", revision: sha });
    await sim.waitFor(
      "cart-staging",
      (a) =>
        a.status.sync?.status === "Synced" && a.status.health?.status === "Healthy" && a.status.sync.revision === sha,
    );

    const labelled = (await api.patchNamespacedCustomObject({
      ...GROUP,
      name: "cart-staging",
      body: [{ op: "add", path: "/metadata/labels/team", value: "carts" }],
    })) as ApplicationView;
    expect(labelled.metadata.labels).toEqual({ team: "carts" });
    const invalid = await fetch(`${sim.url}${APPS_PATH}/cart-staging`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${sim.token}`, "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { destination: null } }),
    });
    expect(invalid.status).toBe(422);
  });

  it("deploys a good tag: OutOfSync -> Running -> Succeeded -> Synced/Progressing -> Healthy", async () => {
    const repo = await freshRepo({ "order-service": ["staging", "production"] });
    const sim = await start(repo, {
      applications: [
        { name: "order-service-staging", path: "services/order-service/overlays/staging" },
        { name: "order-service-production", path: "services/order-service/overlays/production" },
      ],
    });
    const before = sim.get("order-service-production");
    const states = statesOf(sim, "order-service-staging");
    await repo.setTag("order-service", "staging", "1.2.0");
    const sha = await repo.commit("order-service 1.2.0 to staging");
    await sim.notifyPush();
    const healthy = await sim.waitFor(
      "order-service-staging",
      (a) =>
        a.status.sync?.revision === sha && a.status.sync.status === "Synced" && a.status.health?.status === "Healthy",
    );

    expectInOrder(timeline(states), [
      "OutOfSync/Succeeded/Healthy", // refreshed against the new commit, old operation still shown
      "OutOfSync/Running/Healthy",
      "OutOfSync/Succeeded/Healthy", // operation done, health not yet re-assessed
      "Synced/Succeeded/Progressing",
      "Synced/Succeeded/Healthy",
    ]);
    const outOfSync = states.find((s) => s.status.sync?.status === "OutOfSync");
    expect(outOfSync?.status.sync).toMatchObject({
      revision: sha,
      comparedTo: { source: { path: "services/order-service/overlays/staging" } },
    });
    const running = states.find((s) => s.status.operationState?.phase === "Running");
    expect(running?.operation).toMatchObject({ sync: { revision: sha }, initiatedBy: { automated: true } });
    expect(running?.status.operationState).toMatchObject({
      startedAt: expect.any(String),
      operation: { sync: { revision: sha } },
    });
    expect(running?.status.operationState?.finishedAt).toBeUndefined();

    expect(healthy.operation).toBeUndefined();
    const op = healthy.status.operationState;
    expect(op).toMatchObject({
      phase: "Succeeded",
      message: "successfully synced (all tasks run)",
      syncResult: { revision: sha },
    });
    expect(op?.syncResult?.resources?.map((r) => r.kind)).toEqual(["Service", "Deployment"]);
    expect(healthy.status.reconciledAt! >= op!.finishedAt!).toBe(true);
    expect(healthy.status.history?.at(-1)).toMatchObject({
      revision: sha,
      deployStartedAt: op?.startedAt,
      deployedAt: op?.finishedAt,
      initiatedBy: { automated: true },
    });
    expect(healthy.status.history?.map((h) => h.id)).toEqual([0, 1]);
    expect(healthy.status.summary?.images).toEqual(["ghcr.io/acme/order-service:1.2.0"]);
    expect(healthy.status.resources?.find((r) => r.kind === "Deployment")).toMatchObject({
      status: "Synced",
      health: { status: "Healthy" },
    });
    const progressing = states.find((s) => s.status.health?.status === "Progressing");
    expect(progressing?.status.resources?.find((r) => r.kind === "Deployment")?.health?.message).toMatch(
      /^Waiting for rollout to finish/,
    );

    // The untouched overlay is compared against the new commit too, but nothing is synced.
    const production = await sim.waitFor("order-service-production", (a) => a.status.sync?.revision === sha);
    expect(production.status.sync?.status).toBe("Synced");
    expect(production.status.operationState?.syncResult?.revision).toBe(
      before?.status.operationState?.syncResult?.revision,
    );
    expect(production.status.history).toHaveLength(1);
  });

  it("syncs a commit that lands during a running operation right after it", async () => {
    const repo = await freshRepo({ cart: ["staging"] });
    const sim = await start(repo, { applications: [{ name: "cart-staging", path: "services/cart/overlays/staging" }] });
    await repo.setTag("cart", "staging", "1.1.0");
    const first = await repo.commit("cart 1.1.0");
    await sim.notifyPush();
    await sim.waitFor("cart-staging", (a) => a.status.operationState?.phase === "Running");
    await repo.setTag("cart", "staging", "1.2.0");
    const second = await repo.commit("cart 1.2.0");
    await sim.notifyPush();
    const done = await sim.waitFor(
      "cart-staging",
      (a) =>
        a.status.sync?.revision === second &&
        a.status.sync.status === "Synced" &&
        a.status.health?.status === "Healthy",
    );
    expect(done.status.history?.map((h) => h.revision).slice(-2)).toEqual([first, second]);
    expect(done.status.summary?.images).toEqual(["ghcr.io/acme/cart:1.2.0"]);
  });

  it("reports Degraded for a failing image, and a later good tag recovers", async () => {
    const repo = await freshRepo({ payments: ["staging"] });
    const sim = await start(repo, {
      applications: [{ name: "payments-staging", path: "services/payments/overlays/staging" }],
    });
    await repo.setTag("payments", "staging", "1.3.0-bad");
    const bad = await repo.commit("payments 1.3.0-bad");
    await sim.notifyPush();
    const degraded = await sim.waitFor("payments-staging", (a) => a.status.health?.status === "Degraded");
    expect(degraded.status.sync).toMatchObject({ status: "Synced", revision: bad });
    expect(degraded.status.operationState).toMatchObject({ phase: "Succeeded", syncResult: { revision: bad } });
    expect(degraded.status.health?.message).toBe('Deployment "payments" exceeded its progress deadline');
    expect(degraded.status.resources?.find((r) => r.kind === "Deployment")?.health).toEqual({
      status: "Degraded",
      message: 'Deployment "payments" exceeded its progress deadline',
    });

    // No notifyPush this time: branch polling alone notices the commit.
    await repo.setTag("payments", "staging", "1.2.9");
    const good = await repo.commit("revert payments");
    await sim.waitFor(
      "payments-staging",
      (a) =>
        a.status.sync?.revision === good && a.status.sync.status === "Synced" && a.status.health?.status === "Healthy",
    );
  });

  it("runs a canary Rollout through its pause steps to Healthy, and aborts it for a failing image", async () => {
    const repo = await freshRepo({ checkout: ["staging"] });
    const sim = await start(repo, {
      applications: [
        {
          name: "checkout-staging",
          path: "services/checkout/overlays/staging",
          rollout: { canarySteps: 2, pauseMs: 60 },
        },
      ],
    });
    const initial = sim.getRollout("checkout-staging");
    expect(initial?.status).toMatchObject({ phase: "Healthy", currentStepIndex: 4 });
    expect(initial?.status?.stableRS).toBe(initial?.status?.currentPodHash);
    expect(initial?.metadata.namespace).toBe("staging");

    const rollouts: RolloutView[] = [];
    sim.on("rollout", (r) => rollouts.push(r));
    const states = statesOf(sim, "checkout-staging");
    await repo.setTag("checkout", "staging", "2.0.0");
    const sha = await repo.commit("checkout 2.0.0");
    await sim.notifyPush();
    const done = await sim.waitFor(
      "checkout-staging",
      (a) =>
        a.status.sync?.revision === sha && a.status.sync.status === "Synced" && a.status.health?.status === "Healthy",
    );
    const rollout = sim.getRollout("checkout-staging");
    expect(rollout?.spec.template.spec.containers[0]?.image).toBe("ghcr.io/acme/checkout:2.0.0");
    expect(rollout?.status).toMatchObject({
      phase: "Healthy",
      currentStepIndex: 4,
      observedGeneration: String(rollout?.metadata.generation),
    });
    expect(rollout?.status?.stableRS).toBe(rollout?.status?.currentPodHash);
    expect(rollout?.status?.currentPodHash).not.toBe(initial?.status?.currentPodHash);

    const phases = rollouts
      .map((r) => `${r.status?.phase}@${r.status?.currentStepIndex}`)
      .filter((s, i, all) => all[i - 1] !== s);
    expectInOrder(phases, ["Progressing@0", "Paused@1", "Progressing@2", "Paused@3", "Healthy@4"]);
    const paused = rollouts.find((r) => r.status?.phase === "Paused");
    expect(paused?.status).toMatchObject({
      message: "CanaryPauseStep",
      controllerPause: true,
      pauseConditions: [{ reason: "CanaryPauseStep", startTime: expect.any(String) }],
    });
    expect(paused?.status?.stableRS).toBe(initial?.status?.currentPodHash);
    expectInOrder(timeline(states), [
      "Synced/Succeeded/Progressing",
      "Synced/Succeeded/Suspended",
      "Synced/Succeeded/Healthy",
    ]);
    const suspended = states.find((s) => s.status.health?.status === "Suspended");
    expect(suspended?.status.resources?.find((r) => r.kind === "Rollout")?.health).toEqual({
      status: "Suspended",
      message: "CanaryPauseStep",
    });
    expect(done.status.resources?.map((r) => r.kind)).toEqual(["Service", "Rollout"]);

    await repo.setTag("checkout", "staging", "2.1.0-bad");
    const bad = await repo.commit("checkout 2.1.0-bad");
    await sim.notifyPush();
    const degraded = await sim.waitFor(
      "checkout-staging",
      (a) => a.status.sync?.revision === bad && a.status.health?.status === "Degraded",
    );
    const aborted = sim.getRollout("checkout-staging");
    expect(aborted?.status).toMatchObject({
      phase: "Degraded",
      abort: true,
      abortedAt: expect.any(String),
      message: expect.stringMatching(
        /^RolloutAborted: Rollout aborted update to revision 3: Metric "success-rate" assessed Failed/,
      ),
      canary: { currentBackgroundAnalysisRunStatus: { status: "Failed" } },
      stableRS: rollout?.status?.currentPodHash,
    });
    expect(degraded.status.resources?.find((r) => r.kind === "Rollout")?.health).toEqual({
      status: "Degraded",
      message: aborted?.status?.message,
    });
  });

  it("without auto-sync stays OutOfSync until synced by hand or by an operation PATCH", async () => {
    const repo = await freshRepo({ search: ["production"] });
    const sim = await start(repo, {
      autoSync: false,
      applications: [{ name: "search-production", path: "services/search/overlays/production" }],
    });
    expect(sim.get("search-production")?.spec.syncPolicy?.automated).toBeUndefined();
    await repo.setTag("search", "production", "3.0.0");
    const sha = await repo.commit("search 3.0.0");
    await sim.notifyPush();
    await sim.waitFor(
      "search-production",
      (a) => a.status.sync?.status === "OutOfSync" && a.status.sync.revision === sha,
    );
    await delay(5 * (FAST.autoSyncDelayMs + FAST.operationMs));
    expect(sim.get("search-production")?.status.operationState?.phase).toBe("Succeeded");
    expect(sim.get("search-production")?.status.history).toHaveLength(1);
    await sim.sync("search-production");
    const synced = await sim.waitFor(
      "search-production",
      (a) => a.status.sync?.status === "Synced" && a.status.health?.status === "Healthy",
    );
    expect(synced.status.operationState).toMatchObject({
      phase: "Succeeded",
      operation: { initiatedBy: { username: "admin" } },
      syncResult: { revision: sha },
    });

    await repo.setTag("search", "production", "3.0.1");
    const next = await repo.commit("search 3.0.1");
    await sim.notifyPush();
    await sim.waitFor(
      "search-production",
      (a) => a.status.sync?.status === "OutOfSync" && a.status.sync.revision === next,
    );
    const res = await fetch(`${sim.url}${APPS_PATH}/search-production`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${sim.token}`, "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ operation: { sync: { revision: next }, initiatedBy: { username: "conveyor" } } }),
    });
    expect(res.status).toBe(200);
    const done = await sim.waitFor(
      "search-production",
      (a) =>
        a.status.sync?.status === "Synced" &&
        a.status.sync.revision === next &&
        a.status.operationState?.phase === "Succeeded",
    );
    expect(done.status.operationState?.operation.initiatedBy).toEqual({ username: "conveyor" });
    expect(done.operation).toBeUndefined();
  });

  it("reports a ComparisonError while the overlay does not exist, then deploys it once it appears", async () => {
    const repo = await freshRepo({ cart: ["staging"] });
    const sim = await start(repo, {
      applications: [{ name: "cart-production", path: "services/cart/overlays/production" }],
    });
    const broken = sim.get("cart-production");
    expect(broken?.status.sync?.status).toBe("Unknown");
    expect(broken?.status.health?.status).toBe("Unknown");
    expect(broken?.status.conditions).toEqual([
      {
        type: "ComparisonError",
        message: expect.stringContaining("services/cart/overlays/production: app path does not exist"),
        lastTransitionTime: expect.any(String),
      },
    ]);
    await repo.setTag("cart", "production", "1.0.0");
    const sha = await repo.commit("cart to production");
    await sim.notifyPush();
    const deployed = await sim.waitFor(
      "cart-production",
      (a) => a.status.sync?.status === "Synced" && a.status.health?.status === "Healthy",
    );
    expect(deployed.status.conditions).toBeUndefined();
    expect(deployed.status.operationState?.syncResult?.revision).toBe(sha);
    expect(deployed.status.history?.map((h) => h.revision)).toEqual([sha]);
  });

  it("keeps a makeInformer cache current across dropped and gracefully closed watches", async () => {
    const repo = await freshRepo({ cart: ["staging"] });
    const sim = await start(repo, { applications: [{ name: "cart-staging", path: "services/cart/overlays/staging" }] });
    const kubeconfig = join(root, `kubeconfig-${n}`);
    await sim.writeKubeconfig(kubeconfig);
    const kc = kubeConfigFor(kubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const informer = makeInformer<InformedApp>(kc, APPS_PATH, () => api.listNamespacedCustomObject(GROUP));
    const errors: unknown[] = [];
    let connects = 0;
    informer.on("connect", () => (connects += 1));
    // client-node informers stop on a broken stream; restarting from the error handler is the documented pattern.
    informer.on("error", (err) => {
      errors.push(err);
      setTimeout(() => void informer.start(), 20);
    });
    const added: string[] = [];
    informer.on("add", (a) => added.push(a.metadata?.name ?? ""));
    await informer.start();
    expect(added).toEqual(["cart-staging"]);
    const cached = () => informer.get("cart-staging", "argocd");

    const deployAndWait = async (tag: string) => {
      await repo.setTag("cart", "staging", tag);
      const sha = await repo.commit(`cart ${tag}`);
      await sim.notifyPush();
      await sim.waitFor(
        "cart-staging",
        (a) =>
          a.status.sync?.revision === sha && a.status.health?.status === "Healthy" && a.status.sync.status === "Synced",
      );
      const deadline = Date.now() + 3000;
      while (
        Date.now() < deadline &&
        cached()?.metadata?.resourceVersion !== sim.get("cart-staging")?.metadata.resourceVersion
      )
        await delay(10);
      expect(cached()?.status.summary?.images).toEqual([`ghcr.io/acme/cart:${tag}`]);
      expect(cached()?.metadata?.resourceVersion).toBe(sim.get("cart-staging")?.metadata.resourceVersion);
    };

    await deployAndWait("1.1.0");
    expect(sim.dropWatches()).toBe(1);
    await deployAndWait("1.2.0");
    expect(errors.length).toBeGreaterThan(0);
    const connectsBefore = connects;
    expect(sim.dropWatches({ graceful: true })).toBe(1);
    await deployAndWait("1.3.0");
    expect(connects).toBeGreaterThan(connectsBefore);

    // A stalled watch delivers nothing, which is why Conveyor must re-list periodically.
    while (sim.openWatches === 0) await delay(10);
    sim.stallWatches();
    const stalledAt = cached()?.metadata?.resourceVersion;
    sim.setHealth("cart-staging", "Degraded", "forced flap");
    await delay(100);
    expect(cached()?.metadata?.resourceVersion).toBe(stalledAt);
    expect(sim.get("cart-staging")?.status.health).toMatchObject({ status: "Degraded", message: "forced flap" });
    await informer.stop();
  });

  it("produced only objects that validate against the upstream CRD schemas", () => {
    expect(produced.length).toBeGreaterThan(50);
    const kinds = new Set(produced.map((o) => o.kind));
    expect(kinds).toEqual(new Set(["Application", "Rollout"]));
    for (const object of produced) {
      const schema = schemas[object.kind as "Application" | "Rollout"];
      const errors = validateCustomResource(object, schema);
      expect({
        name: (object.metadata as JsonObject).name,
        rv: (object.metadata as JsonObject).resourceVersion,
        errors,
      }).toMatchObject({ errors: [] });
    }
    const timestamps = JSON.stringify(produced).match(/"\d{4}-\d\d-\d\dT[^"]*"/g) ?? [];
    expect(timestamps.length).toBeGreaterThan(0);
    for (const t of timestamps) expect(t).toMatch(/^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"$/);
  });
});
