// End to end: the real Conveyor process, the local forge over real HTTP and git, the simulated
// Argo CD over the Kubernetes API. Only what people and CI do is driven from here.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";
import { deploymentState, pullRequest } from "../../sandbox/scenario.js";

let world: World;
let ci: Octokit;
let reviewer: Octokit;
const repo = { owner: OWNER, repo: REPO };

beforeAll(async () => {
  world = await startWorld({ rollouts: ["payment-service-staging"] });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
  reviewer = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.reviewer });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

function overlay(service: string, env: string, ref = "main") {
  return ci.rest.repos
    .getContent({ ...repo, path: `services/${service}/overlays/${env}/kustomization.yaml`, ref })
    .then(({ data }) => Buffer.from((data as { content: string }).content, "base64").toString());
}

describe("dispatch -> PR -> verified -> promotion", () => {
  it("order-service: staging PR auto-merges, is verified in Argo CD, and the production PR waits for a reviewer", async () => {
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-order-service",
      client_payload: { image: "ghcr.io/acme/order-service:1.5.0" },
    });
    const staging = await deploymentState(world, "staging", "order-service", "success", 45_000);
    expect(staging).toMatchObject({
      service: "order-service",
      from: "ghcr.io/acme/order-service:1.4.0",
      to: "ghcr.io/acme/order-service:1.5.0",
    });
    expect(await overlay("order-service", "staging")).toContain('newTag: "1.5.0" # deployed by Conveyor');

    const production = await pullRequest(world, "conveyor/production/order-service", 20_000);
    expect(production.title).toBe("Deploy order-service 1.5.0 to production");
    const { data: body } = await ci.rest.pulls.get({ ...repo, pull_number: production.number });
    expect(body.body).toContain("Verified in **staging**");
    expect(body.body).toContain("### What changes in the cluster");
    expect(body.body).toContain("A reviewer merges this PR (approvers: reviewer)");

    // Production does not auto-merge: it is still open a moment later.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await ci.rest.pulls.get({ ...repo, pull_number: production.number })).data.state).toBe("open");

    await reviewer.rest.pulls.merge({
      ...repo,
      pull_number: production.number,
      sha: production.head.sha,
      merge_method: "merge",
    });
    await deploymentState(world, "production", "order-service", "success", 45_000);
    const verified = await world.forge.waitForEvent(
      (d) =>
        d.event === "issue_comment" &&
        (d.payload as { issue: { number: number } }).issue.number === production.number &&
        String((d.payload as { comment: { body: string } }).comment.body).startsWith("✅"),
      20_000,
    );
    const text = (verified.payload as { comment: { body: string } }).comment.body;
    expect(text).toContain(
      "✅ **Verified**: order-service `ghcr.io/acme/order-service:1.5.0` is synced, healthy and stable in **production**",
    );
    expect(text).toContain("| stable (verified) |");
    expect(text).toContain("production is the last environment.");
  });

  it("user-service: a bad image degrades staging; Conveyor reverts it and staging is verified on the old image", async () => {
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy",
      client_payload: { service: "user-service", tag: "2.0.0-bad" },
    });
    const failed = await deploymentState(world, "staging", "user-service", "failure", 45_000);
    expect(failed.to).toBe("ghcr.io/acme/user-service:2.0.0-bad");
    await deploymentState(
      world,
      "staging",
      "user-service",
      "success",
      45_000,
      (d) => d.to === "ghcr.io/acme/user-service:1.4.0",
    );
    expect(await overlay("user-service", "staging")).toContain('newTag: "1.4.0" # deployed by Conveyor');

    const { data: holds } = await ci.rest.issues.listForRepo({ ...repo, labels: "conveyor:hold", state: "open" });
    expect(holds.map((i) => i.title)).toContain("Conveyor: user-service is held in staging");
    const { data: prs } = await ci.rest.pulls.list({
      ...repo,
      state: "closed",
      head: `${OWNER}:conveyor/revert/staging/user-service`,
    });
    expect(prs[0]?.merged_at).toBeTruthy();
    // Nothing is promoted from a failed or reverted change.
    const { data: production } = await ci.rest.pulls.list({
      ...repo,
      state: "all",
      head: `${OWNER}:conveyor/production/user-service`,
    });
    expect(production).toEqual([]);
  });

  it("payment-service: a canary Rollout that aborts is reverted too", async () => {
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-payment-service",
      client_payload: { image: "ghcr.io/acme/payment-service:3.0.0-bad" },
    });
    await deploymentState(world, "staging", "payment-service", "failure", 45_000);
    await deploymentState(
      world,
      "staging",
      "payment-service",
      "success",
      45_000,
      (d) => d.to === "ghcr.io/acme/payment-service:1.4.0",
    );
  });
});
