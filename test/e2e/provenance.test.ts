// End to end: what a promotion carries. The service repository acme/order-service has a real
// history (seeded commits and merged PRs); deploy events name its commits; the production PR lists
// them; a late build of an older commit is refused; the service repository sees its commit go
// live, environment by environment, as GitHub Deployments and one check run.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, waitFor, OWNER, REPO, type World } from "../../sandbox/world.js";
import { deploymentState, pullRequest } from "../../sandbox/scenario.js";
import type { ServiceRepo } from "../../sandbox/service-repos.js";

let world: World;
let ci: Octokit;
let reviewer: Octokit;
let service: ServiceRepo;
const repo = { owner: OWNER, repo: REPO };
const source = { owner: OWNER, repo: "order-service" };
const IMAGE = "ghcr.io/acme/order-service";

beforeAll(async () => {
  world = await startWorld({ serviceRepos: true });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
  reviewer = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.reviewer });
  service = world.serviceRepos["order-service"] as ServiceRepo;
}, 120_000);

afterAll(async () => {
  await world?.close();
});

/** A commit's Deployment statuses in one environment of its service repository, oldest first. */
async function history(sha: string, env: string, repository = source): Promise<Array<[string, string]>> {
  const { data } = await ci.rest.repos.listDeployments({ ...repository, sha, environment: env });
  const deployment = data[0];
  if (!deployment) return [];
  const { data: statuses } = await ci.rest.repos.listDeploymentStatuses({
    ...repository,
    deployment_id: deployment.id,
    per_page: 100,
  });
  return statuses.reverse().map((s) => [s.state, s.description ?? ""]);
}

const dispatch = (tag: string, sha: string) =>
  ci.rest.repos.createDispatchEvent({
    ...repo,
    event_type: "deploy",
    client_payload: {
      service: "order-service",
      image: `${IMAGE}:${tag}`,
      source: {
        repository: service.repository,
        sha,
        run_url: `${world.forge.webUrl}/${service.repository}/actions/runs/${tag}`,
      },
    },
  });

