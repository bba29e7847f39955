// End to end: an Argo CD sync window that denies syncing is a wait, not a failure. The real
// Conveyor process, the local forge and the simulated Argo CD, with staging's sync timeout (5 s)
// much shorter than the window: without windows the rollout would fail and be reverted. The window
// is lifted by editing the AppProject once Conveyor has said it waits for it, so how long the
// machine takes to merge the PR never decides what the test sees.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SANDBOX_CONFIG, startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };

beforeAll(async () => {
  const config = SANDBOX_CONFIG.replace("timeouts: { sync: 30s", "timeouts: { sync: 5s");
  expect(config).not.toBe(SANDBOX_CONFIG);
  // Argo CD looks at windows again on its periodic reconcile (180 s by default; 2 s here).
  world = await startWorld({ config, argoTimings: { reconcileIntervalMs: 2_000 } });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

interface StatusEvent {
  deployment: { id: number; environment: string; payload: Record<string, unknown> };
  deployment_status: { state: string; description: string | null };
}

/** order-service's staging deployment statuses delivered so far, in order. */
function statuses(): StatusEvent[] {
  return world.forge.events
    .filter((d) => d.event === "deployment_status")
    .map((d) => d.payload as unknown as StatusEvent)
    .filter((p) => p.deployment.environment === "staging" && p.deployment.payload.service === "order-service");
}

async function until<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      const seen = statuses().map(
        (s) => `${s.deployment.id} ${s.deployment_status.state}: ${s.deployment_status.description}`,
      );
      throw new Error(`timed out waiting for ${what}; statuses so far:\n${seen.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("Argo CD sync windows", () => {
  it("a sync window denying sync: the rollout waits, and is verified once the window is gone; no revert", async () => {
    world.argo.denySyncFor(600_000, { applications: ["*-staging"] });
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-order-service",
      client_payload: { image: "ghcr.io/acme/order-service:1.5.0" },
    });

    // The PR merges, and the Deployment says what it waits for: which window, until when.
    const held = await until(
      () => statuses().find((s) => s.deployment_status.description?.includes("sync window")),
      150_000,
      "an in_progress status naming the sync window",
    );
    expect(held.deployment_status.state).toBe("in_progress");
    expect(held.deployment_status.description).toMatch(
      /^Argo CD sync window #0 \(deny, '\d+ \d+ \d+ \d+ \*' for \d+ms\) holds the sync until (\d{4}-\d\d-\d\d )?\d\d:\d\d(:\d\d)? UTC$/,
    );
    expect(held.deployment.payload.to).toBe("ghcr.io/acme/order-service:1.5.0");
    const { data: merged } = await ci.rest.pulls.list({
      ...repo,
      state: "closed",
      head: `${OWNER}:conveyor/staging/order-service`,
    });
    expect(merged[0]?.merged_at).toBeTruthy();
    await until(
      () => (world.argo.syncPrevented("order-service-staging") ? true : undefined),
      30_000,
      "Argo CD keeping the sync from starting",
    );
    // Still waiting well past the sync timeout (5 s): the window is a wait, not a failure.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    expect(statuses().map((s) => s.deployment_status.state)).not.toContain("failure");
    expect(world.argo.get("order-service-staging")?.status.summary?.images).not.toContain(
      "ghcr.io/acme/order-service:1.5.0",
    );

    // The window is removed from the AppProject; Argo CD syncs; the rollout is verified.
    const lifted = Date.now();
    world.argo.setSyncWindows("default", []);
    const verified = await until(
      () => statuses().find((s) => s.deployment.id === held.deployment.id && s.deployment_status.state === "success"),
      150_000,
      "the Deployment verified",
    );
    expect(verified.deployment.payload.to).toBe("ghcr.io/acme/order-service:1.5.0");
    const app = world.argo.get("order-service-staging");
    expect(app?.status.sync?.status).toBe("Synced");
    expect(app?.status.summary?.images).toContain("ghcr.io/acme/order-service:1.5.0");
    // Argo CD did not sync before the window was lifted (its times have whole seconds).
    const syncedAt = Date.parse(app?.status.operationState?.startedAt ?? "");
    expect(syncedAt).toBeGreaterThanOrEqual(Math.floor(lifted / 1000) * 1000);

    // Never failed, never reverted.
    expect(statuses().map((s) => s.deployment_status.state)).not.toContain("failure");
    const { data: reverts } = await ci.rest.pulls.list({
      ...repo,
      state: "all",
      head: `${OWNER}:conveyor/revert/staging/order-service`,
    });
    expect(reverts).toEqual([]);
    const { data: holds } = await ci.rest.issues.listForRepo({ ...repo, labels: "conveyor:hold", state: "all" });
    expect(holds).toEqual([]);
  }, 400_000);
});
