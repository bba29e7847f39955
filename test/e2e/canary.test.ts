// End to end, canary: the real Conveyor process, the local forge, the simulated Argo CD (which
// reports each Deployment's health; an image whose tag contains "bad" degrades). catalog-service
// is released by canary: stable runs 2.0.0, the canary is idle on 0 replicas. A release opens
// PR 1 (the canary's image and replicas), verifies the canary Deployment, opens PR 2 (stable's
// image, the canary back to 0), verifies stable and promotes; a bad canary is reverted (back to
// stable's image and 0 replicas), held, and stable is never touched.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, SANDBOX_CONFIG, type World } from "../../sandbox/world.js";
import { manifestsReader } from "../helpers/e2e.js";
import { pullRequest } from "../../sandbox/scenario.js";
import { command } from "../../sandbox/scenario-chatops.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };
const IMAGE = "ghcr.io/acme/catalog-service";
const DIR = "services/catalog-service/overlays/staging";
const CANARY = `${DIR}/track-canary.yaml`;
const STABLE = `${DIR}/track-stable.yaml`;

beforeAll(async () => {
  world = await startWorld({
    config: `${SANDBOX_CONFIG}services:\n  catalog-service:\n    strategy: canary\n`,
  });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

const file = (path: string, ref = "main") => manifestsReader(ci, repo).file(path, ref);
const mergedPrs = (branch: string) => manifestsReader(ci, repo).mergedPrs(branch);

/** The staging Deployment of catalog-service that moved `track` to `to` reached `state` (seen or awaited). */
async function trackState(track: string, to: string, state: string) {
  const delivery = await world.forge.waitForEvent((d) => {
    const p = d.payload as {
      deployment?: { environment?: string; payload?: Record<string, unknown> };
      deployment_status?: { state?: string };
      repository?: { full_name?: string };
    };
    const payload = p.deployment?.payload ?? {};
    return (
      d.event === "deployment_status" &&
      p.repository?.full_name === `${OWNER}/${REPO}` &&
      p.deployment?.environment === "staging" &&
      payload.service === "catalog-service" &&
      (payload.track as { kind?: string } | undefined)?.kind === track &&
      payload.to === to &&
      p.deployment_status?.state === state
    );
  }, 90_000);
  return (delivery.payload as { deployment: { payload: Record<string, unknown> } }).deployment.payload;
}

describe("a canary release of catalog-service", () => {
  it("starts the canary with 2.1.0, verifies it, gives stable 2.1.0 with the canary back to 0, verifies and promotes", async () => {
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-catalog-service",
      client_payload: { image: `${IMAGE}:2.1.0` },
    });
    expect(await trackState("canary", `${IMAGE}:2.1.0`, "success")).toMatchObject({
      from: `${IMAGE}:2.0.0`,
      track: { kind: "canary", deployment: "catalog-service-canary" },
    });
    expect(await trackState("stable", `${IMAGE}:2.1.0`, "success")).toMatchObject({
      from: `${IMAGE}:2.0.0`,
      track: { kind: "stable", deployment: "catalog-service-stable" },
    });

    // Two PRs, both merged automatically (staging auto-merges).
    expect((await mergedPrs("conveyor/staging/catalog-service")).sort()).toEqual([
      "Deploy catalog-service 2.1.0 to the canary in staging",
      "Promote catalog-service 2.1.0 from the canary to stable in staging",
    ]);
    expect(await file(STABLE)).toContain(`image: ${IMAGE}:2.1.0 # takes the canary's image`);
    expect(await file(CANARY)).toContain("replicas: 0 # 1 while a canary runs");
    expect(await file(CANARY)).toContain(`image: ${IMAGE}:2.1.0`);

    // The verified stable promotes: production (canary too) gets its own PR 1.
    const production = await pullRequest(world, "conveyor/production/catalog-service", 30_000);
    expect(production.title).toBe("Deploy catalog-service 2.1.0 to the canary in production");

    // /status says what the canary runs beside stable.
    const status = await command(world, "admin", production.number, "/status catalog-service");
    expect(status.reply).toContain(
      `catalog-service in staging (canary): stable \`${IMAGE}:2.1.0\`; canary idle (0 replicas)`,
    );
  });

  it("a bad canary fails, is reverted to stable's image and 0 replicas, is held, and stable is never touched", async () => {
    const stableBefore = await file(STABLE);
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-catalog-service",
      client_payload: { image: `${IMAGE}:2.2.0-bad` },
    });
    expect(await trackState("canary", `${IMAGE}:2.2.0-bad`, "failure")).toMatchObject({
      from: `${IMAGE}:2.1.0`,
      track: { kind: "canary", deployment: "catalog-service-canary" },
    });
    const held = await world.forge.waitForEvent(
      (d) =>
        d.event === "issues" &&
        String((d.payload as { issue: { title: string } }).issue.title) ===
          "Conveyor: catalog-service is held in staging",
      30_000,
    );
    expect((held.payload as { issue: { body: string } }).issue.body).toContain(`held image: \`${IMAGE}:2.2.0-bad\``);

    // The revert PR puts the canary back; merged (staging auto-merges reverts), it is verified.
    await trackState("idle", `${IMAGE}:2.1.0`, "success");
    const { data: reverts } = await ci.rest.pulls.list({
      ...repo,
      state: "closed",
      head: `${OWNER}:conveyor/revert/staging/catalog-service`,
    });
    expect(reverts.map((pr) => [pr.title, Boolean(pr.merged_at)])).toEqual([
      ["Revert catalog-service in staging to catalog-service:2.1.0", true],
    ]);
    const canary = await file(CANARY);
    expect(canary).toContain(`image: ${IMAGE}:2.1.0`);
    expect(canary).toContain("replicas: 0 # 1 while a canary runs");
    expect(await file(STABLE)).toBe(stableBefore);
    expect(await mergedPrs("conveyor/staging/catalog-service")).not.toContain(
      "Promote catalog-service 2.2.0-bad from the canary to stable in staging",
    );
    const { data: open } = await ci.rest.pulls.list({
      ...repo,
      state: "open",
      head: `${OWNER}:conveyor/staging/catalog-service`,
    });
    expect(open).toEqual([]);
  });
});
