// Graceful shutdown, as Kubernetes asks for it (SIGTERM): deploy events already answered still
// become their PRs, the Lease is released at once for the next replica, and the process exits 0.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, SERVICES, type World } from "../../sandbox/world.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };

beforeAll(async () => {
  world = await startWorld({
    config: "environments:\n  - name: staging\n  - name: production\n",
    leaderElection: true,
    // The dashboard issue's writes share the write throttle; this test counts the deploy PRs' own.
    appEnv: { CONVEYOR_DASHBOARD_ISSUE: "false" },
  });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const holder = () => world.argo.lease("conveyor", "conveyor-leader")?.spec?.holderIdentity;
const openBranches = async () =>
  (await ci.rest.pulls.list({ ...repo, state: "all", per_page: 100 })).data.map((p) => p.head.ref).sort();

describe("SIGTERM", () => {
  it("finishes the deploy events it answered, releases the Lease and exits 0", async () => {
    await until(holder, 20_000, "the replica to take the Lease");
    for (const service of SERVICES) {
      await ci.rest.repos.createDispatchEvent({
        ...repo,
        event_type: `deploy-${service}`,
        client_payload: { image: `ghcr.io/acme/${service}:3.0.0` },
      });
    }
    // All three deliveries answered 2xx; Octokit spaces PR creation 3 s apart, so some PRs are
    // still to be made when the signal arrives.
    await world.forge.idle();
    const delivered = world.forge.events.filter((d) => d.event === "repository_dispatch");
    expect(delivered.map((d) => d.status)).toEqual([200, 200, 200]);
    const before = await openBranches();
    expect(before.length).toBeLessThan(SERVICES.length);

    const code = await world.stopApp();
    expect(code).toBe(0);
    const trouble = world
      .appLog()
      .split("\n")
      .filter((line) => /"level":(40|50)/.test(line))
      .slice(-10)
      .join("\n");
    expect(await openBranches(), trouble).toEqual(SERVICES.map((s) => `conveyor/staging/${s}`).sort());
    expect(holder()).toBe("");
    expect(world.appLog()).toMatch(
      /"inFlight":[1-9].*stopping: Lease released; finishing work for events already answered/,
    );
    expect(world.appLog()).toContain("stopping: all work finished");
    expect(world.appLog()).not.toMatch(/"level":50/);
    await expect(fetch(`${world.appUrl}/healthz`)).rejects.toThrow();
  });
});
