import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { LeaseElector, type LeaseElectorOptions } from "../../src/adapters/kube-lease.js";
import { startArgoSim } from "../../sandbox/argo/index.js";
import { startLeaseServer, type LeaseServer } from "../../sandbox/argo/leases.js";
import { delay, eventually, FAST_SIM, makeSimRepo } from "../helpers/argo-sim-repo.js";

const NS = "conveyor";
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Cluster {
  server: LeaseServer;
  electors: LeaseElector[];
  leaders: () => string[];
  /** Most replicas that believed they led at the same moment. */
  maxConcurrent: () => number;
  elector(identity: string, options?: Partial<LeaseElectorOptions>): LeaseElector;
  lease():
    | {
        holderIdentity?: string;
        renewTime?: string;
        acquireTime?: string;
        leaseTransitions?: number;
        leaseDurationSeconds?: number;
      }
    | undefined;
}

async function cluster(defaults: Partial<LeaseElectorOptions>): Promise<Cluster> {
  const server = await startLeaseServer({ token: "lease-token" });
  cleanups.push(() => server.close());
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(server.kubeconfig(NS));
  const leading = new Set<string>();
  let max = 0;
  const electors: LeaseElector[] = [];
  return {
    server,
    electors,
    leaders: () => [...leading],
    maxConcurrent: () => max,
    elector(identity, options = {}) {
      const elector = new LeaseElector({
        kubeConfig,
        namespace: NS,
        identity,
        onStartedLeading: () => {
          leading.add(identity);
          max = Math.max(max, leading.size);
        },
        onStoppedLeading: () => void leading.delete(identity),
        ...defaults,
        ...options,
      });
      electors.push(elector);
      cleanups.push(() => elector.stop({ release: false }));
      return elector;
    },
    lease() {
      const lease = server.store.get("leases", NS, "conveyor-leader");
      return lease?.spec as ReturnType<Cluster["lease"]>;
    },
  };
}

const FAST = { leaseDurationMs: 1_000, renewEveryMs: 150, retryEveryMs: 100 };

