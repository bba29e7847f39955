import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { KubeArgoSource, type KubeArgoSourceOptions } from "../../src/adapters/argo/kube-source.js";
import type { Application } from "../../src/core/argo-types.js";
import { startArgoSim, type ArgoSim, type ArgoSimApplication } from "../../sandbox/argo/index.js";
import { KubeApiServer } from "../../sandbox/argo/kube-server.js";
import { ObjectStore } from "../../sandbox/argo/store.js";
import { delay, eventually, FAST_SIM, makeSimRepo, type SimRepo } from "../helpers/argo-sim-repo.js";

let root: string;
let n = 0;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kube-source-"));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Setup {
  repo: SimRepo;
  sim: ArgoSim;
  source: KubeArgoSource;
  seen: Application[];
}

async function setup(
  apps: ArgoSimApplication[],
  services: Record<string, string[]>,
  options: Partial<KubeArgoSourceOptions> = {},
): Promise<Setup> {
  const dir = join(root, `case-${++n}`);
  const repo = await makeSimRepo(dir, services);
  const sim = await startArgoSim({ repoPath: repo.bare, applications: apps, timings: FAST_SIM });
  cleanups.push(() => sim.close());
  const path = join(dir, "kubeconfig");
  await sim.writeKubeconfig(path);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  const source = new KubeArgoSource({
    kubeConfig,
    namespace: "argocd",
    staleAfterMs: 2_000,
    backoff: { initialMs: 20, maxMs: 200 },
    ...options,
  });
  cleanups.push(() => source.stop());
  const seen: Application[] = [];
  source.onApplication((app) => seen.push(app));
  await source.start();
  return { repo, sim, source, seen };
}

const STAGING = { name: "cart-staging", path: "services/cart/overlays/staging" };
const KEY = { namespace: "argocd", name: "cart-staging" };

function deployedAt(sha: string) {
  return (app: Application) =>
    app.metadata?.name === "cart-staging" &&
    app.status?.sync?.revision === sha &&
    app.status.sync.status === "Synced" &&
    app.status.health?.status === "Healthy" &&
    app.status.operationState?.phase === "Succeeded";
}

