// A crash loses no deploy event. 30 services each get a deploy event; the app is SIGKILLed as soon
// as the first 10 are answered (their PRs may not exist yet: answered events are made into PRs in
// the background), and the other 20 reach nobody while it is down. After the supervisor restarts
// it, Conveyor reads GitHub's record of its webhook deliveries: it replays the answered events and
// asks for the failed ones again. Every service then has exactly one PR.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";
import { generatedServices, until } from "../helpers/e2e.js";

const SERVICES = Array.from({ length: 30 }, (_, i) => `svc-${String(i + 1).padStart(2, "0")}`);

// Staging waits for a reviewer here: the test is about intake, so the PRs stay open to be counted.
const CONFIG = `environments:
  - name: staging
  - name: production
`;

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };

beforeAll(async () => {
  world = await startWorld({
    files: generatedServices(SERVICES),
    config: CONFIG,
    applications: [],
    appEnv: { CONVEYOR_REPLAY_MS: "2000" },
  });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 90_000);

afterAll(async () => {
  await world?.close();
});

const answeredDispatches = () =>
  world.forge.events.filter((d) => d.event === "repository_dispatch" && d.status === 200 && !d.redelivery);

describe("a crash between answering deploy events and making their PRs", () => {
  it("loses none of 30: after the restart every service has exactly one PR", async () => {
    const killed = (async () => {
      await until(() => answeredDispatches().length >= 10, 60_000, "10 answered deploy events");
      return world.crash();
    })();
    for (const service of SERVICES)
      await ci.rest.repos.createDispatchEvent({
        ...repo,
        event_type: `deploy-${service}`,
        client_payload: { image: `ghcr.io/acme/${service}:1.5.0` },
      });
    const pid = await killed;
    expect(pid).toBeTypeOf("number");
    await world.waitForRestart(pid, 60_000);

    const prs = await until(
      async () => {
        const all = await ci.paginate(ci.rest.pulls.list, { ...repo, state: "all", per_page: 100 });
        return all.length >= SERVICES.length ? all : undefined;
      },
      // Writes are spaced a second apart and each PR takes a few; a loaded machine takes longer.
      450_000,
      "30 PRs",
    );
    // Settle: nothing more may arrive (a duplicate would come from a late replay or redelivery).
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const final = await ci.paginate(ci.rest.pulls.list, { ...repo, state: "all", per_page: 100 });
    expect(final.length).toBe(prs.length);
    expect(final.map((pr) => pr.title).sort()).toEqual(
      SERVICES.map((service) => `Deploy ${service} 1.5.0 to staging`).sort(),
    );
    expect(final.every((pr) => pr.state === "open")).toBe(true);

    // Some events reached nobody while the app was down, and were delivered again.
    const failed = world.forge.events.filter(
      (d) => d.event === "repository_dispatch" && d.error !== null && !d.redelivery,
    );
    const redelivered = world.forge.events.filter((d) => d.event === "repository_dispatch" && d.redelivery);
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(redelivered.map((d) => d.id))).toEqual(new Set(failed.map((d) => d.id)));
  }, 600_000);
});
