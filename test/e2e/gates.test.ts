// End to end, E2E gates: the real Conveyor process, the local forge (which runs nothing: a run's
// outcome is scripted, failing when an input contains "e2e-fail"), the simulated Argo CD. staging
// has a gate, acme/order-service's e2e.yml. Once staging is verified Conveyor dispatches it,
// follows the run by its workflow_run webhook, and only a passed run lets production's PR open,
// carrying the run's link; a failed run holds the image, tells the PR, and opens nothing.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, SANDBOX_CONFIG, type World } from "../../sandbox/world.js";
import { deploymentState, pullRequest } from "../../sandbox/scenario.js";
import { E2E_WORKFLOW } from "../../sandbox/forge/testing.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };
const IMAGE = "ghcr.io/acme/order-service";
const CONFIG = SANDBOX_CONFIG.replace(
  "    autoMerge: true\n",
  "    autoMerge: true\n    gates:\n      - workflow: e2e.yml\n        timeout: 2m\n",
);

beforeAll(async () => {
  expect(CONFIG).toContain("gates:");
  world = await startWorld({ config: CONFIG, serviceRepos: true });
  await world.forge.seed(
    OWNER,
    "order-service",
    { ".github/workflows/e2e.yml": E2E_WORKFLOW },
    "Add the E2E workflow",
    {
      silent: true,
    },
  );
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 120_000);

afterAll(async () => {
  await world?.close();
});

function deploy(tag: string) {
  return ci.rest.repos.createDispatchEvent({
    ...repo,
    event_type: "deploy",
    client_payload: {
      service: "order-service",
      image: `${IMAGE}:${tag}`,
      source: { repository: "acme/order-service", sha: world.serviceRepos["order-service"]?.commits.at(-1)?.sha },
    },
  });
}

async function gateRuns() {
  const { data } = await ci.rest.actions.listWorkflowRuns({
    owner: OWNER,
    repo: "order-service",
    workflow_id: "e2e.yml",
  });
  return data.workflow_runs;
}

describe("an E2E gate on staging", () => {
  it("passes: production's PR opens with the run's conclusion and link as evidence", async () => {
    await deploy("1.5.0");
    const staging = await deploymentState(world, "staging", "order-service", "success", 90_000);
    expect(staging).toMatchObject({ to: `${IMAGE}:1.5.0` });

    const production = await pullRequest(world, "conveyor/production/order-service", 60_000);
    const [run] = (await gateRuns()).filter((r) => r.display_title.includes(`${IMAGE}:1.5.0`));
    expect(run).toMatchObject({ status: "completed", conclusion: "success", event: "workflow_dispatch" });
    expect(run?.display_title).toMatch(/\[conveyor-staging-\d+-1\]$/);
    expect(production.title).toBe("Deploy order-service 1.5.0 to production");
    expect(production.body).toContain(
      `- E2E gate \`e2e.yml\` passed in staging: success, [run ${run?.id}](${run?.html_url})`,
    );
  });

  it("fails: no production PR, the image is held, and the staging PR is told why with the run's link", async () => {
    await deploy("1.6.0-e2e-fail");
    const failed = await deploymentState(world, "staging", "order-service", "failure", 120_000);
    expect(failed).toMatchObject({ to: `${IMAGE}:1.6.0-e2e-fail` });

    const [run] = (await gateRuns()).filter((r) => r.display_title.includes("1.6.0-e2e-fail"));
    expect(run).toMatchObject({ status: "completed", conclusion: "failure" });
    const held = await world.forge.waitForEvent(
      (d) =>
        d.event === "issues" &&
        String((d.payload as { issue: { title: string } }).issue.title) ===
          "Conveyor: order-service is held in staging",
      30_000,
    );
    const body = (held.payload as { issue: { body: string } }).issue.body;
    expect(body).toContain(`held image: \`${IMAGE}:1.6.0-e2e-fail\``);
    expect(body).toContain(`its E2E gate did not pass: e2e.yml ended failure (${run?.html_url})`);

    const { data: merged } = await ci.rest.pulls.list({
      ...repo,
      state: "closed",
      head: `${OWNER}:conveyor/staging/order-service`,
    });
    const stagingPr = merged.find((pr) => pr.title === "Deploy order-service 1.6.0-e2e-fail to staging");
    expect(stagingPr).toBeDefined();
    const { data: comments } = await ci.rest.issues.listComments({ ...repo, issue_number: stagingPr?.number ?? 0 });
    expect(comments.map((c) => c.body).join("\n")).toContain(
      `❌ **E2E gate failed**: order-service \`${IMAGE}:1.6.0-e2e-fail\` is verified in **staging**, but e2e.yml ended failure (${run?.html_url}).`,
    );

    // Production's PR still proposes the image that passed, never the one that failed its gate.
    const production = await pullRequest(world, "conveyor/production/order-service", 5_000);
    expect(production.title).toBe("Deploy order-service 1.5.0 to production");
  });

  it("/retry verifies again and re-runs the gate; /unhold on the hold issue overrides the failed gate and production's PR takes the image", async () => {
    const { data: merged } = await ci.rest.pulls.list({
      ...repo,
      state: "closed",
      head: `${OWNER}:conveyor/staging/order-service`,
    });
    const stagingPr = merged.find((pr) => pr.title === "Deploy order-service 1.6.0-e2e-fail to staging");
    const number = stagingPr?.number ?? 0;
    const runsOf = async () => (await gateRuns()).filter((r) => r.display_title.includes("1.6.0-e2e-fail"));
    expect(await runsOf()).toHaveLength(1);

    await ci.rest.issues.createComment({ ...repo, issue_number: number, body: "/retry" });
    await deploymentState(world, "staging", "order-service", "failure", 120_000);
    const runs = await runsOf();
    expect(runs).toHaveLength(2);
    // A new verification, a new Deployment: the gate's run has a correlation id of its own.
    expect(new Set(runs.map((r) => /\[(conveyor-[^\]]+)\]/.exec(r.display_title)?.[1])).size).toBe(2);

    const { data: holds } = await ci.rest.issues.listForRepo({ ...repo, state: "open", labels: "conveyor:hold" });
    const hold = holds.find((issue) => issue.title === "Conveyor: order-service is held in staging");
    expect(hold?.body).toContain(`held image: \`${IMAGE}:1.6.0-e2e-fail\``);
    await ci.rest.issues.createComment({ ...repo, issue_number: hold?.number ?? 0, body: "/unhold" });
    const deadline = Date.now() + 60_000;
    let production = await pullRequest(world, "conveyor/production/order-service", 5_000);
    while (production.title !== "Deploy order-service 1.6.0-e2e-fail to production" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      production = await pullRequest(world, "conveyor/production/order-service", 5_000);
    }
    expect(production.title).toBe("Deploy order-service 1.6.0-e2e-fail to production");
    expect(production.body).toContain("its E2E gate failed (E2E gate failed: e2e.yml ended failure");
    expect(production.body).toContain("and @admin overrode it with /unhold.");
  });
});