describe("KubeArgoSource against the simulated Argo CD", () => {
  it("loads existing apps, follows a push to Healthy at the new revision, with one watch per kind", async () => {
    const { repo, sim, source, seen } = await setup(
      [STAGING, { name: "cart-production", path: "services/cart/overlays/production" }],
      { cart: ["staging", "production"] },
    );
    expect(source.getApplication(KEY)?.status?.health?.status).toBe("Healthy");
    expect(source.getApplication({ namespace: "argocd", name: "cart-production" })).toBeDefined();
    expect(source.getApplication({ namespace: "argocd", name: "nope" })).toBeUndefined();
    expect(source.stats()).toEqual({ watchConnections: 3, reconnects: 0, relists: 3 });
    await eventually(() => sim.openWatches === 3, 15_000, "three server-side watches (apps, rollouts, projects)");

    await repo.setTag("cart", "staging", "1.1.0");
    const sha = await repo.commit("cart 1.1.0");
    await sim.notifyPush();
    const done = await eventually(() => seen.find(deployedAt(sha)), 15_000, "Healthy at the new revision");
    expect(done.status?.summary?.images).toEqual(["ghcr.io/acme/cart:1.1.0"]);
    // The app went through the sync: OutOfSync, an operation Running, then Healthy.
    const states = seen
      .filter((a) => a.metadata?.name === "cart-staging")
      .map((a) => `${a.status?.sync?.status}/${a.status?.operationState?.phase}`);
    expect(states).toContain("OutOfSync/Succeeded");
    expect(states.some((s) => s.endsWith("/Running"))).toBe(true);
    expect(source.getApplication(KEY)?.status?.sync?.revision).toBe(sha);
    // Kept as listed and as watched: only what the verdict reads (trim.ts), not the history or the source.
    const stored = sim.get("cart-staging") as { spec?: object; status?: object } | undefined;
    expect(stored?.status).toHaveProperty("history");
    expect(stored?.spec).toHaveProperty("source");
    for (const kept of [source.getApplication(KEY), done]) {
      expect(kept?.status).not.toHaveProperty("history");
      expect(kept?.spec).not.toHaveProperty("source");
    }
    expect(source.stats().watchConnections).toBe(3);
    expect(sim.openWatches).toBe(3);

    await source.stop();
    expect(source.stats().watchConnections).toBe(0);
    await eventually(() => sim.openWatches === 0, 15_000, "server-side watches closed");
  });

  it("reconnects after dropped watches and keeps delivering changes", async () => {
    const { repo, sim, source, seen } = await setup([STAGING], { cart: ["staging"] });
    await eventually(() => sim.openWatches === 3, 15_000, "watches open");
    expect(sim.dropWatches()).toBe(3);
    await eventually(() => source.stats().reconnects >= 3 && sim.openWatches === 3, 15_000, "reconnect");
    sim.dropWatches({ graceful: true });
    await eventually(
      () => source.stats().reconnects >= 6 && sim.openWatches === 3,
      15_000,
      "reconnect after graceful end",
    );
    expect(source.stats().watchConnections).toBe(3);

    await repo.setTag("cart", "staging", "1.2.0");
    const sha = await repo.commit("cart 1.2.0");
    await sim.notifyPush();
    await eventually(() => seen.find(deployedAt(sha)), 15_000, "change after reconnect");
  });

  it("detects a stalled watch with the watchdog and catches up by re-listing", async () => {
    const { sim, source } = await setup([STAGING], { cart: ["staging"] }, { staleAfterMs: 2_000 });
    const relists = source.stats().relists;
    await eventually(() => sim.openWatches === 3, 15_000, "watches open");
    expect(sim.stallWatches()).toBe(3);
    sim.setHealth("cart-staging", "Degraded", "pods crash");
    await delay(100);
    expect(source.getApplication(KEY)?.status?.health?.status).toBe("Healthy");
    await eventually(
      () => source.getApplication(KEY)?.status?.health?.status === "Degraded",
      15_000,
      "stale watch replaced",
    );
    expect(source.stats().relists).toBeGreaterThan(relists);
    expect(source.stats().reconnects).toBeGreaterThanOrEqual(1);
    await eventually(
      () => sim.openWatches === 3 && source.stats().watchConnections === 3,
      15_000,
      "one watch per kind again",
    );
  });

  it("answers an expired resourceVersion (410) with a full re-list, then watches again", async () => {
    const { sim, source, seen } = await setup([STAGING], { cart: ["staging"] }, { staleAfterMs: 10_000 });
    const relists = source.stats().relists;
    await eventually(() => sim.openWatches === 3, 15_000, "watches open");
    sim.stallWatches();
    sim.setHealth("cart-staging", "Degraded", "pods crash");
    sim.compactHistory();
    sim.dropWatches();
    await eventually(
      () => source.getApplication(KEY)?.status?.health?.status === "Degraded",
      15_000,
      "re-listed state",
    );
    expect(source.stats().relists).toBeGreaterThanOrEqual(relists + 1);
    expect(seen.at(-1)?.status?.health?.status).toBe("Degraded");
    sim.setHealth("cart-staging", "Healthy");
    await eventually(() => source.getApplication(KEY)?.status?.health?.status === "Healthy", 15_000, "watching again");
  });

  it("re-lists periodically and emits what changed", async () => {
    const { sim, source } = await setup(
      [STAGING],
      { cart: ["staging"] },
      { relistIntervalMs: 200, staleAfterMs: 10_000 },
    );
    await eventually(() => sim.openWatches === 3, 15_000, "watches open");
    sim.stallWatches();
    sim.setHealth("cart-staging", "Degraded", "pods crash");
    await eventually(
      () => source.getApplication(KEY)?.status?.health?.status === "Degraded",
      15_000,
      "periodic re-list",
    );
    expect(source.stats().relists).toBeGreaterThanOrEqual(3);
  });

  it("refresh() sets the annotation, which the controller clears", async () => {
    const { sim, source, seen } = await setup([STAGING], { cart: ["staging"] });
    await source.refresh(KEY);
    const annotated = await eventually(
      () => seen.find((a) => a.metadata?.annotations?.["argocd.argoproj.io/refresh"] === "normal"),
      15_000,
      "annotation",
    );
    expect(annotated.metadata?.name).toBe("cart-staging");
    await sim.waitFor("cart-staging", (a) => a.metadata.annotations?.["argocd.argoproj.io/refresh"] === undefined);
    await eventually(
      () => source.getApplication(KEY)?.metadata?.annotations?.["argocd.argoproj.io/refresh"] === undefined,
      15_000,
      "annotation cleared",
    );
    await expect(source.refresh({ namespace: "argocd", name: "nope" })).rejects.toMatchObject({ code: 404 });
  });

  it("finds the app's Rollout and re-announces the app when the Rollout changes", async () => {
    const { repo, sim, source, seen } = await setup(
      [
        {
          name: "checkout-staging",
          path: "services/checkout/overlays/staging",
          rollout: { canarySteps: 1, pauseMs: 30 },
        },
      ],
      { checkout: ["staging"] },
    );
    const app = source.getApplication({ namespace: "argocd", name: "checkout-staging" });
    if (!app) throw new Error("app not loaded");
    const [rollout, ...others] = source.rolloutsFor(app);
    expect(others).toEqual([]);
    expect(rollout?.metadata).toMatchObject({ name: "checkout", namespace: "staging" });
    expect(rollout?.status?.phase).toBe("Healthy");

    await repo.setTag("checkout", "staging", "2.0.0");
    const sha = await repo.commit("checkout 2.0.0");
    await sim.notifyPush();
    await eventually(
      () => {
        const latest = seen.filter((a) => a.metadata?.name === "checkout-staging").at(-1);
        const [live] = latest ? source.rolloutsFor(latest) : [];
        return (
          latest?.status?.sync?.revision === sha &&
          live?.status?.phase === "Healthy" &&
          live.status.stableRS === live.status.currentPodHash &&
          live.status.currentPodHash !== rollout?.status?.currentPodHash
        );
      },
      15_000,
      "new Rollout Healthy",
    );
    expect(source.rolloutsFor({ metadata: { name: "x", namespace: "argocd" } })).toEqual([]);
  });

  it("works without Rollouts when they are not watched, and stops with nothing left open", async () => {
    const { sim, source } = await setup([STAGING], { cart: ["staging"] }, { rolloutNamespaces: "none" });
    expect(source.stats().watchConnections).toBe(2);
    await eventually(() => sim.openWatches === 2, 15_000, "apps and projects watched");
    await source.stop();
    await source.stop();
    await eventually(() => sim.openWatches === 0, 15_000, "closed");
  });

  it("rejects start() when the server refuses the credentials", async () => {
    const dir = join(root, `case-${++n}`);
    const repo = await makeSimRepo(dir, { cart: ["staging"] });
    const sim = await startArgoSim({ repoPath: repo.bare, applications: [STAGING], timings: FAST_SIM });
    cleanups.push(() => sim.close());
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(sim.kubeconfig().replace(sim.token, "wrong-token"));
    const source = new KubeArgoSource({ kubeConfig, namespace: "argocd" });
    await expect(source.start()).rejects.toMatchObject({ code: 401 });
    await source.stop();
    expect(sim.openWatches).toBe(0);
  });
});

