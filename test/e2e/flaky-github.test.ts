// A flaky GitHub: the forge fails one in ten of Conveyor's API calls (502s, and some dropped
// connections) for a whole deploy -> verify -> promote -> verify story. It completes, and nothing
// is done twice: no duplicate PR, comment, issue, Deployment or revert.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";
import { deploymentState, pullRequest } from "../../sandbox/scenario.js";

let world: World;
let ci: Octokit;
let reviewer: Octokit;
const repo = { owner: OWNER, repo: REPO };

beforeAll(async () => {
  world = await startWorld();
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
  reviewer = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.reviewer });
  world.forge.setFaults({ rate: 0.1, resetShare: 0.25, seed: 12 });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

describe("GitHub failing 10% of Conveyor's calls", () => {
  it("deploy, verify, promote and verify complete, each thing done once", async () => {
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-order-service",
      client_payload: { image: "ghcr.io/acme/order-service:1.5.0" },
    });
    await deploymentState(world, "staging", "order-service", "success", 180_000);
    const production = await pullRequest(world, "conveyor/production/order-service", 120_000);
    await reviewer.rest.pulls.merge({
      ...repo,
      pull_number: production.number,
      sha: production.head.sha,
      merge_method: "merge",
    });
    await deploymentState(world, "production", "order-service", "success", 180_000);
    // Let late retries land before counting.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    world.forge.setFaults(undefined);

    expect(world.forge.injected["502"]).toBeGreaterThan(0);
    const prs = await ci.paginate(ci.rest.pulls.list, { ...repo, state: "all", per_page: 100 });
    expect(prs.map((pr) => pr.title).sort()).toEqual([
      "Deploy order-service 1.5.0 to production",
      "Deploy order-service 1.5.0 to staging",
    ]);
    expect(prs.every((pr) => pr.merged_at)).toBe(true);

    const issues = await ci.paginate(ci.rest.issues.listForRepo, { ...repo, state: "all", per_page: 100 });
    expect(issues.filter((i) => !i.pull_request).map((i) => i.title)).toEqual([]);

    for (const pr of prs) {
      const comments = await ci.paginate(ci.rest.issues.listComments, { ...repo, issue_number: pr.number });
      const bodies = comments.map((c) => c.body);
      expect(bodies.length, `comments on #${pr.number}`).toBe(new Set(bodies).size);
    }
    for (const environment of ["staging", "production"]) {
      const deployments = await ci.paginate(ci.rest.repos.listDeployments, { ...repo, environment, per_page: 100 });
      expect(
        deployments.map((d) => (d.payload as { service?: string }).service),
        environment,
      ).toEqual(["order-service"]);
    }
  }, 600_000);
});
