// Both Argo sources give the verifier the AppProject of an Application (its sync windows), read
// from the simulated Argo CD over the Kubernetes API and over the Argo CD API server, and
// announce the project's apps again when its windows change.
import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ApiServerArgoSource } from "../../src/adapters/argo/api-server-source.js";
import { KubeArgoSource } from "../../src/adapters/argo/kube-source.js";
import type { ArgoSource } from "../../src/core/argo-source.js";
import type { Application } from "../../src/core/argo-types.js";
import { syncWindowState } from "../../src/core/sync-windows.js";
import { startArgoApiServer } from "../../sandbox/argo/api-server.js";
import { startArgoSim, type ArgoSim, type SimSyncWindow } from "../../sandbox/argo/index.js";
import { eventually, FAST_SIM, makeSimRepo } from "../helpers/argo-sim-repo.js";
import { useScratch } from "../helpers/scratch.js";

const scratch = useScratch("project-windows");

const FREEZE: SimSyncWindow = {
  kind: "deny",
  schedule: "0 0 1 1 *",
  duration: "1h",
  applications: ["cart-*"],
  manualSync: true,
};

async function world(): Promise<ArgoSim> {
  const dir = scratch.next();
  const repo = await makeSimRepo(dir, { cart: ["staging"], web: ["staging"] });
  const sim = await startArgoSim({
    repoPath: repo.bare,
    applications: [
      { name: "cart-staging", path: "services/cart/overlays/staging", project: "shop" },
      { name: "web-staging", path: "services/web/overlays/staging" },
    ],
    projects: [{ name: "shop", syncWindows: [FREEZE] }],
    timings: FAST_SIM,
  });
  scratch.defer(() => sim.close());
  return sim;
}

async function kubeSource(sim: ArgoSim): Promise<ArgoSource> {
  const path = scratch.next("kubeconfig");
  await sim.writeKubeconfig(path);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return new KubeArgoSource({ kubeConfig, namespace: "argocd", backoff: { initialMs: 20, maxMs: 200 } });
}

async function apiSource(sim: ArgoSim): Promise<ArgoSource> {
  const api = await startArgoApiServer(sim, { token: "argocd-token" });
  scratch.defer(() => api.close());
  return new ApiServerArgoSource({
    server: api.url,
    token: "argocd-token",
    namespace: "argocd",
    projectRefreshMs: 200,
  });
}

describe.each([
  ["the Kubernetes API", kubeSource],
  ["the Argo CD API server", apiSource],
])("projectFor over %s", (_name, make) => {
  it("gives each app its project's windows, and re-announces the apps when they change", async () => {
    const sim = await world();
    const source = await make(sim);
    scratch.defer(() => source.stop());
    const seen: Application[] = [];
    source.onApplication((app) => seen.push(app));
    await source.start();

    const cart = source.getApplication({ namespace: "argocd", name: "cart-staging" });
    const web = source.getApplication({ namespace: "argocd", name: "web-staging" });
    if (!cart || !web) throw new Error("apps not loaded");
    expect(source.projectFor?.(cart)?.spec?.syncWindows).toEqual([FREEZE]);
    // An app without spec.project (or "default") belongs to Argo CD's default project: no windows.
    expect(source.projectFor?.(web)?.metadata?.name).toBe("default");
    expect(source.projectFor?.(web)?.spec?.syncWindows ?? []).toEqual([]);

    // Someone adds a deny window over every app of "default" now: web-staging is announced again
    // and its project holds it.
    const before = seen.length;
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const now = new Date().toISOString();
    sim.setSyncWindows("default", [
      {
        kind: "deny",
        schedule: `${minute.getUTCMinutes()} ${minute.getUTCHours()} ${minute.getUTCDate()} ${minute.getUTCMonth() + 1} *`,
        duration: "10m",
        applications: ["*"],
      },
    ]);
    // The API server source reads a project again when asked, once it is older than projectRefreshMs.
    const ask = () => source.projectFor?.(web);
    const announced = await eventually(
      () => (ask(), seen.slice(before).find((a) => a.metadata?.name === "web-staging")),
      20_000,
      "web-staging announced again",
    );
    const held = syncWindowState({ project: source.projectFor?.(announced), app: announced, now });
    expect(held).toMatchObject({ denied: true, because: "deny" });
  }, 60_000);
});

describe("projectFor when the project cannot be read", () => {
  it("over the Argo CD API server: a missing project means no windows, said once in the log", async () => {
    const dir = scratch.next();
    const repo = await makeSimRepo(dir, { cart: ["staging"] });
    const sim = await startArgoSim({
      repoPath: repo.bare,
      applications: [{ name: "cart-staging", path: "services/cart/overlays/staging", project: "ghost" }],
      timings: FAST_SIM,
    });
    scratch.defer(() => sim.close());
    const api = await startArgoApiServer(sim, { token: "argocd-token" });
    scratch.defer(() => api.close());
    const warnings: string[] = [];
    let projectReads = 0;
    const source = new ApiServerArgoSource({
      server: api.url,
      token: "argocd-token",
      namespace: "argocd",
      projectRefreshMs: 50,
      fetch: (url, init) => {
        if (String(url).includes("/api/v1/projects/")) projectReads++;
        return fetch(url, init);
      },
      log: { info: () => undefined, warn: (_obj, msg) => void warnings.push(String(msg)) },
    });
    scratch.defer(() => source.stop());
    await source.start();
    const cart = source.getApplication({ namespace: "argocd", name: "cart-staging" });
    if (!cart) throw new Error("app not loaded");
    expect(source.projectFor?.(cart)).toBeUndefined();
    // Read again later, still missing: not said again.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(source.projectFor?.(cart)).toBeUndefined();
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(projectReads).toBeGreaterThan(1);
    expect(warnings).toEqual(["argo source: cannot read AppProject, sync windows unknown"]);
  });
});
