import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ApiServerArgoSource, type ApiServerArgoSourceOptions } from "../../src/adapters/argo/api-server-source.js";
import type { Application } from "../../src/core/argo-types.js";
import { startArgoApiServer, type ArgoApiServer } from "../../sandbox/argo/api-server.js";
import { startArgoSim, type ArgoSim, type ArgoSimApplication } from "../../sandbox/argo/index.js";
import { delay, eventually, FAST_SIM, makeSimRepo, type SimRepo } from "../helpers/argo-sim-repo.js";

let root: string;
let n = 0;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "api-source-"));
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
  api: ArgoApiServer;
  source: ApiServerArgoSource;
  seen: Application[];
}

async function setup(
  apps: ArgoSimApplication[],
  services: Record<string, string[]>,
  options: Partial<ApiServerArgoSourceOptions> = {},
  timings: Partial<typeof FAST_SIM> = {},
): Promise<Setup> {
  const repo = await makeSimRepo(join(root, `case-${++n}`), services);
  const sim = await startArgoSim({ repoPath: repo.bare, applications: apps, timings: { ...FAST_SIM, ...timings } });
  cleanups.push(() => sim.close());
  const api = await startArgoApiServer(sim, { token: "argocd-token" });
  cleanups.push(() => api.close());
  const source = new ApiServerArgoSource({
    server: api.url,
    token: "argocd-token",
    namespace: "argocd",
    staleAfterMs: 5_000,
    backoff: { initialMs: 20, maxMs: 200 },
    ...options,
  });
  cleanups.push(() => source.stop());
  const seen: Application[] = [];
  source.onApplication((app) => seen.push(app));
  await source.start();
  await eventually(() => api.openStreams === 1, 10_000, "stream open");
  return { repo, sim, api, source, seen };
}

const STAGING = { name: "cart-staging", path: "services/cart/overlays/staging" };
const KEY = { namespace: "argocd", name: "cart-staging" };

function deployedAt(name: string, sha: string) {
  return (app: Application) =>
    app.metadata?.name === name &&
    app.status?.sync?.revision === sha &&
    app.status.sync.status === "Synced" &&
    app.status.health?.status === "Healthy" &&
    app.status.operationState?.phase === "Succeeded";
}

