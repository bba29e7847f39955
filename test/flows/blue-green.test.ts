// Blue-green releases through propose-deploy: a deploy event for a service released blue-green
// opens PR 1 (the new image on the idle slot's patch file, nothing else), and once that slot is
// verified proposeSwitch opens PR 2 (the Service's selector, nothing else). Real git seeded from
// fixtures/manifests-repo (cart-service: blue live with 1.4.0, green idle with 1.3.0), strict mocks.
// A rollback of a switched release is the switch back (proposeRevert), never an image change.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseStateMarker } from "../../src/core/markers.js";
import { proposeSwitch } from "../../src/flows/propose-deploy.js";
import { signedStateMarker } from "../../src/flows/pr-state.js";
import { proposeRevert } from "../../src/flows/propose-revert.js";
import type { Evidence } from "../../src/core/verdict/types.js";
import { VerdictActor } from "../../src/flows/act-on-verdict.js";
import { flowWorld, INSTALLATION, OWNER, R, recordingLog, REPO, type FlowWorld } from "../helpers/flow-world.js";
import { mockConfig } from "../helpers/github-mock.js";
import { expectNewPr as newPr, expectOpenPr as openPr } from "../helpers/pr-mocks.js";
import { deployEvent, strategyConfig } from "../helpers/strategy-flow.js";

const IMAGE = "ghcr.io/acme/cart-service";
const DIR = "services/cart-service/overlays/staging";
const GREEN = `${DIR}/slot-green.yaml`;
const BLUE = `${DIR}/slot-blue.yaml`;
const SERVICE = `${DIR}/service.yaml`;
const BRANCH = "conveyor/staging/cart-service";

let w: FlowWorld;
const bodies = new Map<number, string>();
beforeEach(() => {
  w = flowWorld();
  bodies.clear();
});
afterEach(() => w.cleanup());

const config = () => strategyConfig("cart-service", "blueGreen");

const deploy = (tag: string) => deployEvent(w, config(), "cart-service", `${IMAGE}:${tag}`);

const LABELS = ["conveyor", "env/staging"];
const expectNewPr = (number: number, labels = LABELS) => newPr(w, bodies, number, labels);
const expectOpenPr = (number?: number) => openPr(w, bodies, BRANCH, number, LABELS);

/** The files a branch changes against main, with the changed lines. */
const diff = (branch: string) => w.remote.git("diff", "--unified=0", "main", branch);

describe("slot PRs say where their image came from", () => {
  const source = { repository: "acme/cart-service", sha: "e".repeat(40) };
  const requested = `Requested by: [acme/cart-service](https://github.com/acme/cart-service) at [\`${"e".repeat(12)}\`](https://github.com/acme/cart-service/commit/${"e".repeat(40)})`;
  /** acme/cart-service is not in this installation: its view is not written, its history not read. */
  const notInstalled = () =>
    w.gh.scope.get("/repos/acme/cart-service/installation").reply(404, { message: "Not Found" });

  it("PR 1 carries the source and the changelog since the image the live slot serves", async () => {
    // Where the live slot's image came from: no Deployment recorded it.
    w.gh.scope.get(`${R}/deployments`).query({ task: "deploy", per_page: "100" }).reply(200, []);
    notInstalled();
    const pr = expectNewPr(21);

    await deployEvent(w, config(), "cart-service", `${IMAGE}:1.5.0`, source);
    await w.services.background.idle();

    const body = pr.create?.body as string;
    expect(body).toContain(`File: \`${GREEN}\` (only the image changes)\n${requested}\n\n### Changes\n`);
    // Measured from what staging runs (the live slot's 1.4.0), not the idle slot's old 1.3.0.
    expect(body).toContain(
      "No commit list: Conveyor has no source commit for `cart-service:1.4.0`, which staging runs now",
    );
    expect(body.indexOf("### Changes")).toBeLessThan(body.indexOf("### What happens next"));
  });

  it("PR 2 carries the source, without a changelog (PR 1 had it)", async () => {
    w.remote.commit(
      "main",
      { [GREEN]: (w.remote.show("main", GREEN) as string).replace(`${IMAGE}:1.3.0`, `${IMAGE}:1.5.0`) },
      "merge PR 1",
    );
    const pr = expectNewPr(22);
    await proposeSwitch(w.services, w.scope, {
      config: config(),
      service: "cart-service",
      env: "staging",
      to: "green",
      source,
    });

    const body = pr.create?.body as string;
    expect(body).toContain(`switching back is the rollback.\n${requested}\n\n### What happens next`);
    expect(body).not.toContain("### Changes");
  });
});

