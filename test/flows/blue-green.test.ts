// Blue-green releases through propose-deploy: a deploy event for a service released blue-green
// opens PR 1 (the new image on the idle slot's patch file, nothing else), and once that slot is
// verified proposeSwitch opens PR 2 (the Service's selector, nothing else). Real git seeded from
// fixtures/manifests-repo (cart-service: blue live with 1.4.0, green idle with 1.3.0), strict mocks.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import { parseImageRef } from "../../src/core/image-ref.js";
import { parseStateMarker } from "../../src/core/markers.js";
import { proposeDeploy, proposeSwitch } from "../../src/flows/propose-deploy.js";
import { signedStateMarker } from "../../src/flows/pr-state.js";
import { BOT, flowWorld, OWNER, R, REPO, type FlowWorld } from "../helpers/flow-world.js";

const IMAGE = "ghcr.io/acme/cart-service";
const DIR = "services/cart-service/overlays/staging";
const GREEN = `${DIR}/slot-green.yaml`;
const SERVICE = `${DIR}/service.yaml`;
const BRANCH = "conveyor/staging/cart-service";

let w: FlowWorld;
const bodies = new Map<number, string>();
beforeEach(() => {
  w = flowWorld();
  bodies.clear();
});
afterEach(() => w.cleanup());

function config(): Config {
  const result = parseConfig({ services: { "cart-service": { strategy: "blueGreen" } } });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

function deploy(tag: string) {
  const image = parseImageRef(`${IMAGE}:${tag}`);
  if (!image.ok) throw new Error(image.reason);
  return proposeDeploy(w.services, w.scope, {
    config: config(),
    mode: "dispatch",
    request: { service: "cart-service", image: image.value, source: {} },
  });
}

function expectNewPr(number: number) {
  const seen: { create?: Record<string, unknown> } = {};
  w.gh.scope
    .post(`${R}/pulls`, (body) => {
      seen.create = body;
      bodies.set(number, body.body as string);
      return true;
    })
    .reply(201, { number, html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`, head: { sha: "x" } });
  w.gh.scope.post(`${R}/issues/${number}/labels`, { labels: ["conveyor", "env/staging"] }).reply(200, []);
  return seen;
}

function expectOpenPr(number?: number) {
  w.gh.scope
    .get(`${R}/pulls`)
    .query({ state: "open", head: `${OWNER}:${BRANCH}`, per_page: "5" })
    .reply(
      200,
      number === undefined
        ? []
        : [
            {
              number,
              state: "open",
              html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`,
              head: { sha: w.remote.head(BRANCH), ref: BRANCH, repo: { full_name: `${OWNER}/${REPO}` } },
              user: { login: BOT, type: "Bot" },
              body: bodies.get(number) ?? "",
              labels: [{ name: "conveyor" }, { name: "env/staging" }],
            },
          ],
    );
}

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
    const image = parseImageRef(`${IMAGE}:1.5.0`);
    if (!image.ok) throw new Error(image.reason);

    await proposeDeploy(w.services, w.scope, {
      config: config(),
      mode: "dispatch",
      request: { service: "cart-service", image: image.value, source },
    });
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