describe("provenance: source chain, changelog, commit order, the service repository's view", () => {
  it("two builds of consecutive commits reach production with their changelog; an older commit sent late is refused", async () => {
    const commits = service.commits;
    const s1 = (commits[commits.length - 2] as { sha: string }).sha;
    const s2 = (commits[commits.length - 1] as { sha: string }).sha;
    const since = commits.slice(commits.findIndex((c) => c.sha === service.deployedSha) + 1);
    expect(since.length).toBeGreaterThanOrEqual(2);

    await dispatch("1.5.0", s1);
    const first = await deploymentState(
      world,
      "staging",
      "order-service",
      "success",
      120_000,
      (p) => p.to === `${IMAGE}:1.5.0`,
    );
    // The Deployment keeps the source the deploy PR named.
    expect(first).toMatchObject({ to: `${IMAGE}:1.5.0`, source: { repository: service.repository, sha: s1 } });

    await dispatch("1.5.1", s2);
    const second = await deploymentState(
      world,
      "staging",
      "order-service",
      "success",
      120_000,
      (d) => d.to === `${IMAGE}:1.5.1`,
    );
    expect(second).toMatchObject({ source: { sha: s2 } });

    // The production PR now brings 1.5.1 and lists every commit since production's image.
    let production = await pullRequest(world, "conveyor/production/order-service", 60_000);
    await waitFor(async () => {
      production = await pullRequest(world, "conveyor/production/order-service", 10_000);
      return production.title.includes("1.5.1");
    }, 120_000);
    const { data: pr } = await ci.rest.pulls.get({ ...repo, pull_number: production.number });
    const body = pr.body ?? "";
    expect(body).toContain(`Requested by: [${service.repository}](${world.forge.webUrl}/${service.repository}) at`);
    expect(body).toContain(`${since.length} commits ([compare](${world.forge.webUrl}/${service.repository}/compare/`);
    const listed = body.split("\n").filter((l) => l.startsWith("- [`"));
    expect(listed.map((l) => /commit\/([0-9a-f]{40})\)/.exec(l)?.[1])).toEqual(since.map((c) => c.sha).reverse());
    // A commit from a merged PR names it, linked in the service repository.
    const merged = since.find((c) => c.pr !== undefined) as { pr: number };
    expect(body).toContain(`[#${merged.pr}](${world.forge.webUrl}/${service.repository}/pull/${merged.pr})`);

    // A late build of an older commit, with a newer tag: refused by commit order, on its commit.
    const older = (since[0] as { sha: string }).sha;
    await dispatch("1.6.0", older);
    let refusal: { conclusion: string | null; output: { summary?: string | null } } | undefined;
    await waitFor(async () => {
      const { data } = await ci.rest.checks.listForRef({ ...source, ref: older, check_name: "conveyor/deploy" });
      refusal = data.check_runs[0];
      return refusal !== undefined;
    }, 60_000);
    expect(refusal?.conclusion).toBe("failure");
    expect(refusal?.output.summary).toContain(`which is behind by ${since.length - 1} commits`);

    await reviewer.rest.pulls.createReview({ ...repo, pull_number: production.number, event: "APPROVE" });
    await reviewer.rest.pulls.merge({
      ...repo,
      pull_number: production.number,
      sha: production.head.sha,
      merge_method: "merge",
    });
    await deploymentState(world, "production", "order-service", "success", 120_000, (d) => d.to === `${IMAGE}:1.5.1`);

    // The service repository's view of s2: staging and production verified, one check run.
    const states = async (sha = s2) => {
      const { data } = await ci.rest.repos.listDeployments({ ...source, sha });
      const out: Record<string, string | undefined> = {};
      for (const d of data) {
        const { data: statuses } = await ci.rest.repos.listDeploymentStatuses({ ...source, deployment_id: d.id });
        out[d.environment] = statuses[0]?.state;
      }
      return out;
    };
    await waitFor(async () => {
      const s = await states();
      return s.staging === "success" && s.production === "success";
    }, 60_000);
    expect(await states()).toEqual({ staging: "success", production: "success" });
    // Every stage, once each, in order, in both environments.
    const staging = await history(s2, "staging");
    expect(staging.map(([state]) => state)).toEqual(["queued", "pending", "in_progress", "in_progress", "success"]);
    expect(staging[2]?.[1]).toMatch(/^Merged in acme\/manifests#\d+; verifying next$/);
    expect(staging[3]?.[1]).toMatch(/^Verifying in staging acme\/manifests#\d+$/);
    const inProduction = await history(s2, "production");
    expect(inProduction.map(([state]) => state)).toEqual([
      "queued",
      "pending",
      "in_progress",
      "in_progress",
      "success",
    ]);
    expect(inProduction[1]?.[1]).toBe(`PR open acme/manifests#${production.number}`);
    // s1 was active in staging until s2 was verified there: superseded, naming what replaced it.
    expect((await history(s1, "staging")).at(-1)).toEqual(["inactive", `Superseded: by ${IMAGE}:1.5.1`]);
    // s1 was on its way to production until 1.5.1 took its place in the PR: superseded there.
    expect((await states(s1)).production).toBe("inactive");
    const { data: checks } = await ci.rest.checks.listForRef({
      ...source,
      ref: s2,
      check_name: "conveyor/environments",
    });
    expect(checks.check_runs).toHaveLength(1);
    expect(checks.check_runs[0]).toMatchObject({ status: "completed", conclusion: "success" });
    expect(checks.check_runs[0]?.output.summary).toMatch(/\| staging \| ✅ active/);
  }, 900_000);

  it("a failed rollout: the commit's staging Deployment fails, naming the revert PR", async () => {
    const users = world.serviceRepos["user-service"] as ServiceRepo;
    const sha = (users.commits[users.commits.length - 1] as { sha: string }).sha;
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy",
      client_payload: {
        service: "user-service",
        image: "ghcr.io/acme/user-service:2.0.0-bad",
        source: { repository: users.repository, sha },
      },
    });
    await deploymentState(
      world,
      "staging",
      "user-service",
      "failure",
      120_000,
      (d) => d.to === "ghcr.io/acme/user-service:2.0.0-bad",
    );
    const { data: reverts } = await ci.rest.pulls.list({
      ...repo,
      state: "all",
      head: `${OWNER}:conveyor/revert/staging/user-service`,
    });
    const revert = reverts[0]?.number;
    expect(revert).toBeDefined();
    const where = { owner: OWNER, repo: "user-service" };
    let last: [string, string] | undefined;
    await waitFor(async () => {
      last = (await history(sha, "staging", where)).at(-1);
      return last?.[0] === "failure";
    }, 60_000);
    expect(last?.[1]).toMatch(new RegExp(`^Failed in staging; reverted by acme/manifests#${revert}: `));
    const { data: checks } = await ci.rest.checks.listForRef({
      ...where,
      ref: sha,
      check_name: "conveyor/environments",
    });
    expect(checks.check_runs).toHaveLength(1);
    expect(checks.check_runs[0]).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(checks.check_runs[0]?.output.summary).toMatch(/\| staging \| ↩️ reverted — Failed in staging; reverted by/);
  }, 600_000);
});
