// End to end under faults: the app crashes mid-watch, the Argo CD watch drops, and a person pushes
// straight to an overlay. Argo CD is slowed down here so there is a window to break things in.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";
import { deploymentState } from "../../sandbox/scenario.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };

beforeAll(async () => {
  world = await startWorld({ argoTimings: { progressingMs: 4_000 } });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

async function overlayText(service: string): Promise<string> {
  const { data } = await ci.rest.repos.getContent({
    ...repo,
    path: `services/${service}/overlays/staging/kustomization.yaml`,
  });
  return Buffer.from((data as { content: string }).content, "base64").toString();
}

describe("faults", () => {
  it("a person's direct push to an overlay is verified like Conveyor's own changes", async () => {
    const text = (await overlayText("payment-service")).replace('newTag: "1.4.0"', 'newTag: "1.4.1"');
    const pending = deploymentState(world, "staging", "payment-service", "success", 45_000);
    await world.forge.seed(
      OWNER,
      REPO,
      { "services/payment-service/overlays/staging/kustomization.yaml": text },
      "hotfix payment-service to 1.4.1",
      { author: "admin" },
    );
    const payload = await pending;
    expect(payload).toMatchObject({
      service: "payment-service",
      from: "ghcr.io/acme/payment-service:1.4.0",
      to: "ghcr.io/acme/payment-service:1.4.1",
      pr: null,
    });
  });

  it("a crash mid-watch: after a restart the bot resumes from the GitHub Deployment and finishes the verification", async () => {
    const inProgress = deploymentState(world, "staging", "order-service", "in_progress", 45_000);
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-order-service",
      client_payload: { image: "ghcr.io/acme/order-service:1.5.0" },
    });
    await inProgress;
    await world.killApp();
    const success = deploymentState(world, "staging", "order-service", "success", 60_000);
    await world.startApp();
    const payload = await success;
    expect(payload.to).toBe("ghcr.io/acme/order-service:1.5.0");
    // and it carries on: the promotion PR to production is opened exactly once.
    await world.forge.waitForEvent(
      (d) =>
        d.event === "pull_request" &&
        d.action === "opened" &&
        String((d.payload as { pull_request: { title: string } }).pull_request.title) ===
          "Deploy order-service 1.5.0 to production",
      30_000,
    );
    const { data } = await ci.rest.pulls.list({
      ...repo,
      state: "all",
      head: `${OWNER}:conveyor/production/order-service`,
    });
    expect(data).toHaveLength(1);
  });

  it("a dropped Argo CD watch connection is re-established and the verification still ends", async () => {
    const inProgress = deploymentState(world, "staging", "user-service", "in_progress", 45_000);
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-user-service",
      client_payload: { image: "ghcr.io/acme/user-service:1.9.0" },
    });
    await inProgress;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(world.argo.dropWatches()).toBeGreaterThan(0);
    const payload = await deploymentState(world, "staging", "user-service", "success", 60_000);
    expect(payload.to).toBe("ghcr.io/acme/user-service:1.9.0");
  });
});
