// Canary releases through the flows: a deploy event for a service released by canary opens PR 1
// (the canary's image and replicas, nothing else), a verified canary gets PR 2 from proposeStable
// (stable's image and the canary's replicas), and a failed canary is reverted by proposeRevert
// (the canary back to stable's image and its idle count; stable untouched). Real git seeded from
// fixtures/manifests-repo (catalog-service: stable 2.0.0, canary idle on 0 replicas), strict mocks.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseStateMarker } from "../../src/core/markers.js";
import { proposeStable } from "../../src/flows/propose-deploy.js";
import { proposeRevert } from "../../src/flows/propose-revert.js";
import { signedStateMarker } from "../../src/flows/pr-state.js";
import { flowWorld, OWNER, REPO, type FlowWorld } from "../helpers/flow-world.js";
import { expectNewPr as newPr, expectOpenPr as openPr } from "../helpers/pr-mocks.js";
import { deployEvent, strategyConfig } from "../helpers/strategy-flow.js";

const IMAGE = "ghcr.io/acme/catalog-service";
const DIR = "services/catalog-service/overlays/staging";
const CANARY = `${DIR}/track-canary.yaml`;
const STABLE = `${DIR}/track-stable.yaml`;
const BRANCH = "conveyor/staging/catalog-service";
const REVERT_BRANCH = "conveyor/revert/staging/catalog-service";

let w: FlowWorld;
const bodies = new Map<number, string>();
beforeEach(() => {
  w = flowWorld();
  bodies.clear();
});
afterEach(() => w.cleanup());

const config = () => strategyConfig("catalog-service", "canary");

const deploy = (tag: string) => deployEvent(w, config(), "catalog-service", `${IMAGE}:${tag}`);

const stable = (image: string) =>
  proposeStable(w.services, w.scope, { config: config(), service: "catalog-service", env: "staging", image });

const LABELS = ["conveyor", "env/staging"];
const expectNewPr = (number: number, labels = LABELS) => newPr(w, bodies, number, labels);
const expectOpenPr = (number?: number) => openPr(w, bodies, BRANCH, number, LABELS);

/** The revert of `to` back to `from` in staging, as a failed rollout or /rollback asks for it. */
const revert = (at: { file: string; revision: string; base: string; to: string; requestedBy?: string }) =>
  proposeRevert(w.services, w.scope, {
    service: "catalog-service",
    env: "staging",
    ...at,
    from: `${IMAGE}:2.0.0`,
    reason: at.requestedBy ? "`/rollback`" : "Degraded",
    deploymentId: 90,
    config: config(),
  });

const changed = (branch: string) => w.remote.git("diff", "--name-only", "main", branch).trim().split("\n");

/** PR 1 merged: the canary runs `tag` on one replica. */
function canaryRuns(tag: string): void {
  const text = (w.remote.show("main", CANARY) as string)
    .replace(`${IMAGE}:2.0.0`, `${IMAGE}:${tag}`)
    .replace("replicas: 0 #", "replicas: 1 #");
  w.remote.commit("main", { [CANARY]: text }, "merge PR 1");
}

