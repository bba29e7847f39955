// The simulated Argo CD honours AppProject sync windows as Argo CD does: while a window denies an
// app, auto-sync starts nothing, a manual sync is refused, and an operation set on the app stays
// Running ("Sync operation blocked by sync window") until the window ends. Projects are stored as
// AppProjects (validated against the upstream CRD) and served over both APIs.
import { describe, expect, it } from "vitest";
import { startArgoApiServer } from "../../sandbox/argo/api-server.js";
import { startArgoSim, type ArgoSim, type ArgoSimOptions } from "../../sandbox/argo/index.js";
import { delay, FAST_SIM, makeSimRepo, type SimRepo } from "../helpers/argo-sim-repo.js";
import { useScratch } from "../helpers/scratch.js";

const scratch = useScratch("sim-windows");

const CART = { name: "cart-staging", path: "services/cart/overlays/staging" };
const APPS = "/apis/argoproj.io/v1alpha1/namespaces/argocd";

async function start(options: Partial<ArgoSimOptions> = {}): Promise<{ repo: SimRepo; sim: ArgoSim }> {
  const repo = await makeSimRepo(scratch.next(), { cart: ["staging"] });
  const sim = await startArgoSim({ repoPath: repo.bare, applications: [CART], timings: FAST_SIM, ...options });
  scratch.defer(() => sim.close());
  return { repo, sim };
}

async function push(repo: SimRepo, sim: ArgoSim, tag: string): Promise<string> {
  await repo.setTag("cart", "staging", tag);
  const sha = await repo.commit(`cart ${tag}`);
  await sim.notifyPush();
  await sim.waitFor("cart-staging", (a) => a.status.sync?.revision === sha);
  return sha;
}

