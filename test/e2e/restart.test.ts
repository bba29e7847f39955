// The sandbox behaves like a cluster: when the Conveyor process dies (here SIGKILLed through its
// pid, as a script using `npm run sandbox -- --json`'s appPid would), it is restarted a second
// later, becomes ready, takes the Lease once the dead replica's expires, and does its work.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";
import { deploymentState } from "../../sandbox/scenario.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };
const supervisorLog: string[] = [];

beforeAll(async () => {
  // As `npm run sandbox` runs it: with leader election.
  world = await startWorld({ leaderElection: true, onSupervisorLog: (line) => supervisorLog.push(line) });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

async function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const holder = () => world.argo.lease("conveyor", "conveyor-leader")?.spec?.holderIdentity;

describe("a crashed app", () => {
  it("is restarted by the supervisor, becomes ready, takes over the Lease and handles deploys again", async () => {
    const first = world.appPid();
    expect(first).toBeTypeOf("number");
    await until(() => holder()?.endsWith(`-${first}`), 30_000, "the first replica to take the Lease");

    process.kill(first as number, "SIGKILL");
    const second = await world.waitForRestart(first, 60_000);
    expect(second).not.toBe(first);
    expect(world.appPid()).toBe(second);
    expect(world.supervisor.restarts).toBe(1);
    expect((await fetch(`${world.appUrl}/readyz`)).ok).toBe(true);
    expect(supervisorLog).toEqual([
      `Conveyor (pid ${first}) was killed by SIGKILL; restarting it in 1 s`,
      `Conveyor restarted (pid ${second}) and is ready`,
    ]);

    // A deploy sent after the restart becomes a PR, is merged (staging merges automatically) and
    // verified, which takes the new replica leading once the dead one's Lease has expired.
    const opened = world.forge.waitForEvent(
      (d) =>
        d.event === "pull_request" &&
        d.action === "opened" &&
        (d.payload as { pull_request: { title: string } }).pull_request.title ===
          "Deploy order-service 1.5.0 to staging",
      60_000,
    );
    const verified = deploymentState(world, "staging", "order-service", "success", 120_000);
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-order-service",
      client_payload: { image: "ghcr.io/acme/order-service:1.5.0" },
    });
    await opened;
    const payload = await verified;
    expect(payload.to).toBe("ghcr.io/acme/order-service:1.5.0");
    expect(holder()).toMatch(new RegExp(`-${second}$`));
    expect(world.supervisor.restarts).toBe(1);
  });
});
