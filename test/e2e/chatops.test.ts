// End to end: slash commands posted by the forge's users (reviewer: write and production approver;
// outsider: read) to the real Conveyor process.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, waitFor, OWNER, REPO, type World } from "../../sandbox/world.js";
import { deploymentState, pullRequest } from "../../sandbox/scenario.js";
import { command } from "../../sandbox/scenario-chatops.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };
let staging: number;
let production: number;

beforeAll(async () => {
  world = await startWorld();
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
  await ci.rest.repos.createDispatchEvent({
    ...repo,
    event_type: "deploy-order-service",
    client_payload: { image: "ghcr.io/acme/order-service:1.5.0" },
  });
  await deploymentState(world, "staging", "order-service", "success", 45_000);
  production = (await pullRequest(world, "conveyor/production/order-service", 20_000)).number;
  // Conveyor labels its PR right after opening it; people comment after that.
  await world.forge.waitForEvent(
    (d) =>
      d.event === "pull_request" && d.action === "labeled" && (d.payload as { number?: number }).number === production,
    20_000,
  );
  const { data } = await ci.rest.pulls.list({
    ...repo,
    state: "closed",
    head: `${OWNER}:conveyor/staging/order-service`,
  });
  staging = (data[0] as { number: number }).number;
}, 90_000);

afterAll(async () => {
  await world?.close();
});

describe("chat-ops on the sandbox", () => {
  it("the outsider (read access) is refused and told who may do it", async () => {
    const { reply, reactions } = await command(world, "outsider", production, "/hold");
    expect(reply).toContain("> /hold");
    expect(reply).toContain("commands need write access to this repository; @outsider has read access");
    // Someone without write access spends none of Conveyor's writes on reactions.
    expect(reactions).toEqual([]);
    const { data: pr } = await ci.rest.issues.get({ ...repo, issue_number: production });
    expect(pr.labels.map((l) => (typeof l === "string" ? l : l.name))).not.toContain("conveyor:hold");
  });

  it("the reviewer holds and unholds the production PR with a label", async () => {
    const held = await command(world, "reviewer", production, "/hold");
    expect(held.reply).toContain("On hold");
    expect(held.reactions).toEqual(["eyes", "rocket"]);
    const labels = async () =>
      (await ci.rest.issues.get({ ...repo, issue_number: production })).data.labels.map((l) =>
        typeof l === "string" ? l : l.name,
      );
    expect(await labels()).toContain("conveyor:hold");
    const resumed = await command(world, "reviewer", production, "/unhold");
    expect(resumed.reply).toContain("Resumed");
    expect(await labels()).not.toContain("conveyor:hold");
  });

  it("freezes production with an issue that says who and why, and unfreezes it from that issue", async () => {
    const frozen = await command(world, "reviewer", production, "/hold production -- demo freeze");
    expect(frozen.reply).toContain("**production** is frozen");
    const { data: issues } = await ci.rest.issues.listForRepo({ ...repo, labels: "conveyor:freeze", state: "open" });
    const issue = issues.find((i) => i.title === "Conveyor: production is frozen");
    expect(issue?.body).toContain("Frozen by: @reviewer");
    expect(issue?.body).toContain("Why: `demo freeze`");

    // The outsider was answered once this hour already: a second try is read, and not answered.
    const asked = () =>
      world.forge.requests.filter((r) => r.method === "GET" && r.path.endsWith("/collaborators/outsider/permission"))
        .length;
    const before = asked();
    const outsider = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.outsider });
    const { data: attempt } = await outsider.rest.issues.createComment({
      ...repo,
      issue_number: issue?.number as number,
      body: "/unhold",
    });
    await waitFor(() => asked() > before, 20_000);
    // A later command is answered, so the outsider's comment had its turn.
    const status = await command(world, "reviewer", issue?.number as number, "/status order-service");
    expect(status.reply).toContain("Frozen: production");
    const { data: comments } = await ci.rest.issues.listComments({ ...repo, issue_number: issue?.number as number });
    expect(comments.filter((c) => c.id > attempt.id && (c.body ?? "").startsWith("@outsider"))).toEqual([]);

    const unfrozen = await command(world, "reviewer", issue?.number as number, "/unhold");
    expect(unfrozen.reply).toContain("**production** is unfrozen");
    expect((await ci.rest.issues.get({ ...repo, issue_number: issue?.number as number })).data.state).toBe("closed");
  });

  it("/promote production on the merged staging PR finds the open production PR already proposing it", async () => {
    const { reply, reactions } = await command(world, "reviewer", staging, "/promote production");
    expect(reply).toContain(`Nothing to do: PR #${production} already proposes ghcr.io/acme/order-service:1.5.0`);
    expect(reactions).toEqual(["eyes", "rocket"]);
  });

  it("/status shows staging verified; a typo gets a did-you-mean", async () => {
    const status = await command(world, "reviewer", production, "/status order-service");
    expect(status.reply).toMatch(/\| order-service \| staging \| `ghcr.io\/acme\/order-service:1.5.0` \| verified \|/);
    const typo = await command(world, "reviewer", production, "/promte production");
    expect(typo.reply).toContain("Did you mean `/promote`?");
  });

  it("/retry on the open production PR re-runs the edit and the conveyor/render check", async () => {
    const { data: pr } = await ci.rest.pulls.get({ ...repo, pull_number: production });
    const before = (
      await ci.rest.checks.listForRef({ ...repo, ref: pr.head.sha, filter: "all" })
    ).data.check_runs.filter((r) => r.name === "conveyor/render").length;
    const { reply, reactions } = await command(world, "reviewer", production, "/retry");
    expect(reply, reply).toContain("Re-ran the edit and the `conveyor/render` check.");
    expect(reactions).toContain("rocket");
    const runs = (await ci.rest.checks.listForRef({ ...repo, ref: pr.head.sha, filter: "all" })).data.check_runs.filter(
      (r) => r.name === "conveyor/render",
    );
    expect(runs.length).toBe(before + 1);
    expect(runs.every((r) => r.conclusion === "success")).toBe(true);
  });
});