describe("KubeArgoSource against a cluster without Argo Rollouts or AppProjects", () => {
  it("disables Rollout and AppProject watching with one warning each when they are not served", async () => {
    const store = new ObjectStore([
      {
        group: "argoproj.io",
        version: "v1alpha1",
        plural: "applications",
        singular: "application",
        kind: "Application",
        listKind: "ApplicationList",
        shortNames: [],
        statusSubresource: false,
      },
    ]);
    store.create(
      "applications",
      { metadata: { name: "cart-staging", namespace: "argocd" }, spec: {}, status: { health: { status: "Healthy" } } },
      "controller",
    );
    const server = new KubeApiServer(store, { token: "t0ken", bookmarkIntervalMs: () => 50 });
    const url = await server.start();
    cleanups.push(() => server.close());
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "c", server: url, skipTLSVerify: true }],
      users: [{ name: "u", token: "t0ken" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const warnings: string[] = [];
    const log = { info: () => undefined, warn: (_obj: object, msg?: string) => void warnings.push(String(msg)) };
    const source = new KubeArgoSource({ kubeConfig, namespace: "argocd", log });
    cleanups.push(() => source.stop());
    await source.start();
    expect(warnings).toEqual([
      "argo source: cannot list AppProjects, verifying without sync windows",
      "argo source: cannot list Rollouts, verifying without them",
    ]);
    expect(source.stats().watchConnections).toBe(1);
    const app = source.getApplication(KEY);
    expect(app?.status?.health?.status).toBe("Healthy");
    expect(app && source.rolloutsFor(app)).toEqual([]);
    expect(app && source.projectFor(app)).toBeUndefined();
  });
});