describe("LeaseElector against the simulated API server", () => {
  it("elects exactly one of two replicas and keeps renewing with MicroTime stamps", async () => {
    // A lease long enough that a loaded machine's pauses cannot expire it between renewals.
    const c = await cluster({ ...FAST, leaseDurationMs: 5_000 });
    c.elector("replica-a").start();
    c.elector("replica-b").start();
    const [leader] = await eventually(() => (c.leaders().length === 1 ? c.leaders() : undefined), 10_000, "a leader");
    await delay(600);
    expect(c.leaders()).toEqual([leader]);
    expect(c.maxConcurrent()).toBe(1);
    const lease = c.lease();
    expect(lease).toMatchObject({ holderIdentity: leader, leaseDurationSeconds: 5, leaseTransitions: 0 });
    // The apiserver only parses six fractional digits (metav1.MicroTime).
    expect(lease?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const renewed = Date.parse(String(lease?.renewTime));
    expect(Date.now() - renewed).toBeLessThan(5_000);
    expect(c.electors.filter((e) => e.isLeader)).toHaveLength(1);
  });

  it("lets the other replica take over within the lease duration when the leader dies", async () => {
    const c = await cluster(FAST);
    const a = c.elector("replica-a");
    a.start();
    await eventually(() => a.isLeader, 3_000, "a leads");
    const b = c.elector("replica-b");
    b.start();
    await delay(300);
    expect(b.isLeader).toBe(false);

    await a.stop({ release: false }); // a crash: nothing written
    const diedAt = Date.now();
    await eventually(() => b.isLeader, 10_000, "b takes over");
    const waited = Date.now() - diedAt;
    expect(waited).toBeGreaterThan(FAST.leaseDurationMs - FAST.renewEveryMs - 100);
    expect(waited).toBeLessThan(FAST.leaseDurationMs + 2 * FAST.retryEveryMs + 3_000);
    expect(c.lease()).toMatchObject({ holderIdentity: "replica-b", leaseTransitions: 1 });
    expect(c.maxConcurrent()).toBe(1);
  });

  it("hands over at once when the leader releases the lease on shutdown", async () => {
    const c = await cluster({ ...FAST, leaseDurationMs: 5_000, renewEveryMs: 500 });
    const a = c.elector("replica-a");
    a.start();
    await eventually(() => a.isLeader, 3_000, "a leads");
    const b = c.elector("replica-b");
    b.start();
    await delay(250);
    const releasedAt = Date.now();
    await a.stop();
    expect(a.isLeader).toBe(false);
    await eventually(() => b.isLeader, 2_000, "b takes over");
    expect(Date.now() - releasedAt).toBeLessThan(800);
    expect(c.lease()?.holderIdentity).toBe("replica-b");
    expect(c.maxConcurrent()).toBe(1);
  });

  it("never has two leaders when several replicas race for the same lease", async () => {
    const c = await cluster({ ...FAST, retryEveryMs: 20 });
    const replicas = ["r1", "r2", "r3", "r4", "r5"].map((id) => c.elector(id));
    replicas.forEach((r) => r.start());
    const [first] = await eventually(() => (c.leaders().length === 1 ? c.leaders() : undefined), 3_000, "a leader");
    // Kill the leader: the others all see the lease expire together and write at once.
    await replicas.find((r) => r.isLeader)?.stop({ release: false });
    const [second] = await eventually(
      () => (c.leaders().length === 1 && c.leaders()[0] !== first ? c.leaders() : undefined),
      3_000,
      "a new leader",
    );
    await delay(300);
    expect(c.leaders()).toEqual([second]);
    expect(c.maxConcurrent()).toBe(1);
    expect(replicas.filter((r) => r.isLeader)).toHaveLength(1);
    expect(c.lease()).toMatchObject({ holderIdentity: second, leaseTransitions: 1 });
  });

  it("steps down when another holder has taken the lease", async () => {
    const c = await cluster(FAST);
    const a = c.elector("replica-a");
    a.start();
    await eventually(() => a.isLeader, 3_000, "a leads");
    // Someone else writes the lease (e.g. after a long pause of this replica).
    const lease = c.server.store.get("leases", NS, "conveyor-leader");
    if (!lease) throw new Error("no lease");
    const stamp = new Date(Date.now() + 5_000).toISOString().replace("Z", "000Z");
    c.server.store.update(
      "leases",
      { ...lease, spec: { ...(lease.spec as object), holderIdentity: "intruder", renewTime: stamp } },
      "api",
    );
    await eventually(() => !a.isLeader, 2_000, "a steps down");
    expect(c.leaders()).toEqual([]);
  });
});

describe("simulated Lease API", () => {
  it("rejects millisecond MicroTime stamps and stale resourceVersions like the apiserver", async () => {
    const server = await startLeaseServer({ token: "t" });
    cleanups.push(() => server.close());
    const url = `${server.url}/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
    const headers = { Authorization: "Bearer t", "Content-Type": "application/json" };
    const lease = (renewTime: string, resourceVersion?: string) =>
      JSON.stringify({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "x", namespace: NS, resourceVersion },
        spec: { holderIdentity: "a", leaseDurationSeconds: 5, renewTime },
      });
    const bad = await fetch(url, { method: "POST", headers, body: lease("2024-01-01T00:00:00.123Z") });
    expect(bad.status).toBe(422);
    const created = await fetch(url, { method: "POST", headers, body: lease("2024-01-01T00:00:00.123000Z") });
    expect(created.status).toBe(201);
    const rv = ((await created.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    expect(
      (await fetch(`${url}/x`, { method: "PUT", headers, body: lease("2024-01-01T00:00:01.000000Z", rv) })).status,
    ).toBe(200);
    expect(
      (await fetch(`${url}/x`, { method: "PUT", headers, body: lease("2024-01-01T00:00:02.000000Z", rv) })).status,
    ).toBe(409);
    expect((await fetch(url, { method: "POST", headers, body: lease("2024-01-01T00:00:00.123000Z") })).status).toBe(
      409,
    );
    expect((await fetch(`${url}/x`, { method: "DELETE", headers })).status).toBe(200);
    expect((await fetch(`${url}/x`, { headers })).status).toBe(404);
  });
});

describe("LeaseElector against the Argo simulator's own API server", () => {
  it("elects through the same kubeconfig the Argo source uses", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lease-sim-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const repo = await makeSimRepo(dir, { cart: ["staging"] });
    const sim = await startArgoSim({
      repoPath: repo.bare,
      applications: [{ name: "cart-staging", path: "services/cart/overlays/staging" }],
      timings: FAST_SIM,
    });
    cleanups.push(() => sim.close());
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(sim.kubeconfig());
    let leading = false;
    const elector = new LeaseElector({
      kubeConfig,
      namespace: "argocd",
      identity: "pod-1",
      ...FAST,
      onStartedLeading: () => (leading = true),
      onStoppedLeading: () => (leading = false),
    });
    cleanups.push(() => elector.stop());
    elector.start();
    await eventually(() => leading, 3_000, "leading");
    await elector.stop();
    expect(leading).toBe(false);
    expect(sim.get("cart-staging")?.status.health?.status).toBe("Healthy");
  });
});
