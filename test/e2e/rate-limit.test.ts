// End to end under GitHub's secondary rate limit (scaled down in time): every PR still arrives
// exactly once, the 403s are waited out and retried, and nothing is dropped.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, SERVICES, type World } from "../../sandbox/world.js";
import { pullRequest } from "../../sandbox/scenario.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };

beforeAll(async () => {
  world = await startWorld({
    config: "environments:\n  - name: staging\n  - name: production\n",
    rateLimit: { limit: 2, windowMs: 5_000 },
  });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

describe("secondary rate limit", () => {
  it(
    "three dispatches at once need six writes against a limit of two per 5 s window: all PRs arrive once",
    { timeout: 180_000 },
    async () => {
      // The limit is per caller: two CI tokens share the three dispatches.
      const reviewer = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.reviewer });
      for (const [i, service] of SERVICES.entries()) {
        await (i < 2 ? ci : reviewer).rest.repos.createDispatchEvent({
          ...repo,
          event_type: `deploy-${service}`,
          client_payload: { image: `ghcr.io/acme/${service}:2.0.0` },
        });
      }
      for (const service of SERVICES) await pullRequest(world, `conveyor/staging/${service}`, 60_000);
      await world.forge.idle();
      const { data } = await ci.rest.pulls.list({ ...repo, state: "all", per_page: 100 });
      expect(data.map((p) => p.head.ref).sort()).toEqual(SERVICES.map((s) => `conveyor/staging/${s}`).sort());

      const limited = world.forge.requests.filter((r) => r.status === 403 && r.actor === "conveyor[bot]");
      expect(limited.length).toBeGreaterThan(0);
      const metrics = await (await fetch(`${world.appUrl}/metrics`)).text();
      expect(metrics).toMatch(/conveyor_github_rate_limit_waits_total\{kind="secondary"\} [1-9]/);
      // Every PR gets its labels despite the 403s: the limited writes are retried, not dropped. They
      // queue behind the render checks' writes, two per window, so give them a few windows.
      const labelled = async () => {
        for (const pr of data) {
          const { data: issue } = await ci.rest.issues.get({ ...repo, issue_number: pr.number });
          const names = issue.labels.map((l) => (typeof l === "string" ? l : l.name));
          if (!names.includes("conveyor") || !names.includes("env/staging")) return false;
        }
        return true;
      };
      const until = Date.now() + 90_000;
      while (!(await labelled()) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await labelled()).toBe(true);
      expect(world.appLog()).not.toMatch(/"level":50/);
    },
  );
});
