// A repository that allows only squash merges (as many organisations require): Conveyor squash-
// merges its staging PR, recognises the squash commit on main as that PR's merge and verifies it,
// and verifies the production PR a reviewer squash-merged too.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";
import { deploymentState, pullRequest } from "../../sandbox/scenario.js";

let world: World;
let ci: Octokit;
let reviewer: Octokit;
const repo = { owner: OWNER, repo: REPO };

beforeAll(async () => {
  world = await startWorld({ mergeMethods: { merge: false, squash: true, rebase: false } });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
  reviewer = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.reviewer });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

describe("squash-only repository", () => {
  it("staging is squash-merged by Conveyor and verified; production squash-merged by a reviewer is verified", async () => {
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-order-service",
      client_payload: { image: "ghcr.io/acme/order-service:1.5.0" },
    });
    const staging = await deploymentState(world, "staging", "order-service", "success", 90_000);
    expect(staging).toMatchObject({ to: "ghcr.io/acme/order-service:1.5.0" });

    const [stagingPr] = await ci.paginate(ci.rest.pulls.list, {
      ...repo,
      state: "closed",
      head: `${OWNER}:conveyor/staging/order-service`,
    });
    expect(stagingPr?.merged_at).toBeTruthy();
    // A squash merge: main's commit has one parent, and it is not the PR's head.
    const { data: squashed } = await ci.rest.repos.getCommit({ ...repo, ref: String(stagingPr?.merge_commit_sha) });
    expect(squashed.parents).toHaveLength(1);
    expect(squashed.sha).not.toBe(stagingPr?.head.sha);
    // Nothing was refused on the way: no "did not merge" comment.
    expect(
      world.forge.events.some(
        (d) =>
          d.event === "issue_comment" &&
          String((d.payload as { comment: { body: string } }).comment.body).includes("Conveyor did not merge"),
      ),
    ).toBe(false);

    const production = await pullRequest(world, "conveyor/production/order-service", 30_000);
    await expect(
      reviewer.rest.pulls.merge({
        ...repo,
        pull_number: production.number,
        sha: production.head.sha,
        merge_method: "merge",
      }),
    ).rejects.toMatchObject({ status: 405 });
    await reviewer.rest.pulls.merge({
      ...repo,
      pull_number: production.number,
      sha: production.head.sha,
      merge_method: "squash",
    });
    const verified = await deploymentState(world, "production", "order-service", "success", 90_000);
    expect(verified).toMatchObject({ to: "ghcr.io/acme/order-service:1.5.0" });
  }, 240_000);
});
