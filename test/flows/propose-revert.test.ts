// propose-revert: a failed rollout (or /rollback) becomes one revert PR per service and
// environment, on conveyor/revert/<env>/<service>. Real git: the failed change is a real commit on
// main of a bare remote; strict GitHub mocks state every call.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signedStateMarker } from "../../src/flows/pr-state.js";
import { proposeRevert, type RevertRequest } from "../../src/flows/propose-revert.js";
import { BOT, flowWorld, OWNER, R, REPO, type FlowWorld } from "../helpers/flow-world.js";
import { expectNewPr as newPr } from "../helpers/pr-mocks.js";

const IMAGE = "ghcr.io/acme/order-service";
const FILE = "services/order-service/overlays/staging/kustomization.yaml";
const BRANCH = "conveyor/revert/staging/order-service";

let w: FlowWorld;
/** main before the failed change, the failed change itself, and the overlay before it. */
let base: string;
let revision: string;
let before: string;
/** The last body Conveyor wrote to each PR, as GitHub would hand it back. */
let bodies: Map<number, string>;

beforeEach(() => {
  w = flowWorld();
  bodies = new Map();
  base = w.remote.head("main") as string;
  before = w.remote.show("main", FILE) as string;
  revision = w.remote.commit(
    "main",
    { [FILE]: before.replace('newTag: "1.4.0"', 'newTag: "1.5.0"') },
    "deploy(order-service/staging): 1.4.0 -> 1.5.0",
  );
});
afterEach(() => w.cleanup());

function request(extra: Partial<RevertRequest> = {}): RevertRequest {
  return {
    service: "order-service",
    env: "staging",
    file: FILE,
    revision,
    base,
    from: `${IMAGE}:1.4.0`,
    to: `${IMAGE}:1.5.0`,
    reason: "Degraded for 2m: order-service is in CrashLoopBackOff",
    originalPr: 12,
    deploymentId: 77,
    ...extra,
  };
}

const revert = (extra: Partial<RevertRequest> = {}) => proposeRevert(w.services, w.scope, request(extra));

const expectNewPr = (number: number) => newPr(w, bodies, number, ["conveyor", "env/staging", "conveyor:revert"]);

