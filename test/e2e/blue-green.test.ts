// End to end, blue-green: the real Conveyor process, the local forge, the simulated Argo CD (which
// reports each Deployment's health). cart-service is released blue-green: blue is live with 1.4.0,
// green idle with 1.3.0. A release opens PR 1 (green's image), verifies the green Deployment,
// opens PR 2 (the Service's selector), verifies the switch and promotes; `/rollback` on the switch
// switches back (the selector only); a bad image on the idle slot is held and never switched to.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, SANDBOX_CONFIG, type World } from "../../sandbox/world.js";
import { manifestsReader } from "../helpers/e2e.js";
import { deploymentState, pullRequest } from "../../sandbox/scenario.js";
import { command } from "../../sandbox/scenario-chatops.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };
const IMAGE = "ghcr.io/acme/cart-service";
const DIR = "services/cart-service/overlays/staging";

beforeAll(async () => {
  world = await startWorld({
    config: `${SANDBOX_CONFIG}services:\n  cart-service:\n    strategy: blueGreen\n`,
  });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

const file = (path: string, ref = "main") => manifestsReader(ci, repo).file(path, ref);
const mergedPrs = (branch: string) => manifestsReader(ci, repo).mergedPrs(branch);

describe("a blue-green release of cart-service", () => {
  it("puts 1.5.0 on the idle green slot, verifies it, switches the Service to green, verifies and promotes", async () => {
    const blueBefore = await file(`${DIR}/slot-blue.yaml`);
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-cart-service",
      client_payload: { image: `${IMAGE}:1.5.0` },
    });
    const idle = await deploymentState(world, "staging", "cart-service", "success", 60_000);
    expect(idle).toMatchObject({
      from: `${IMAGE}:1.3.0`,
      to: `${IMAGE}:1.5.0`,
      slot: { kind: "idle", slot: "green", deployment: "cart-service-green" },
    });
    const live = await deploymentState(world, "staging", "cart-service", "success", 60_000);
    expect(live).toMatchObject({
      from: `${IMAGE}:1.4.0`,
      to: `${IMAGE}:1.5.0`,
      slot: { kind: "live", slot: "green", deployment: "cart-service-green" },
    });

    // Two PRs, both merged automatically (staging auto-merges).
    expect((await mergedPrs("conveyor/staging/cart-service")).sort()).toEqual([
      "Deploy cart-service 1.5.0 to the idle slot (green) in staging",
      "Switch cart-service to green in staging",
    ]);
    expect(await file(`${DIR}/service.yaml`)).toContain("slot: green # the live slot");
    expect(await file(`${DIR}/slot-green.yaml`)).toContain(`image: ${IMAGE}:1.5.0`);
    // The old slot keeps its image: switching back is the rollback.
    expect(await file(`${DIR}/slot-blue.yaml`)).toBe(blueBefore);

    // The verified switch promotes: production (blue-green too) gets its own PR 1.
    const production = await pullRequest(world, "conveyor/production/cart-service", 30_000);
    expect(production.title).toBe("Deploy cart-service 1.5.0 to the idle slot (green) in production");
  });

  it("/rollback on the switch PR switches the Service back to blue, which kept 1.4.0; no image changes", async () => {
    const { data: closed } = await ci.rest.pulls.list({
      ...repo,
      state: "closed",
      head: `${OWNER}:conveyor/staging/cart-service`,
    });
    const switchPr = closed.find((pr) => pr.title === "Switch cart-service to green in staging");
    const slotsBefore = [await file(`${DIR}/slot-blue.yaml`), await file(`${DIR}/slot-green.yaml`)];
    const { reply } = await command(world, "admin", switchPr?.number as number, "/rollback");
    expect(reply).toMatch(
      /Opened revert \[#\d+\]\([^)]*\): cart-service in \*\*staging\*\* back to `ghcr\.io\/acme\/cart-service:1\.4\.0`/,
    );

    // The switch back is merged (staging auto-merges reverts) and verified on the blue Deployment.
    const back = await world.forge.waitForEvent((d) => {
      const p = d.payload as {
        deployment?: { environment?: string; payload?: Record<string, unknown> };
        deployment_status?: { state?: string };
      };
      return (
        d.event === "deployment_status" &&
        p.deployment?.environment === "staging" &&
        p.deployment.payload?.service === "cart-service" &&
        p.deployment.payload.to === `${IMAGE}:1.4.0` &&
        p.deployment_status?.state === "success"
      );
    }, 60_000);
    expect((back.payload as { deployment: { payload: Record<string, unknown> } }).deployment.payload).toMatchObject({
      from: `${IMAGE}:1.5.0`,
      revert: true,
      slot: { kind: "live", slot: "blue", deployment: "cart-service-blue" },
    });
    expect(await mergedPrs("conveyor/revert/staging/cart-service")).toEqual([
      "Revert cart-service in staging to cart-service:1.4.0",
    ]);
    expect(await file(`${DIR}/service.yaml`)).toContain("slot: blue # the live slot");
    // Only the selector moved: both slots keep their images (green keeps 1.5.0 for a later switch).
    expect([await file(`${DIR}/slot-blue.yaml`), await file(`${DIR}/slot-green.yaml`)]).toEqual(slotsBefore);
  });

  it("a bad image on the idle slot fails there, is held, and the Service is never switched to it", async () => {
    const switchesBefore = await mergedPrs("conveyor/staging/cart-service");
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-cart-service",
      client_payload: { image: `${IMAGE}:2.0.0-bad` },
    });
    const failed = await deploymentState(world, "staging", "cart-service", "failure", 60_000);
    expect(failed).toMatchObject({
      to: `${IMAGE}:2.0.0-bad`,
      slot: { kind: "idle", slot: "green", deployment: "cart-service-green" },
    });
    const held = await world.forge.waitForEvent(
      (d) =>
        d.event === "issues" &&
        String((d.payload as { issue: { title: string } }).issue.title) === "Conveyor: cart-service is held in staging",
      30_000,
    );
    expect((held.payload as { issue: { body: string } }).issue.body).toContain(`held image: \`${IMAGE}:2.0.0-bad\``);

    // Give a wrong switch every chance to appear, then check that none did.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await file(`${DIR}/service.yaml`)).toContain("slot: blue # the live slot");
    const { data: open } = await ci.rest.pulls.list({
      ...repo,
      state: "open",
      head: `${OWNER}:conveyor/staging/cart-service`,
    });
    expect(open).toEqual([]);
    expect((await mergedPrs("conveyor/staging/cart-service")).filter((t) => t.startsWith("Switch"))).toEqual(
      switchesBefore.filter((t) => t.startsWith("Switch")),
    );
    // Nothing to revert: the rollback's switch back is the only revert there ever was.
    expect(await mergedPrs("conveyor/revert/staging/cart-service")).toHaveLength(1);
    const { data: openReverts } = await ci.rest.pulls.list({
      ...repo,
      state: "open",
      head: `${OWNER}:conveyor/revert/staging/cart-service`,
    });
    expect(openReverts).toEqual([]);
  });
});