describe("a canary release", () => {
  it("PR 1 sets the canary's image and scales it up from 0, in its patch file only, byte for byte", async () => {
    const pr = expectNewPr(31);
    const outcome = await deploy("2.1.0");

    expect(outcome).toMatchObject({ kind: "opened", pr: 31, image: `${IMAGE}:2.1.0`, headSha: w.remote.head(BRANCH) });
    expect(changed(BRANCH)).toEqual([CANARY]);
    expect(w.remote.show(BRANCH, CANARY)).toBe(
      (w.remote.show("main", CANARY) as string)
        .replace(`${IMAGE}:2.0.0`, `${IMAGE}:2.1.0`)
        .replace("replicas: 0 # 1 while a canary runs", "replicas: 1 # 1 while a canary runs"),
    );
    expect(pr.create).toMatchObject({ head: BRANCH, title: "Deploy catalog-service 2.1.0 to the canary in staging" });
    const body = pr.create?.body as string;
    expect(body).toContain("`catalog-service-stable`, which keeps serving `ghcr.io/acme/catalog-service:2.0.0`");
    expect(body).toContain(`| canary after | \`${IMAGE}:2.1.0\` | 1 |`);
    expect(body).toContain("if the canary fails, it is reverted, the stable Deployment is never touched");
    const state = { service: "catalog-service", env: "staging", from: `${IMAGE}:2.0.0`, to: `${IMAGE}:2.1.0` };
    const head = w.remote.head(BRANCH) as string;
    expect(body.endsWith(signedStateMarker(w.services, `${OWNER}/${REPO}`, { ...state, step: "canary" }, head))).toBe(
      true,
    );
    expect(parseStateMarker(body)).toMatchObject({ ...state, step: "canary" });
  });

  it("the same deploy event again finds PR 1 and pushes nothing", async () => {
    expectNewPr(31);
    await deploy("2.1.0");
    const head = w.remote.head(BRANCH);

    expectOpenPr(31);
    expect(await deploy("2.1.0")).toMatchObject({ kind: "noop", pr: 31 });
    expect(w.remote.head(BRANCH)).toBe(head);
  });

  it("refuses an image older than stable's and changes nothing", async () => {
    expect(await deploy("1.9.0")).toMatchObject({
      kind: "reject",
      code: "older-version",
      reason: expect.stringContaining("older than ghcr.io/acme/catalog-service:2.0.0 on the stable Deployment"),
    });
    expect(w.remote.head(BRANCH)).toBeUndefined();
  });

  it("PR 2 gives stable the canary's image and scales the canary back to 0, in one commit", async () => {
    canaryRuns("2.1.0");
    const pr = expectNewPr(32);
    const outcome = await stable(`${IMAGE}:2.1.0`);

    expect(outcome).toMatchObject({ kind: "opened", pr: 32, image: `${IMAGE}:2.1.0` });
    expect(changed(BRANCH).sort()).toEqual([CANARY, STABLE]);
    expect(w.remote.show(BRANCH, STABLE)).toBe(
      (w.remote.show("main", STABLE) as string).replace(`${IMAGE}:2.0.0 #`, `${IMAGE}:2.1.0 #`),
    );
    // The canary keeps the image (its pods go away), only its replicas change.
    expect(w.remote.show(BRANCH, CANARY)).toBe(
      (w.remote.show("main", CANARY) as string).replace("replicas: 1 #", "replicas: 0 #"),
    );
    expect(pr.create).toMatchObject({ title: "Promote catalog-service 2.1.0 from the canary to stable in staging" });
    expect(parseStateMarker(pr.create?.body as string)).toMatchObject({
      from: `${IMAGE}:2.0.0`,
      to: `${IMAGE}:2.1.0`,
      step: "stable",
    });

    // Asked again (a retried verdict), the open PR 2 is found, not opened twice.
    expectOpenPr(32);
    expect(await stable(`${IMAGE}:2.1.0`)).toMatchObject({ kind: "noop", pr: 32 });
  });

  it("does not give stable an image the canary no longer runs", async () => {
    canaryRuns("2.2.0");
    expect(await stable(`${IMAGE}:2.1.0`)).toMatchObject({
      kind: "noop",
      reason: expect.stringContaining(`the canary runs ${IMAGE}:2.2.0 now, not ${IMAGE}:2.1.0`),
    });
    expect(w.remote.head(BRANCH)).toBeUndefined();
  });

  it("a failed canary is reverted: back to stable's image and 0 replicas; stable is not touched", async () => {
    const base = w.remote.head("main") as string;
    canaryRuns("2.1.0-bad");
    const pr = expectNewPr(33, ["conveyor", "env/staging", "conveyor:revert"]);
    const outcome = await revert({
      file: CANARY,
      revision: w.remote.head("main") as string,
      base,
      to: `${IMAGE}:2.1.0-bad`,
    });

    expect(outcome).toMatchObject({ kind: "opened", pr: 33 });
    expect(changed(REVERT_BRANCH)).toEqual([CANARY]);
    expect(w.remote.show(REVERT_BRANCH, CANARY)).toBe(w.remote.show(base, CANARY));
    expect(w.remote.show(REVERT_BRANCH, STABLE)).toBe(w.remote.show(base, STABLE));
    expect(pr.create).toMatchObject({ title: "Revert catalog-service in staging to catalog-service:2.0.0" });
    expect(pr.create?.body).toContain("the canary goes back to the stable image and its idle replica count");
    expect(parseStateMarker(pr.create?.body as string)).toMatchObject({
      from: `${IMAGE}:2.1.0-bad`,
      to: `${IMAGE}:2.0.0`,
      step: "canary",
    });
  });
});

describe("rolling back after stable took the image", () => {
  it("sets stable's image back in its patch file only; the idle canary is left alone", async () => {
    const base = w.remote.head("main") as string;
    canaryRuns("2.1.0");
    const revision = w.remote.commit(
      "main",
      {
        [STABLE]: (w.remote.show("main", STABLE) as string).replace(`${IMAGE}:2.0.0 #`, `${IMAGE}:2.1.0 #`),
        [CANARY]: (w.remote.show("main", CANARY) as string).replace("replicas: 1 #", "replicas: 0 #"),
      },
      "merge PR 2",
    );
    const pr = expectNewPr(34, [...LABELS, "conveyor:revert"]);
    const outcome = await revert({ file: STABLE, revision, base, to: `${IMAGE}:2.1.0`, requestedBy: "alice" });

    expect(outcome).toMatchObject({ kind: "opened", pr: 34 });
    expect(changed(REVERT_BRANCH)).toEqual([STABLE]);
    expect(w.remote.show(REVERT_BRANCH, STABLE)).toBe(w.remote.show(base, STABLE));
    expect(parseStateMarker(pr.create?.body as string)).toMatchObject({ to: `${IMAGE}:2.0.0`, step: "stable" });
  });
});