function expectOpenRevertPr(number: number) {
  w.gh.scope
    .get(`${R}/pulls`)
    .query({ state: "open", head: `${OWNER}:${BRANCH}`, per_page: "5" })
    .reply(200, [
      {
        number,
        state: "open",
        html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`,
        head: { sha: w.remote.head(BRANCH), ref: BRANCH, repo: { full_name: `${OWNER}/${REPO}` } },
        user: { login: BOT, type: "Bot" },
        body: bodies.get(number) ?? "",
        labels: [{ name: "conveyor" }, { name: "env/staging" }, { name: "conveyor:revert" }],
      },
    ]);
}

async function reverts(): Promise<Record<string, number>> {
  const metric = await w.services.metrics.reverts.get();
  return Object.fromEntries(metric.values.map((v) => [`${v.labels.env}/${v.labels.result}`, v.value]));
}

describe("the revert PR", () => {
  it("restores the overlay byte for byte from before the failed change, labelled as a revert", async () => {
    const pr = expectNewPr(30);
    const outcome = await revert();

    expect(outcome).toMatchObject({ kind: "opened", pr: 30 });
    expect(w.remote.show(BRANCH, FILE)).toBe(before);
    expect(w.remote.git("rev-parse", `${BRANCH}~1`).trim()).toBe(revision);
    expect(w.remote.show("main", FILE)).toContain('newTag: "1.5.0"');
    expect(w.remote.git("log", "-1", "--format=%B", BRANCH)).toContain(
      `revert(order-service/staging): ${IMAGE}:1.5.0 -> ${IMAGE}:1.4.0\n\nRollout failed: Degraded for 2m`,
    );

    expect(pr.create).toMatchObject({
      head: BRANCH,
      base: "main",
      title: "Revert order-service in staging to order-service:1.4.0",
    });
    const body = pr.create?.body as string;
    expect(body).toContain("because its rollout failed after #12 (deployment 77)");
    expect(body).toContain("**Reason:** Degraded for 2m: order-service is in CrashLoopBackOff");
    expect(body).toContain(`| failed | \`${IMAGE}:1.5.0\` |`);
    expect(body).toContain(`| back to | \`${IMAGE}:1.4.0\` |`);
    expect(body).toContain("This is a revert of the overlay change.");
    // The state marker says the revert moves staging from the failed image back, signed for its head.
    const move = { service: "order-service", env: "staging", from: `${IMAGE}:1.5.0`, to: `${IMAGE}:1.4.0` };
    expect(
      body.endsWith(signedStateMarker(w.services, `${OWNER}/${REPO}`, move, w.remote.head(BRANCH) as string)),
    ).toBe(true);
    expect(pr.labels).toEqual({ labels: ["conveyor", "env/staging", "conveyor:revert"] });
    expect(w.gh.calls()).toHaveLength(2);
    expect(await reverts()).toEqual({ "staging/opened": 1 });
  });

  it("a second revert of the same failure is a noop: the open revert PR already restores the overlay", async () => {
    expectNewPr(30);
    await revert();
    const head = w.remote.head(BRANCH);
    const callsBefore = w.gh.calls().length;

    expectOpenRevertPr(30);
    const outcome = await revert();

    expect(outcome).toEqual({ kind: "noop", reason: "revert PR #30 already restores this overlay", pr: 30 });
    expect(w.remote.head(BRANCH)).toBe(head);
    expect(w.gh.calls().slice(callsBefore)).toEqual([`GET ${R}/pulls`]);
    expect(await reverts()).toEqual({ "staging/opened": 1, "staging/noop": 1 });
  });

  it("updates the open revert PR, rebuilt on main, when the overlay moved on since it was opened", async () => {
    expectNewPr(30);
    await revert();
    const scaled = (w.remote.show("main", FILE) as string).replace("count: 1", "count: 3");
    const moved = w.remote.commit("main", { [FILE]: scaled }, "scale order-service in staging");

    expectOpenRevertPr(30);
    let update: Record<string, unknown> | undefined;
    w.gh.scope.patch(`${R}/pulls/30`, (body) => ((update = body), true)).reply(200, {});
    const outcome = await revert();

    expect(outcome).toMatchObject({ kind: "updated", pr: 30 });
    expect(w.remote.show(BRANCH, FILE)).toBe(scaled.replace('newTag: "1.5.0"', 'newTag: "1.4.0"'));
    expect(w.remote.git("rev-parse", `${BRANCH}~1`).trim()).toBe(moved);
    expect(update?.body).toContain("this sets the previous verified image instead");
    expect(await reverts()).toEqual({ "staging/opened": 1, "staging/updated": 1 });
  });
  // Regression (found in review, fixed): proposeRevert says "already restores" whenever the revert branch's overlay matches, even
  // when someone else pushed to the branch since. Such a PR is never merged automatically any more
  // (mergeIfReady sees a head Conveyor did not sign), yet a repeated failure or `/rollback` leaves
  // it as it is, so the environment stays on the failed image. propose-deploy re-plans such a
  // branch from main and replaces the foreign commits; reverts should too.
  it("rebuilds a revert branch someone else pushed to, instead of calling it already done", async () => {
    expectNewPr(30);
    await revert();
    w.remote.commit(BRANCH, { "services/order-service/base/extra.yaml": "kind: ConfigMap\n" }, "sneak a file in");

    expectOpenRevertPr(30);
    w.gh.scope.patch(`${R}/pulls/30`).optionally().reply(200, {});
    const outcome = await revert();

    expect(outcome).toMatchObject({ kind: "updated", pr: 30 });
    expect(w.remote.show(BRANCH, "services/order-service/base/extra.yaml")).toBeUndefined();
    expect(w.remote.show(BRANCH, FILE)).toBe(before);
  });
});

describe("when the overlay changed after the failed change", () => {
  it("sets the previous image on top of the later change instead of undoing it", async () => {
    const scaled = (w.remote.show("main", FILE) as string).replace("count: 1", "count: 3");
    w.remote.commit("main", { [FILE]: scaled }, "scale order-service in staging");

    const pr = expectNewPr(31);
    const outcome = await revert();

    expect(outcome).toMatchObject({ kind: "opened", pr: 31 });
    const restored = w.remote.show(BRANCH, FILE) as string;
    expect(restored).toBe(scaled.replace('newTag: "1.5.0"', 'newTag: "1.4.0"'));
    expect(restored).toContain("count: 3");
    expect(pr.create?.body).toContain(
      "The overlay changed again since, so a plain revert would conflict; this sets the previous verified image instead.",
    );
  });

  it("is impossible when the previous image is not known, and opens nothing", async () => {
    const scaled = (w.remote.show("main", FILE) as string).replace("count: 1", "count: 3");
    w.remote.commit("main", { [FILE]: scaled }, "scale order-service in staging");

    const outcome = await revert({ from: undefined });

    expect(outcome).toEqual({
      kind: "impossible",
      reason: "the overlay changed since and the previous image is not known",
    });
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
    expect(await reverts()).toEqual({ "staging/impossible": 1 });
  });

  it("is impossible when the overlay no longer lists the image", async () => {
    w.remote.commit(
      "main",
      { [FILE]: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n" },
      "drop the image override",
    );

    const outcome = await revert();

    expect(outcome).toEqual({ kind: "impossible", reason: `the overlay no longer has an entry for ${IMAGE}` });
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
  });

  it("does nothing when someone already put the overlay back", async () => {
    w.remote.commit("main", { [FILE]: before }, "manual revert");

    const outcome = await revert();

    expect(outcome).toEqual({ kind: "noop", reason: "the overlay is already back to its previous content" });
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
  });

  it("is impossible when the failed change created the overlay (nothing to go back to)", async () => {
    const outcome = await revert({ base: undefined });

    expect(outcome).toMatchObject({ kind: "impossible" });
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
  });
});