describe("a blue-green release", () => {
  it("PR 1 puts the new image on the idle slot's patch file only, byte for byte", async () => {
    const pr = expectNewPr(21);
    const outcome = await deploy("1.5.0");

    expect(outcome).toMatchObject({ kind: "opened", pr: 21, image: `${IMAGE}:1.5.0`, headSha: w.remote.head(BRANCH) });
    const before = w.remote.show("main", GREEN) as string;
    expect(w.remote.show(BRANCH, GREEN)).toBe(before.replace(`${IMAGE}:1.3.0`, `${IMAGE}:1.5.0`));
    expect(w.remote.git("diff", "--name-only", "main", BRANCH).trim()).toBe(GREEN);
    expect(pr.create).toMatchObject({
      head: BRANCH,
      base: "main",
      title: "Deploy cart-service 1.5.0 to the idle slot (green) in staging",
    });
    const body = pr.create?.body as string;
    expect(body).toContain("The live slot (blue) keeps serving `ghcr.io/acme/cart-service:1.4.0`.");
    expect(body).toContain(`| green slot before | \`${IMAGE}:1.3.0\` |`);
    expect(body).toContain(`| green slot after | \`${IMAGE}:1.5.0\` |`);
    expect(body).toContain("Then it opens the PR that switches the Service to green");
    const state = { service: "cart-service", env: "staging", from: `${IMAGE}:1.3.0`, to: `${IMAGE}:1.5.0` };
    expect(
      body.endsWith(
        signedStateMarker(w.services, `${OWNER}/${REPO}`, { ...state, step: "idle" }, w.remote.head(BRANCH) as string),
      ),
    ).toBe(true);
    expect(parseStateMarker(body)).toMatchObject({ ...state, step: "idle" });
  });

  it("the same deploy event again finds PR 1 and pushes nothing", async () => {
    expectNewPr(21);
    await deploy("1.5.0");
    const head = w.remote.head(BRANCH);

    expectOpenPr(21);
    expect(await deploy("1.5.0")).toMatchObject({ kind: "noop", pr: 21 });
    expect(w.remote.head(BRANCH)).toBe(head);
  });

  it("refuses an image older than the live slot's and changes nothing", async () => {
    expect(await deploy("1.2.0")).toMatchObject({
      kind: "reject",
      code: "older-version",
      reason: expect.stringContaining("older than ghcr.io/acme/cart-service:1.4.0 on the live slot (blue)"),
    });
    expect(w.remote.head(BRANCH)).toBeUndefined();
  });

  it("PR 2 changes only the Service selector's slot value, and the old slot keeps its image", async () => {
    // PR 1 merged: green runs 1.5.0.
    w.remote.commit(
      "main",
      { [GREEN]: (w.remote.show("main", GREEN) as string).replace(`${IMAGE}:1.3.0`, `${IMAGE}:1.5.0`) },
      "merge PR 1",
    );
    const pr = expectNewPr(22);
    const outcome = await proposeSwitch(w.services, w.scope, {
      config: config(),
      service: "cart-service",
      env: "staging",
      to: "green",
    });

    expect(outcome).toMatchObject({ kind: "opened", pr: 22, image: `${IMAGE}:1.5.0` });
    expect(diff(BRANCH)).toContain(`-    slot: blue # the live slot\n+    slot: green # the live slot\n`);
    expect(w.remote.git("diff", "--name-only", "main", BRANCH).trim()).toBe(SERVICE);
    expect(w.remote.show(BRANCH, SERVICE)).toBe(
      (w.remote.show("main", SERVICE) as string).replace("slot: blue #", "slot: green #"),
    );
    expect(pr.create).toMatchObject({ head: BRANCH, title: "Switch cart-service to green in staging" });
    const body = pr.create?.body as string;
    expect(body).toContain(`| blue (live now) | \`${IMAGE}:1.4.0\` |`);
    expect(body).toContain(`| green (live after) | \`${IMAGE}:1.5.0\` |`);
    expect(body).toContain("The blue slot keeps `ghcr.io/acme/cart-service:1.4.0`: switching back is the rollback.");
    expect(parseStateMarker(body)).toMatchObject({
      service: "cart-service",
      from: `${IMAGE}:1.4.0`,
      to: `${IMAGE}:1.5.0`,
      step: "switch",
    });

    // Asked again (a retried verdict), the open PR 2 is found, not opened twice.
    expectOpenPr(22);
    expect(
      await proposeSwitch(w.services, w.scope, {
        config: config(),
        service: "cart-service",
        env: "staging",
        to: "green",
      }),
    ).toMatchObject({ kind: "noop", pr: 22 });
  });

  it("does not switch to a slot that is already live", async () => {
    expect(
      await proposeSwitch(w.services, w.scope, {
        config: config(),
        service: "cart-service",
        env: "staging",
        to: "blue",
      }),
    ).toMatchObject({ kind: "noop", reason: "blue is already the live slot" });
    expect(w.remote.head(BRANCH)).toBeUndefined();
  });
});

