// propose-deploy: a deploy event, a promotion or a command becomes one PR per service and
// environment. Real git (a bare remote seeded from fixtures/manifests-repo), the real renderer,
// strict GitHub mocks: every call each test expects is stated, and no other may happen. GitHub
// "remembers" the bodies Conveyor wrote, so an open PR reads back with Conveyor's signed marker.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import type { DeployRequest } from "../../src/core/dispatch.js";
import { parseImageRef } from "../../src/core/image-ref.js";
import { proposeDeploy, type ProposeInput } from "../../src/flows/propose-deploy.js";
import { signedStateMarker } from "../../src/flows/pr-state.js";
import { flowWorld, OWNER, R, REPO, type FlowWorld } from "../helpers/flow-world.js";
import { expectSourceInstalled, expectSourceView } from "../helpers/source-view-mock.js";
import { expectOpenPr as openPr } from "../helpers/pr-mocks.js";

const IMAGE = "ghcr.io/acme/order-service";
const STAGING_FILE = "services/order-service/overlays/staging/kustomization.yaml";
const PRODUCTION_FILE = "services/order-service/overlays/production/kustomization.yaml";
const STAGING = "conveyor/staging/order-service";
const PRODUCTION = "conveyor/production/order-service";

let w: FlowWorld;
/** The last body Conveyor wrote to each PR, as GitHub would hand it back. */
let bodies: Map<number, string>;
beforeEach(() => {
  w = flowWorld();
  bodies = new Map();
});
afterEach(() => w.cleanup());