describe("ApiServerArgoSource against the emulated Argo CD API server", () => {
  it("loads existing apps and follows a push to Healthy at the new revision over one stream", async () => {
    // Progressing lasts long enough that the resource tree, read a moment after each event, is
    // read while it lasts, however busy the machine.
    const { repo, sim, api, source, seen } = await setup(
      [STAGING, { name: "cart-production", path: "services/cart/overlays/production" }],
      { cart: ["staging", "production"] },
      {},
      { progressingMs: 2_000 },
    );
    expect(source.getApplication(KEY)?.status?.health?.status).toBe("Healthy");
    expect(source.getApplication({ namespace: "argocd", name: "cart-production" })).toBeDefined();
    expect(source.stats()).toEqual({ watchConnections: 1, reconnects: 0, relists: 1 });
    // Health of each resource comes from the resource tree (the served app has none).
    expect(source.getApplication(KEY)?.status?.resources?.map((r) => `${r.kind}:${r.health?.status}`)).toEqual([
      "Service:Healthy",
      "Deployment:Healthy",
    ]);
    const seenAtStart = seen.length;
    expect(seenAtStart).toBe(2);

    await repo.setTag("cart", "staging", "1.1.0");
    const sha = await repo.commit("cart 1.1.0");
    await sim.notifyPush();
    const done = await eventually(
      () => seen.find(deployedAt("cart-staging", sha)),
      20_000,
      "Healthy at the new revision",
    );
    expect(done.status?.resources?.find((r) => r.kind === "Deployment")?.health?.status).toBe("Healthy");
    const progressing = seen.find((a) => a.status?.sync?.revision === sha && a.status.health?.status === "Progressing");
    expect(progressing?.status?.resources?.find((r) => r.kind === "Deployment")?.health?.status).toBe("Progressing");
    // The initial snapshot on the stream repeated what the list had; it was not handed out again.
    const versions = seen.map(
      (a) => `${a.metadata?.name}@${(a.metadata as { resourceVersion?: string }).resourceVersion}`,
    );
    expect(new Set(versions).size).toBe(versions.length);
    expect(api.openStreams).toBe(1);
    expect(source.stats().watchConnections).toBe(1);

    await source.stop();
    expect(source.stats().watchConnections).toBe(0);
    await eventually(() => api.openStreams === 0, 10_000, "stream closed");
  });

  it("gives the app's live Rollout and its health from the resource tree", async () => {
    const { repo, sim, api, source, seen } = await setup(
      [
        {
          name: "checkout-staging",
          path: "services/checkout/overlays/staging",
          rollout: { canarySteps: 1, pauseMs: 600 },
        },
      ],
      { checkout: ["staging"] },
    );
    const app = source.getApplication({ namespace: "argocd", name: "checkout-staging" });
    if (!app) throw new Error("app not loaded");
    expect(app.status?.resources?.find((r) => r.kind === "Rollout")).toMatchObject({
      name: "checkout",
      namespace: "staging",
      health: { status: "Healthy" },
    });
    const [rollout] = source.rolloutsFor(app);
    expect(rollout?.metadata).toMatchObject({ name: "checkout", namespace: "staging" });
    expect(rollout?.status?.stableRS).toBe(rollout?.status?.currentPodHash);

    await repo.setTag("checkout", "staging", "2.0.0");
    const sha = await repo.commit("checkout 2.0.0");
    await sim.notifyPush();
    await eventually(() => seen.find(deployedAt("checkout-staging", sha)), 20_000, "rollout done");
    const states = seen
      .filter((a) => a.status?.sync?.revision === sha)
      .map((a) => a.status?.resources?.find((r) => r.kind === "Rollout")?.health?.status);
    expect(states).toContain("Suspended");
    const latest = source.getApplication({ namespace: "argocd", name: "checkout-staging" });
    const [live] = latest ? source.rolloutsFor(latest) : [];
    expect(live?.status?.phase).toBe("Healthy");
    expect(live?.status?.currentPodHash).not.toBe(rollout?.status?.currentPodHash);
    expect(live?.status?.stableRS).toBe(live?.status?.currentPodHash);
    expect(api.requests["resource-tree"]).toBeGreaterThan(2);
    expect(api.requests.resource).toBeGreaterThan(2);
  });

  it("reconnects after a dropped or ended stream and catches up", async () => {
    const { sim, api, source } = await setup([STAGING], { cart: ["staging"] });
    expect(api.dropStreams()).toBe(1);
    sim.setHealth("cart-staging", "Degraded", "pods crash");
    await eventually(
      () => source.getApplication(KEY)?.status?.health?.status === "Degraded",
      15_000,
      "missed change caught up",
    );
    expect(source.stats().reconnects).toBeGreaterThanOrEqual(1);
    await eventually(() => api.openStreams === 1, 10_000, "stream again");
    api.dropStreams({ graceful: true });
    await eventually(
      () => source.stats().reconnects >= 2 && api.openStreams === 1,
      15_000,
      "reconnect after a clean end",
    );
    sim.setHealth("cart-staging", "Healthy");
    await eventually(() => source.getApplication(KEY)?.status?.health?.status === "Healthy", 15_000, "live again");
    expect(source.stats().watchConnections).toBe(1);
  });

  it("replaces a silent stream (watchdog) and re-lists", async () => {
    const { sim, api, source } = await setup([STAGING], { cart: ["staging"] }, { staleAfterMs: 300 });
    const relists = source.stats().relists;
    expect(api.stallStreams()).toBe(1);
    sim.setHealth("cart-staging", "Degraded", "pods crash");
    await delay(100);
    expect(source.getApplication(KEY)?.status?.health?.status).toBe("Healthy");
    await eventually(
      () => source.getApplication(KEY)?.status?.health?.status === "Degraded",
      15_000,
      "stale stream replaced",
    );
    expect(source.stats().relists).toBeGreaterThan(relists);
    await eventually(() => api.openStreams === 1, 2_000, "one stream");
  });

  it("refresh() asks Argo CD through ?refresh=normal", async () => {
    const { api, source, seen } = await setup([STAGING], { cart: ["staging"] });
    const before = seen.length;
    await source.refresh(KEY);
    expect(api.requests.refresh).toBe(1);
    // The refresh annotation came and went on the stream.
    await eventually(
      () => seen.slice(before).some((a) => a.metadata?.annotations?.["argocd.argoproj.io/refresh"] === undefined),
      15_000,
      "refreshed app",
    );
    await expect(source.refresh({ namespace: "argocd", name: "nope" })).rejects.toMatchObject({ code: 404 });
  });

  it("rejects start() on a wrong token", async () => {
    const repo = await makeSimRepo(join(root, `case-${++n}`), { cart: ["staging"] });
    const sim = await startArgoSim({ repoPath: repo.bare, applications: [STAGING], timings: FAST_SIM });
    cleanups.push(() => sim.close());
    const api = await startArgoApiServer(sim, { token: "right" });
    cleanups.push(() => api.close());
    const source = new ApiServerArgoSource({ server: api.url, token: "wrong", namespace: "argocd" });
    await expect(source.start()).rejects.toMatchObject({ code: 401 });
    await source.stop();
    expect(api.openStreams).toBe(0);
  });
});