describe("rolling back a switched blue-green release", () => {
  /** PR 1 and PR 2 merged: green runs 1.5.0 and serves; blue kept 1.4.0. */
  function switched(): { base: string; revision: string } {
    const base = w.remote.head("main") as string;
    w.remote.commit(
      "main",
      { [GREEN]: (w.remote.show("main", GREEN) as string).replace(`${IMAGE}:1.3.0`, `${IMAGE}:1.5.0`) },
      "merge PR 1",
    );
    const revision = w.remote.commit(
      "main",
      { [SERVICE]: (w.remote.show("main", SERVICE) as string).replace("slot: blue #", "slot: green #") },
      "merge PR 2",
    );
    return { base, revision };
  }
  const REVERT_BRANCH = "conveyor/revert/staging/cart-service";
  const rollback = (at: { base: string; revision: string }, to = `${IMAGE}:1.5.0`) =>
    proposeRevert(w.services, w.scope, {
      service: "cart-service",
      env: "staging",
      file: SERVICE,
      ...at,
      from: `${IMAGE}:1.4.0`,
      to,
      reason: "`/rollback`",
      requestedBy: "alice",
      deploymentId: 41,
      config: config(),
    });

  it("is the switch back: only the Service selector's slot value changes, no image", async () => {
    const at = switched();
    const seen: { create?: Record<string, unknown> } = {};
    w.gh.scope
      .post(`${R}/pulls`, (body) => ((seen.create = body), true))
      .reply(201, { number: 40, html_url: `https://github.com/${OWNER}/${REPO}/pull/40`, head: { sha: "x" } });
    w.gh.scope.post(`${R}/issues/40/labels`, { labels: ["conveyor", "env/staging", "conveyor:revert"] }).reply(200, []);

    expect(await rollback(at)).toMatchObject({ kind: "opened", pr: 40 });
    expect(w.remote.git("diff", "--name-only", "main", REVERT_BRANCH).trim()).toBe(SERVICE);
    expect(w.remote.git("diff", "--unified=0", "main", REVERT_BRANCH)).toContain(
      `-    slot: green # the live slot\n+    slot: blue # the live slot\n`,
    );
    expect(w.remote.show(REVERT_BRANCH, GREEN)).toBe(w.remote.show("main", GREEN));
    const body = seen.create?.body as string;
    expect(body).toContain("switches the Service back to the slot that kept the previous image");
    expect(parseStateMarker(body)).toMatchObject({ from: `${IMAGE}:1.5.0`, to: `${IMAGE}:1.4.0`, step: "switch" });
  });

  it("an image only on the idle slot serves no traffic: nothing to switch back", async () => {
    const base = w.remote.head("main") as string;
    const revision = w.remote.commit(
      "main",
      { [GREEN]: (w.remote.show("main", GREEN) as string).replace(`${IMAGE}:1.3.0`, `${IMAGE}:1.5.0`) },
      "merge PR 1",
    );
    expect(await rollback({ base, revision })).toMatchObject({
      kind: "noop",
      reason: expect.stringContaining("is only on the idle slot (green), which serves no traffic"),
    });
    expect(w.remote.head(REVERT_BRANCH)).toBeUndefined();
  });

  it("refuses to switch back to a slot that no longer holds the image to go back to", async () => {
    const at = switched();
    w.remote.commit(
      "main",
      { [BLUE]: (w.remote.show("main", BLUE) as string).replace(`${IMAGE}:1.4.0`, `${IMAGE}:1.6.0`) },
      "someone's own change to blue",
    );
    expect(await rollback(at)).toMatchObject({
      kind: "impossible",
      reason: expect.stringContaining(`the blue slot holds ${IMAGE}:1.6.0, not ${IMAGE}:1.4.0`),
    });
    expect(w.remote.head(REVERT_BRANCH)).toBeUndefined();
  });

  it("no release while the switch back is open: merged later, it would serve the new image untested", async () => {
    w.remote.commit(REVERT_BRANCH, { [SERVICE]: "switched back\n" }, "the open switch back");
    openPr(w, bodies, REVERT_BRANCH, 40, [...LABELS, "conveyor:revert"]);
    expect(await deploy("1.6.0")).toMatchObject({
      kind: "reject",
      code: "rollback-in-progress",
      reason: "the rollback of cart-service in staging (#40) is still open; deploy once it is merged or closed",
    });
    expect(w.remote.head(BRANCH)).toBeUndefined();
  });

  it("a switched release that goes bad is reverted automatically by the switch back, and its image held", async () => {
    const at = switched();
    const actor = new VerdictActor(w.services, recordingLog(w.logs), { retryDelayMs: () => 5 }).outcomes();
    mockConfig(w.gh.scope, OWNER, REPO, "services:\n  cart-service:\n    strategy: blueGreen\n");
    w.gh.scope.post(`${R}/deployments/51/statuses`).times(2).reply(201, {});
    w.gh.scope.get(`${R}/deployments`).query({ task: "deploy", per_page: "100" }).reply(200, []);
    const revert = newPr(w, bodies, 42, [...LABELS, "conveyor:revert"]);
    w.gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:hold", per_page: "100" }).reply(200, []);
    w.gh.scope.post(`${R}/issues`).reply(201, { number: 90 });
    w.gh.scope.get(`${R}/issues/22/comments`).query({ per_page: "100" }).reply(200, []);
    w.gh.scope.post(`${R}/issues/22/comments`).reply(201, { id: 1, html_url: "c" });

    await actor.failed(
      {
        repo: { owner: OWNER, repo: REPO, installationId: INSTALLATION, cloneUrl: w.remote.url, defaultBranch: "main" },
        service: "cart-service",
        env: "staging",
        app: { namespace: "argocd", name: "cart-service-staging" },
        ...at,
        deploymentId: 51,
        pr: { number: 22, labels: LABELS },
        from: `${IMAGE}:1.4.0`,
        to: `${IMAGE}:1.5.0`,
        file: SERVICE,
        slot: { kind: "live", slot: "green", deployment: "cart-service-green" },
        startedAt: "2026-01-01T10:00:00.000Z",
        policy: { soakMs: 1, syncMs: 1, healthMs: 1, suspendedMs: 1, degradedGraceMs: 1 },
      },
      { kind: "failed", code: "degraded", reason: "Degraded", evidence: {} as Evidence },
    );
    await w.services.background.idle();

    expect(w.remote.git("diff", "--name-only", "main", REVERT_BRANCH).trim()).toBe(SERVICE);
    expect(w.remote.show(REVERT_BRANCH, SERVICE)).toBe(w.remote.show(at.base, SERVICE));
    expect(revert.create?.body).toContain("switches the Service back to the slot that kept the previous image");
  });
});