function config(yaml?: Record<string, unknown>): Config {
  const result = parseConfig(yaml ?? null);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

function request(image: string, extra: Partial<DeployRequest> = {}): DeployRequest {
  const parsed = parseImageRef(image);
  if (!parsed.ok) throw new Error(parsed.reason);
  return { service: "order-service", image: parsed.value, source: {}, ...extra };
}

function propose(input: Partial<ProposeInput> & { request: DeployRequest }) {
  return proposeDeploy(w.services, w.scope, { config: config(), mode: "dispatch", ...input });
}

/** Mocks `pulls.create` + `issues.addLabels`; returns what they were sent. */
function expectNewPr(number: number) {
  const seen: { create?: Record<string, unknown>; labels?: Record<string, unknown> } = {};
  w.gh.scope
    .post(`${R}/pulls`, (body) => {
      seen.create = body;
      bodies.set(number, body.body as string);
      return true;
    })
    .reply(201, { number, html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`, head: { sha: "x" } });
  w.gh.scope.post(`${R}/issues/${number}/labels`, (body) => ((seen.labels = body), true)).reply(200, []);
  return seen;
}

/** Mocks `pulls.update` (+ the comment, when one is expected); returns what they were sent. */
function expectUpdate(number: number, comment = true) {
  const seen: { update?: Record<string, unknown>; comment?: Record<string, unknown> } = {};
  w.gh.scope
    .patch(`${R}/pulls/${number}`, (body) => {
      seen.update = body;
      bodies.set(number, body.body as string);
      return true;
    })
    .reply(200, {});
  if (comment)
    w.gh.scope
      .post(`${R}/issues/${number}/comments`, (body) => ((seen.comment = body), true))
      .reply(201, { id: 1, html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}#issuecomment-1` });
  return seen;
}

/** Mocks `pulls.list` for the bot branch: the open PR from it (at the branch's head), or none. */
function expectOpenPr(branch: string, number?: number, labels = ["conveyor", "env/staging"]) {
  openPr(w, bodies, branch, number, labels);
}

/** The marker Conveyor signs for what a PR moves and the head it pushed. */
function marker(env: string, from: string, to: string, head: string | undefined) {
  return signedStateMarker(w.services, `${OWNER}/${REPO}`, { service: "order-service", env, from, to }, head as string);
}

/** The promotions counter, as `env/result: count`. */
async function promotions(): Promise<Record<string, number>> {
  const metric = await w.services.metrics.promotions.get();
  return Object.fromEntries(metric.values.map((v) => [`${v.labels.env}/${v.labels.result}`, v.value]));
}

const withTag = (file: string, tag: string) =>
  (w.remote.show("main", file) as string).replace('newTag: "1.4.0"', `newTag: "${tag}"`);

describe("a deploy event", () => {
  it("opens one labelled PR whose branch changes only the image tag, on top of main", async () => {
    const pr = expectNewPr(12);
    const outcome = await propose({ request: request(`${IMAGE}:1.5.0`) });

    expect(outcome).toMatchObject({
      kind: "opened",
      pr: 12,
      image: `${IMAGE}:1.5.0`,
      headSha: w.remote.head(STAGING),
      target: { service: "order-service", env: "staging", branch: STAGING, overlayFile: STAGING_FILE },
    });
    expect(w.remote.show(STAGING, STAGING_FILE)).toBe(withTag(STAGING_FILE, "1.5.0"));
    expect(w.remote.git("rev-parse", `${STAGING}~1`).trim()).toBe(w.remote.head("main"));
    expect(w.remote.show("main", STAGING_FILE)).toContain('newTag: "1.4.0"');
    expect(pr.create).toMatchObject({ head: STAGING, base: "main", title: "Deploy order-service 1.5.0 to staging" });
    const body = pr.create?.body as string;
    expect(body).toContain(`| before | \`${IMAGE}:1.4.0\` |`);
    expect(body).toContain(`| after | \`${IMAGE}:1.5.0\` |`);
    // The PR says what it moves, signed for the commit Conveyor pushed, at the end of its body.
    expect(body.endsWith(marker("staging", `${IMAGE}:1.4.0`, `${IMAGE}:1.5.0`, w.remote.head(STAGING)))).toBe(true);
    // Deploy-event PRs leave the rendered summary to the conveyor/render check.
    expect(body).not.toContain("What changes in the cluster");
    expect(pr.labels).toEqual({ labels: ["conveyor", "env/staging"] });
    expect(w.gh.calls()).toHaveLength(2);
    expect(await promotions()).toEqual({ "staging/opened": 1 });
  });

  it("a newer image updates the open PR with a commit on its branch and a comment saying what it supersedes", async () => {
    expectNewPr(12);
    await propose({ request: request(`${IMAGE}:1.5.0`) });
    const first = w.remote.head(STAGING);

    expectOpenPr(STAGING, 12);
    const seen = expectUpdate(12);
    const outcome = await propose({ request: request(`${IMAGE}:1.6.0`) });

    expect(outcome).toMatchObject({
      kind: "updated",
      pr: 12,
      image: `${IMAGE}:1.6.0`,
      superseded: `${IMAGE}:1.5.0`,
    });
    expect(w.remote.show(STAGING, STAGING_FILE)).toBe(withTag(STAGING_FILE, "1.6.0"));
    expect(w.remote.git("rev-parse", `${STAGING}~1`).trim()).toBe(first);
    expect(seen.comment).toEqual({
      body: `Updated to \`${IMAGE}:1.6.0\`, superseding \`${IMAGE}:1.5.0\`.`,
    });
    expect(seen.update?.title).toBe("Deploy order-service 1.6.0 to staging");
    // The PR still says what the environment runs now, and what it will run after the merge.
    const body = seen.update?.body as string;
    expect(body).toContain(`| before | \`${IMAGE}:1.4.0\` |`);
    expect(body).toContain(`| after | \`${IMAGE}:1.6.0\` |`);
    expect(body.endsWith(marker("staging", `${IMAGE}:1.4.0`, `${IMAGE}:1.6.0`, w.remote.head(STAGING)))).toBe(true);
    expect(await promotions()).toEqual({ "staging/opened": 1, "staging/updated": 1 });
  });

  it("rebuilds the branch from main and opens a new PR when the earlier PR was closed unmerged", async () => {
    expectNewPr(12);
    await propose({ request: request(`${IMAGE}:1.5.0`) });

    expectOpenPr(STAGING);
    const pr = expectNewPr(13);
    const outcome = await propose({ request: request(`${IMAGE}:1.6.0`) });

    expect(outcome).toMatchObject({ kind: "opened", pr: 13 });
    expect(w.remote.show(STAGING, STAGING_FILE)).toBe(withTag(STAGING_FILE, "1.6.0"));
    expect(w.remote.git("rev-parse", `${STAGING}~1`).trim()).toBe(w.remote.head("main"));
    expect(pr.create).toMatchObject({ head: STAGING, title: "Deploy order-service 1.6.0 to staging" });
  });

  it("replaces commits someone else pushed to the bot branch instead of building on them", async () => {
    expectNewPr(12);
    await propose({ request: request(`${IMAGE}:1.5.0`) });
    w.remote.commit(STAGING, { "services/order-service/base/extra.yaml": "kind: ConfigMap\n" }, "sneak a file in");

    expectOpenPr(STAGING, 12);
    const seen = expectUpdate(12, false);
    const outcome = await propose({ request: request(`${IMAGE}:1.6.0`) });

    expect(outcome).toMatchObject({ kind: "updated", pr: 12 });
    expect(w.remote.show(STAGING, "services/order-service/base/extra.yaml")).toBeUndefined();
    expect(w.remote.show(STAGING, STAGING_FILE)).toBe(withTag(STAGING_FILE, "1.6.0"));
    expect(w.remote.git("rev-parse", `${STAGING}~1`).trim()).toBe(w.remote.head("main"));
    expect(
      (seen.update?.body as string).endsWith(
        marker("staging", `${IMAGE}:1.4.0`, `${IMAGE}:1.6.0`, w.remote.head(STAGING)),
      ),
    ).toBe(true);
  });

  // Regression (found in review, fixed): GitWorkspace.isAncestor (src/adapters/git-workspace.ts) always answers true for commits
  // that exist: `git merge-base --is-ancestor` says "no" by exiting 1 without stderr, and
  // simple-git only rejects when stderr is non-empty. So planDeploy believes the bot branch
  // contains main, stacks the new image on the stale branch instead of rebuilding it from main,
  // and the updated PR conflicts with a person's change to the same line on main.
  it("rebuilds the open PR's branch from main when a person changed the overlay on main since", async () => {
    expectNewPr(12);
    await propose({ request: request(`${IMAGE}:1.5.0`) });
    const hotfix = withTag(STAGING_FILE, "1.4.1");
    w.remote.commit("main", { [STAGING_FILE]: hotfix }, "hotfix: order-service 1.4.1 in staging");

    expectOpenPr(STAGING, 12);
    const seen = expectUpdate(12);
    await propose({ request: request(`${IMAGE}:1.6.0`) });

    expect(seen.update?.body).toContain(`| before | \`${IMAGE}:1.4.1\` |`);
    // The branch sits on today's main, so the PR merges without a conflict.
    expect(w.remote.git("rev-parse", `${STAGING}~1`).trim()).toBe(w.remote.head("main"));
    expect(w.remote.show(STAGING, STAGING_FILE)).toBe(hotfix.replace('newTag: "1.4.1"', 'newTag: "1.6.0"'));
  });
});

describe("the service repository's view (acme/order-service in the installation)", () => {
  const SHA = "d".repeat(40);
  const source = { repository: "acme/order-service", sha: SHA };

  it("queued once the deploy is accepted and its PR is being made, then PR open, linking the PR", async () => {
    // Where staging's image came from: no Deployment recorded it, so no changelog range.
    w.gh.scope.get(`${R}/deployments`).query({ task: "deploy", per_page: "100" }).reply(200, []);
    expectNewPr(12);
    expectSourceInstalled(w.gh.scope);
    const queued = expectSourceView(w.gh.scope, SHA, [], { deploymentId: 9, env: "staging", create: true });
    const open = expectSourceView(
      w.gh.scope,
      SHA,
      [{ id: 9, environment: "staging", state: "queued", description: "Queued for staging" }],
      { deploymentId: 9, env: "staging" },
    );

    await propose({ request: request(`${IMAGE}:1.5.0`, { source }) });
    await w.services.background.idle();

    expect(queued.create).toMatchObject({ ref: SHA, environment: "staging", production_environment: false });
    expect(queued.status).toEqual({ state: "queued", description: "Queued for staging", auto_inactive: false });
    expect(open.status).toEqual({
      state: "pending",
      description: "PR open acme/manifests#12",
      log_url: "https://github.com/acme/manifests/pull/12",
      auto_inactive: false,
    });
    expect(open.check?.output.summary).toContain("| staging | 🟡 PR open — PR open acme/manifests#12 |");
  });

  it("a refused deploy is not queued: the service repository hears nothing of it here", async () => {
    const outcome = await propose({ request: request(`${IMAGE}:1.3.0`, { source }) });
    await w.services.background.idle();
    expect(outcome.kind).toBe("reject");
    expect(w.gh.calls()).toEqual([]);
  });
});

describe("what a deploy event may not change", () => {
  it("refuses an older semver than the environment runs, changing nothing and calling nothing", async () => {
    const outcome = await propose({ request: request(`${IMAGE}:1.3.9`) });

    expect(outcome).toMatchObject({ kind: "reject", code: "older-version", service: "order-service" });
    expect((outcome as { reason: string }).reason).toBe(
      `${IMAGE}:1.3.9 is older than ${IMAGE}:1.4.0 in staging; an older version never replaces a newer one (send a rollback instead)`,
    );
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
    expect(await promotions()).toEqual({ "staging/rejected": 1 });
  });

  it("refuses an older semver than the open PR proposes, leaving that PR's branch alone", async () => {
    expectNewPr(12);
    await propose({ request: request(`${IMAGE}:1.6.0`) });
    const head = w.remote.head(STAGING);

    expectOpenPr(STAGING, 12);
    const outcome = await propose({ request: request(`${IMAGE}:1.5.0`) });

    expect(outcome).toMatchObject({ kind: "reject", code: "older-version" });
    expect((outcome as { reason: string }).reason).toContain(`older than ${IMAGE}:1.6.0 in the open PR`);
    expect(w.remote.head(STAGING)).toBe(head);
    expect(w.remote.show(STAGING, STAGING_FILE)).toContain('newTag: "1.6.0"');
  });

  it("the same image again is a noop: the open PR is looked up, nothing is pushed or written", async () => {
    expectNewPr(12);
    await propose({ request: request(`${IMAGE}:1.5.0`) });
    const head = w.remote.head(STAGING);
    const before = w.gh.calls().length;

    expectOpenPr(STAGING, 12);
    const outcome = await propose({ request: request(`${IMAGE}:1.5.0`) });

    expect(outcome).toMatchObject({ kind: "noop", reason: `PR #12 already proposes ${IMAGE}:1.5.0` });
    expect(w.remote.head(STAGING)).toBe(head);
    expect(w.gh.calls().slice(before)).toEqual([`GET ${R}/pulls`]);
    expect(await promotions()).toEqual({ "staging/opened": 1, "staging/noop": 1 });
  });

  it("an open PR that lost its labels (a failure right after it was opened) gets them back", async () => {
    expectNewPr(12);
    await propose({ request: request(`${IMAGE}:1.5.0`) });
    const before = w.gh.calls().length;

    expectOpenPr(STAGING, 12, []);
    let added: unknown;
    w.gh.scope.post(`${R}/issues/12/labels`, (body) => ((added = body), true)).reply(200, []);
    const outcome = await propose({ request: request(`${IMAGE}:1.5.0`) });

    expect(outcome).toMatchObject({ kind: "noop", reason: `PR #12 already proposes ${IMAGE}:1.5.0` });
    expect(added).toEqual({ labels: ["conveyor", "env/staging"] });
    expect(w.gh.calls().slice(before)).toEqual([`GET ${R}/pulls`, `POST ${R}/issues/12/labels`]);
  });

  it("the image the environment already runs is a noop without any GitHub call", async () => {
    const outcome = await propose({ request: request(`${IMAGE}:1.4.0`) });

    expect(outcome).toMatchObject({
      kind: "noop",
      reason: `${STAGING_FILE} already has ${IMAGE}:1.4.0`,
      target: { env: "staging" },
    });
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
    expect(await promotions()).toEqual({ "staging/noop": 1 });
  });

  it("rejects an unknown service and names the services it knows", async () => {
    const outcome = await propose({
      request: request("ghcr.io/acme/billing:1.0.0", { service: "billing" }),
    });

    expect(outcome).toMatchObject({ kind: "reject", code: "unknown-service", service: "billing" });
    expect((outcome as { reason: string }).reason).toBe(
      "service `billing` is not configured and has no overlay in this repository (known: cart-service, catalog-service, order-service, payment-service, user-service)",
    );
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
    expect(await promotions()).toEqual({ "staging/rejected": 1 });
  });

  it("rejects another service's image", async () => {
    const outcome = await propose({ request: request("ghcr.io/acme/payment-service:9.0.0") });

    expect(outcome).toMatchObject({ kind: "reject", code: "image-mismatch" });
    expect((outcome as { reason: string }).reason).toContain("is not this service's image");
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
  });
});

describe("environments after the first", () => {
  it("a deploy event naming production is refused: deploys go to staging first", async () => {
    const outcome = await propose({ request: request(`${IMAGE}:1.5.0`, { environment: "production" }) });

    expect(outcome).toMatchObject({ kind: "reject", code: "direct-deploy-refused" });
    expect((outcome as { reason: string }).reason).toContain("deploys go to staging first");
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
    expect(await promotions()).toEqual({ "production/rejected": 1 });
  });

  it("a deploy event may name production when it sets directDeploy", async () => {
    expectNewPr(3);
    const outcome = await propose({
      config: config({ environments: [{ name: "staging" }, { name: "production", directDeploy: true }] }),
      request: request(`${IMAGE}:1.5.0`, { environment: "production" }),
    });

    expect(outcome).toMatchObject({ kind: "opened", target: { env: "production", branch: PRODUCTION } });
    expect(w.remote.show(PRODUCTION, PRODUCTION_FILE)).toBe(withTag(PRODUCTION_FILE, "1.5.0"));
  });

  it("a promotion to production opens its PR with the evidence and what changes in the cluster", async () => {
    const pr = expectNewPr(20);
    const outcome = await propose({
      mode: "promotion",
      evidence: ["verified in staging by deployment 77"],
      request: request(`${IMAGE}:1.5.0`, { environment: "production" }),
    });

    expect(outcome).toMatchObject({ kind: "opened", pr: 20, target: { env: "production", branch: PRODUCTION } });
    expect(w.remote.show(PRODUCTION, PRODUCTION_FILE)).toBe(withTag(PRODUCTION_FILE, "1.5.0"));
    expect(w.remote.show("main", PRODUCTION_FILE)).toContain('newTag: "1.4.0"');
    expect(pr.create).toMatchObject({ head: PRODUCTION, title: "Deploy order-service 1.5.0 to production" });
    expect(pr.labels).toEqual({ labels: ["conveyor", "env/production"] });
    const body = pr.create?.body as string;
    expect(body).toContain("### Evidence\n- verified in staging by deployment 77");
    expect(body).toContain("A reviewer merges this PR");
    // kubectl kustomize renders the overlay at main and at the new commit.
    const summary = body.slice(body.indexOf("### What changes in the cluster"));
    expect(body).toContain("### What changes in the cluster");
    expect(summary).toContain("`services/order-service/overlays/production` (order-service in production)");
    expect(summary).toContain("- changed: `Deployment order-service-production/order-service`");
    expect(summary).toContain(`- \`${IMAGE}:1.4.0\` → \`${IMAGE}:1.5.0\``);
    expect(summary).toMatch(/Rendered with (kubectl kustomize|kustomize)/);
    // The signed marker still ends the body, after the summary.
    expect(body.endsWith(marker("production", `${IMAGE}:1.4.0`, `${IMAGE}:1.5.0`, w.remote.head(PRODUCTION)))).toBe(
      true,
    );
    expect(await promotions()).toEqual({ "production/opened": 1 });
  });
});