describe("sync windows in the simulated Argo CD", () => {
  it("a deny window keeps auto-sync from starting and refuses manual syncs; once it is gone, a refresh syncs", async () => {
    const { repo, sim } = await start();
    const { window } = sim.denySyncFor(60_000, { applications: ["cart-*"] });
    expect(window).toMatchObject({ kind: "deny", applications: ["cart-*"] });
    expect(window.schedule).toMatch(/^\d+ \d+ \d+ \d+ \*$/);
    expect(window.duration).toMatch(/^\d+ms$/);

    const sha = await push(repo, sim, "1.1.0");
    await delay(5 * (FAST_SIM.autoSyncDelayMs + FAST_SIM.operationMs));
    const held = sim.get("cart-staging");
    expect(held?.status.sync?.status).toBe("OutOfSync");
    expect(held?.operation).toBeUndefined();
    expect(held?.status.operationState?.syncResult?.revision).not.toBe(sha);
    expect(sim.syncPrevented("cart-staging")).toBe(true);
    await expect(sim.sync("cart-staging")).rejects.toThrow("cannot sync: blocked by sync window");

    // An admin deletes the window; Argo CD looks at the windows again at its next refresh.
    sim.setSyncWindows("default", []);
    sim.refresh("cart-staging");
    const synced = await sim.waitFor(
      "cart-staging",
      (a) => a.status.sync?.status === "Synced" && a.status.operationState?.syncResult?.revision === sha,
    );
    expect(synced.status.operationState?.operation.initiatedBy).toMatchObject({ automated: true });
    expect(sim.syncPrevented("cart-staging")).toBe(false);
  });

  it("an operation set on the app while a window denies it stays Running, blocked, until the window ends", async () => {
    const { repo, sim } = await start({ autoSync: false });
    const sha = await push(repo, sim, "1.2.0");
    // Long enough to set the operation inside it on a loaded machine.
    const { endsAt } = sim.denySyncFor(8_000);
    const res = await fetch(`${sim.url}${APPS}/applications/cart-staging`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${sim.token}`, "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ operation: { sync: { revision: sha }, initiatedBy: { username: "conveyor" } } }),
    });
    expect(res.status).toBe(200);
    const blocked = await sim.waitFor(
      "cart-staging",
      (a) => a.status.operationState?.message === "Sync operation blocked by sync window",
    );
    expect(blocked.status.operationState?.phase).toBe("Running");
    expect(blocked.status.sync?.status).toBe("OutOfSync");
    const done = await sim.waitFor(
      "cart-staging",
      (a) => a.status.operationState?.phase === "Succeeded" && a.status.sync?.status === "Synced",
      30_000,
    );
    expect(Date.now()).toBeGreaterThanOrEqual(endsAt.getTime());
    expect(done.status.operationState?.syncResult?.revision).toBe(sha);
  }, 60_000);

  it("a window with manualSync lets a manual sync through while auto-sync waits", async () => {
    const { repo, sim } = await start();
    sim.denySyncFor(60_000, { manualSync: true });
    const sha = await push(repo, sim, "1.3.0");
    await delay(5 * (FAST_SIM.autoSyncDelayMs + FAST_SIM.operationMs));
    expect(sim.syncPrevented("cart-staging")).toBe(true);
    await sim.sync("cart-staging");
    expect(sim.get("cart-staging")?.status.operationState).toMatchObject({
      phase: "Succeeded",
      syncResult: { revision: sha },
    });
  });

  it("a window over other apps holds nothing", async () => {
    const { repo, sim } = await start();
    sim.denySyncFor(60_000, { applications: ["web-*"] });
    const sha = await push(repo, sim, "1.4.0");
    const synced = await sim.waitFor(
      "cart-staging",
      (a) => a.status.sync?.status === "Synced" && a.status.operationState?.syncResult?.revision === sha,
    );
    expect(synced.status.operationState?.phase).toBe("Succeeded");
  });

  it("serves projects as AppProjects over the Kubernetes API and the Argo CD API, with the windows active now", async () => {
    const { sim } = await start({
      projects: [
        { name: "shop", syncWindows: [{ kind: "allow", schedule: "0 9 * * *", duration: "8h", applications: ["*"] }] },
      ],
    });
    const { window } = sim.denySyncFor(60_000, { project: "shop" });
    const kube = await fetch(`${sim.url}${APPS}/appprojects/shop`, {
      headers: { Authorization: `Bearer ${sim.token}` },
    });
    const project = (await kube.json()) as { kind: string; spec: { syncWindows: unknown[] } };
    expect(project.kind).toBe("AppProject");
    expect(project.spec.syncWindows).toEqual([
      { kind: "allow", schedule: "0 9 * * *", duration: "8h", applications: ["*"] },
      window,
    ]);
    const list = await fetch(`${sim.url}${APPS}/appprojects`, { headers: { Authorization: `Bearer ${sim.token}` } });
    expect(
      ((await list.json()) as { items: { metadata: { name: string } }[] }).items.map((p) => p.metadata.name),
    ).toEqual(expect.arrayContaining(["default", "shop"]));

    const api = await startArgoApiServer(sim, { token: "argocd-token" });
    scratch.defer(() => api.close());
    const get = (path: string) => fetch(`${api.url}${path}`, { headers: { Authorization: "Bearer argocd-token" } });
    expect(((await (await get("/api/v1/projects/shop")).json()) as typeof project).spec.syncWindows).toHaveLength(2);
    const active = (await (await get("/api/v1/projects/shop/syncwindows")).json()) as { windows: unknown[] };
    expect(active.windows).toContainEqual(window);
    expect((await get("/api/v1/projects/nope")).status).toBe(404);
  });

  it("refuses a window that does not fit the AppProject CRD, like the API server would", async () => {
    const { sim } = await start();
    const res = await fetch(`${sim.url}${APPS}/appprojects/default`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${sim.token}`, "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { syncWindows: [{ kind: "deny", schedule: "* * * * *", duration: 60 }] } }),
    });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("duration");
  });
});
