// act-on-verdict: what people see once a rollout is decided. Verified: the Deployment succeeds, the
// image is proposed for the next environment, the PR is told. Failed: the Deployment fails, a revert
// PR is opened, the image is held, the author is told. Superseded: the Deployment goes inactive.
// Real git (a bare remote with the failed change merged), strict GitHub mocks.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Evidence, Verdict } from "../../src/core/verdict/types.js";
import type { Verification } from "../../src/core/verification.js";
import { VerdictActor } from "../../src/flows/act-on-verdict.js";
import type { VerificationOutcomes } from "../../src/runtime/verifier.js";
import {
  flowWorld,
  mergeStagingChange,
  OWNER,
  R,
  REPO,
  recordingLog,
  stagingVerification,
  type FlowWorld,
} from "../helpers/flow-world.js";
import { mockConfig } from "../helpers/github-mock.js";
import { expectDeploymentsOfImage, expectNewPr, expectVerdictComment } from "../helpers/verdict-mocks.js";
import { expectSourceInstalled, expectSourceView } from "../helpers/source-view-mock.js";

const STAGING = "services/order-service/overlays/staging/kustomization.yaml";
const PRODUCTION = "services/order-service/overlays/production/kustomization.yaml";
const OLD = "ghcr.io/acme/order-service:1.4.0";
const NEW = "ghcr.io/acme/order-service:1.5.0";
const REASON = 'Deployment "order-service" exceeded its progress deadline (Degraded for 1m)';

let w: FlowWorld;
let actions: VerificationOutcomes;
/** main before the change, and the merged change (1.4.0 -> 1.5.0 in staging). */
let base: string;
let revision: string;

beforeEach(() => {
  w = flowWorld();
  // The actor works in the background and retries; these tests wait until it is done.
  const outcomes = new VerdictActor(w.services, recordingLog(w.logs), { retryDelayMs: () => 5 }).outcomes();
  const done = async () => void (await w.services.background.idle());
  actions = {
    verified: async (v, verdict) => (await outcomes.verified(v, verdict), done()),
    failed: async (v, verdict) => (await outcomes.failed(v, verdict), done()),
    superseded: async (v, by) => (await outcomes.superseded(v, by), done()),
  };
  ({ base, revision } = mergeStagingChange(w));
});
afterEach(() => w.cleanup());

const outcomesOf = (world: FlowWorld) => new VerdictActor(world.services, recordingLog(world.logs)).outcomes();

function verification(overrides: Partial<Verification> = {}): Verification {
  return stagingVerification(w, { revision, base }, overrides);
}

function evidence(extra: Partial<Evidence> = {}): Evidence {
  return {
    app: "order-service-staging",
    observedAt: "2026-01-01T10:04:30.000Z",
    syncStatus: "Synced",
    syncRevisions: [revision],
    operationPhase: "Succeeded",
    operationRevisions: [revision],
    operationFinishedAt: "2026-01-01T10:01:00.000Z",
    reconciledAt: "2026-01-01T10:01:05.000Z",
    health: "Healthy",
    rollouts: [],
    conditions: [],
    images: [NEW],
    healthySince: "2026-01-01T10:02:00.000Z",
    ...extra,
  };
}

const verified = (): Extract<Verdict, { kind: "verified" }> => ({
  kind: "verified",
  at: "2026-01-01T10:04:30.000Z",
  evidence: evidence(),
});

const failed = (): Extract<Verdict, { kind: "failed" }> => ({
  kind: "failed",
  code: "degraded",
  reason: REASON,
  evidence: evidence({ health: "Degraded", healthySince: undefined }),
});

function expectFreezes(issues: Array<{ number: number; body: string }> = []) {
  w.gh.scope
    .get(`${R}/issues`)
    .query({ state: "open", labels: "conveyor:freeze", per_page: "100" })
    .reply(
      200,
      issues.map((i) => ({ ...i, title: "frozen" })),
    );
}

/**
 * The Deployment's statuses: first the verdict recorded as still owed (in_progress), last the
 * final one, once everything else is done (`final` alone for a superseded change).
 */
function expectStatus(id: number, options: { owed?: boolean } = {}) {
  const seen: { body?: Record<string, unknown>; owed?: Record<string, unknown> } = {};
  if (options.owed !== false)
    w.gh.scope.post(`${R}/deployments/${id}/statuses`, (b) => ((seen.owed = b), true)).reply(201, {});
  w.gh.scope.post(`${R}/deployments/${id}/statuses`, (b) => ((seen.body = b), true)).reply(201, {});
  return seen;
}

const expectSourceLookup = (deployments: Array<{ id: number; payload: Record<string, unknown> }> = []) =>
  expectDeploymentsOfImage(w, deployments);
const expectReplacedLookup = expectSourceLookup;

function expectHoldIssue(existing: Array<{ number: number; title: string; body: string }> = []) {
  const seen: { create?: Record<string, unknown>; update?: Record<string, unknown> } = {};
  w.gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:hold", per_page: "100" }).reply(200, existing);
  if (existing[0]) {
    w.gh.scope.patch(`${R}/issues/${existing[0].number}`, (b) => ((seen.update = b), true)).reply(200, {});
  } else {
    w.gh.scope.post(`${R}/issues`, (b) => ((seen.create = b), true)).reply(201, { number: 90 });
  }
  return seen;
}

describe("verified", () => {
  it("the promotion PR carries the source the verified Deployment recorded, and says why it lists no commits", async () => {
    const source = {
      repository: "acme/order-service",
      sha: "d".repeat(40),
      runUrl: "https://github.com/acme/order-service/actions/runs/8",
    };
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectFreezes();
    expectStatus(77);
    // Where production's image came from: no Deployment recorded it.
    expectSourceLookup();
    const pr = expectNewPr(w, 31);
    expectVerdictComment(w, 12);

    // acme/order-service is not in this installation: nothing is written there.
    w.gh.scope.get("/repos/acme/order-service/installation").reply(404, { message: "Not Found" });
    expectReplacedLookup();

    await actions.verified(verification({ source }), verified());

    expect(pr.create?.body).toContain(
      `Requested by: [acme/order-service](https://github.com/acme/order-service) at [\`${"d".repeat(12)}\`](https://github.com/acme/order-service/commit/${"d".repeat(40)}), [CI run](${source.runUrl})`,
    );
    expect(pr.create?.body).toContain(
      "### Changes\nNo commit list: Conveyor has no source commit for `order-service:1.4.0`, which production runs now",
    );
    // Signed into the marker, so the production Deployment records it in turn.
    expect(pr.create?.body).toContain(
      `"source":{"repository":"acme/order-service","sha":"${"d".repeat(40)}","run_url":"${source.runUrl}"}`,
    );
  });

  it("marks the Deployment successful, opens the promotion PR with the evidence, and names it on the PR", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectFreezes();
    const status = expectStatus(77);
    const pr = expectNewPr(w, 31);
    const comment = expectVerdictComment(w, 12);
    expectReplacedLookup();

    await actions.verified(verification(), verified());

    expect(status.body).toMatchObject({ state: "success", description: "Synced, healthy and stable" });
    expect(pr.create).toMatchObject({
      head: "conveyor/production/order-service",
      base: "main",
      title: "Deploy order-service 1.5.0 to production",
    });
    expect(pr.create?.body).toContain(
      "### Evidence\n- Verified in **staging**: synced, healthy and stable (deployment 77, #12).",
    );
    expect(pr.create?.body).toContain(`| before | \`${OLD}\` |`);
    expect(pr.create?.body).toContain(`| after | \`${NEW}\` |`);
    expect(pr.labels).toEqual({ labels: ["conveyor", "env/production"] });
    expect(w.remote.show("conveyor/production/order-service", PRODUCTION)).toBe(
      (w.remote.show("main", PRODUCTION) as string).replace('newTag: "1.4.0"', 'newTag: "1.5.0"'),
    );
    expect(comment.body).toBe(
      [
        `✅ **Verified**: order-service \`${NEW}\` is synced, healthy and stable in **staging** (Argo CD \`order-service-staging\`).`,
        "",
        "| step | at |",
        "|---|---|",
        "| merged | 2026-01-01T10:00:00.000Z |",
        "| synced | 2026-01-01T10:01:00.000Z |",
        "| healthy | 2026-01-01T10:02:00.000Z |",
        "| stable (verified) | 2026-01-01T10:04:30.000Z |",
        "",
        "Next: promotion to **production** in #31.",
        "",
        "<!-- conveyor:verdict:77 -->",
      ].join("\n"),
    );
    // The verdict is recorded as owed first, then the PR, then the comment; the final status
    // last, so a crash or an outage in between leaves the work on record, not lost.
    const writes = w.gh.calls().filter((c) => c.startsWith("POST"));
    expect(writes).toEqual([
      `POST ${R}/deployments/77/statuses`,
      `POST ${R}/pulls`,
      `POST ${R}/issues/31/labels`,
      `POST ${R}/issues/12/comments`,
      `POST ${R}/deployments/77/statuses`,
    ]);
    expect(status.owed).toMatchObject({ state: "in_progress", description: "Verdict: verified; acting on it" });
  });

  it("next environment frozen: no promotion PR, and the comment says it is frozen and how to lift it", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectFreezes([
      { number: 40, body: "frozen\n\n<!-- conveyor:freeze:qa -->" },
      { number: 41, body: "**production** is frozen\n\n<!-- conveyor:freeze:production -->" },
    ]);
    const status = expectStatus(77);
    const comment = expectVerdictComment(w, 12);
    expectReplacedLookup();

    await actions.verified(verification(), verified());

    expect(status.body).toMatchObject({ state: "success" });
    expect(comment.body).toContain("Next: production is frozen (#41); no promotion until /unhold production.");
    expect(w.remote.branches()).toEqual(["main"]);
  });

  it("a verified revert is not promoted, and the comment says why", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectFreezes();
    expectStatus(77);
    const comment = expectVerdictComment(w, 33);
    expectReplacedLookup();

    await actions.verified(
      verification({
        from: NEW,
        to: OLD,
        pr: { number: 33, author: "alice", labels: ["conveyor", "env/staging", "conveyor:revert"] },
      }),
      verified(),
    );

    expect(comment.body).toContain("Next: this was a revert, which is not promoted.");
    expect(w.remote.branches()).toEqual(["main"]);
  });

  it("verified in the last environment: no promotion, no freeze lookup, the comment says it was the last", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    const status = expectStatus(78);
    const comment = expectVerdictComment(w, 12);
    expectReplacedLookup();

    await actions.verified(
      verification({
        env: "production",
        deploymentId: 78,
        app: { namespace: "argocd", name: "order-service-production" },
        file: PRODUCTION,
      }),
      verified(),
    );

    expect(status.body).toMatchObject({ state: "success", description: "Synced, healthy and stable" });
    expect(comment.body).toContain("is synced, healthy and stable in **production**");
    expect(comment.body?.endsWith("production is the last environment.\n\n<!-- conveyor:verdict:78 -->")).toBe(true);
    expect(w.gh.calls()).toHaveLength(7);
    expect(w.remote.branches()).toEqual(["main"]);
  });

  it("a change without a PR: the Deployment succeeds and the promotion is opened, with nobody to comment on", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, "environments:\n  - name: staging\n  - name: production\n");
    expectFreezes();
    expectStatus(77);
    const pr = expectNewPr(w, 35);
    expectReplacedLookup();

    await actions.verified(verification({ pr: undefined }), verified());

    expect(pr.create?.body).toContain("- Verified in **staging**: synced, healthy and stable (deployment 77).");
  });
});

describe("failed", () => {
  it("fails the Deployment, opens the revert PR, holds the image and tells the author, naming the revert PR", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    const status = expectStatus(77);
    expectSourceLookup([
      {
        id: 5,
        payload: {
          conveyor: true,
          service: "other",
          to: OLD,
          source: { repository: "acme/other", sha: "b".repeat(40) },
        },
      },
      {
        id: 4,
        payload: {
          conveyor: true,
          service: "order-service",
          to: OLD,
          source: { repository: "acme/order-service", sha: "c".repeat(40) },
        },
      },
    ]);
    const revert = expectNewPr(w, 32);
    const hold = expectHoldIssue();
    const comment = expectVerdictComment(w, 12);

    await actions.failed(verification(), failed());

    // The revert PR says where the image it goes back to came from, as its Deployment recorded it.
    expect(revert.create?.body).toContain(
      `Back to the image built from: [acme/order-service](https://github.com/acme/order-service) at [\`${"c".repeat(12)}\`](https://github.com/acme/order-service/commit/${"c".repeat(40)})`,
    );
    expect(revert.create?.body).toContain(`"source":{"repository":"acme/order-service","sha":"${"c".repeat(40)}"}`);

    expect(status.body).toMatchObject({ state: "failure", description: REASON });
    expect(revert.create).toMatchObject({
      head: "conveyor/revert/staging/order-service",
      base: "main",
      title: "Revert order-service in staging to order-service:1.4.0",
    });
    expect(revert.create?.body).toContain(`**Reason:** ${REASON}`);
    expect(revert.labels).toEqual({ labels: ["conveyor", "env/staging", "conveyor:revert"] });
    // A byte-exact revert of the overlay on top of main.
    expect(w.remote.show("conveyor/revert/staging/order-service", STAGING)).toBe(w.remote.show(base, STAGING));
    expect(w.remote.git("rev-parse", "conveyor/revert/staging/order-service~1").trim()).toBe(revision);

    expect(hold.create).toMatchObject({
      title: "Conveyor: order-service is held in staging",
      labels: ["conveyor:hold"],
    });
    expect(hold.create?.body).toContain(`held image: \`${NEW}\``);
    expect(hold.create?.body).toContain(REASON);
    expect(hold.create?.body).toContain("<!-- conveyor:hold:order-service:staging -->");

    expect(comment.body).toContain(
      "❌ @alice: the rollout of order-service in **staging** failed (Argo CD `order-service-staging`).",
    );
    expect(comment.body).toContain(`**Reason:** ${REASON}`);
    expect(comment.body).toContain("Conveyor opened revert PR #32.");
    // The hold is named, with where to lift it.
    expect(comment.body).toMatch(/order-service is held in staging \(#\d+\): .* comments `\/unhold` on #\d+\./);
    const writes = w.gh.calls().filter((c) => !c.startsWith("GET"));
    expect(writes).toEqual([
      `POST ${R}/deployments/77/statuses`,
      `POST ${R}/pulls`,
      `POST ${R}/issues/32/labels`,
      `POST ${R}/issues`,
      `POST ${R}/issues/12/comments`,
      `POST ${R}/deployments/77/statuses`,
    ]);
  });

  it("a second failure of the same service and environment updates the hold issue instead of opening another", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectStatus(77);
    expectNewPr(w, 32);
    const hold = expectHoldIssue([
      {
        number: 55,
        title: "Conveyor: order-service is held in staging",
        body: "held image: `ghcr.io/acme/order-service:1.4.9`\n\n<!-- conveyor:hold:order-service:staging -->",
      },
    ]);
    expectSourceLookup();
    expectVerdictComment(w, 12);

    await actions.failed(verification(), failed());

    expect(hold.update?.body).toContain(`held image: \`${NEW}\``);
  });

  it("with rollback.auto off: no revert PR, the image is still held, and the comment says why there is no revert", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, "rollback:\n  auto: false\n");
    const status = expectStatus(77);
    const hold = expectHoldIssue();
    const comment = expectVerdictComment(w, 12);

    await actions.failed(verification(), failed());

    expect(status.body).toMatchObject({ state: "failure", description: REASON });
    expect(hold.create?.title).toBe("Conveyor: order-service is held in staging");
    expect(comment.body).toContain("No revert PR was opened (rollback.auto is off).");
    expect(comment.body).not.toContain("revert PR #");
    expect(w.remote.branches()).toEqual(["main"]);
  });

  it("when the overlay is already back where it was, no revert PR is opened and the comment says why", async () => {
    // Someone already reverted by hand.
    w.remote.commit("main", { [STAGING]: w.remote.show(base, STAGING) as string }, "manual revert");
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectStatus(77);
    expectSourceLookup();
    expectHoldIssue();
    const comment = expectVerdictComment(w, 12);

    await actions.failed(verification(), failed());

    expect(comment.body).toContain("No revert PR: the overlay is already back to its previous content.");
    expect(w.remote.branches()).toEqual(["main"]);
  });

  // Regression (found in review, fixed): when the rollout of a revert fails, Conveyor opens a revert of the revert: a PR that puts
  // the image that failed first back into the environment (labelled conveyor:revert, so it merges
  // automatically where rollback.autoMerge allows, and holds are not checked for reverts). A failed
  // revert should fail its Deployment and tell the PR, not re-deploy the image it was undoing.
  it("a failed revert does not open a PR that restores the image that failed before", async () => {
    const undo = w.remote.commit("main", { [STAGING]: w.remote.show(base, STAGING) as string }, "Revert #12");
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectStatus(79);
    const comment = expectVerdictComment(w, 33);
    try {
      await actions.failed(
        verification({
          revision: undo,
          base: revision,
          deploymentId: 79,
          from: NEW,
          to: OLD,
          pr: { number: 33, author: "alice", labels: ["conveyor", "env/staging", "conveyor:revert"] },
        }),
        failed(),
      );
      expect(comment.body).toContain("failed");
      expect(w.remote.show("conveyor/revert/staging/order-service", STAGING) ?? "").not.toContain('"1.5.0"');
    } finally {
      // Checked here, so a call the correct flow would not make fails this test's body.
      w.gh.verify();
    }
  });
});

describe("superseded", () => {
  it("marks the Deployment inactive, naming the newer commit, and does nothing else (1 call)", async () => {
    const status = expectStatus(77, { owed: false });
    await actions.superseded(verification(), "c0ffee".repeat(6) + "abcd");
    expect(status.body).toMatchObject({ state: "inactive", description: "Superseded by c0ffeec0ffee" });
    expect(w.gh.calls()).toEqual([`POST ${R}/deployments/77/statuses`]);
  });
});

describe("waiting", () => {
  it("says on the in_progress Deployment what the rollout waits for, without acting (1 call)", async () => {
    const status = expectStatus(77, { owed: false });
    const text = "Argo CD sync window 'release freeze' (deny) holds the sync until 14:00 UTC";
    await outcomesOf(w).waiting?.(verification(), text);
    expect(status.body).toMatchObject({ state: "in_progress", description: text });
    expect(w.gh.calls()).toEqual([`POST ${R}/deployments/77/statuses`]);
  });
});

describe("the service repository's view (acme/order-service in the installation)", () => {
  const NEW_SHA = "d".repeat(40);
  const OLD_SHA = "c".repeat(40);
  const source = { repository: "acme/order-service", sha: NEW_SHA };
  // Its manifests PR, under the manifests repository's web address (here, the test remote's).
  const PR_URL = (n: number) => `${w.remote.url.replace(/\.git$/, "")}/pull/${n}`;
  const production = () =>
    verification({
      env: "production",
      deploymentId: 78,
      app: { namespace: "argocd", name: "order-service-production" },
      file: PRODUCTION,
      source,
    });
  /** The commit's staging Deployment, as the merge of #12 left it. */
  const stagingVerifying = () => ({
    id: 5,
    environment: "staging",
    state: "in_progress",
    description: "Verifying in staging",
    log_url: PR_URL(12),
  });
  /** Production's image before came from OLD_SHA, as its own Deployment recorded. */
  const replaced = () =>
    expectReplacedLookup([
      {
        id: 4,
        payload: {
          conveyor: true,
          service: "order-service",
          to: OLD,
          source: { repository: "acme/order-service", sha: OLD_SHA },
        },
      },
    ]);

  it("verified: the commit is active there, and the commit whose image it replaced is superseded there", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    const status = expectStatus(78);
    expectVerdictComment(w, 12);
    expectSourceInstalled(w.gh.scope);
    const mine = expectSourceView(
      w.gh.scope,
      NEW_SHA,
      [
        {
          id: 5,
          environment: "staging",
          state: "success",
          description: "Verified in staging: synced, healthy and stable",
        },
        {
          id: 6,
          environment: "production",
          state: "in_progress",
          description: "Verifying in production",
          log_url: PR_URL(12),
        },
      ],
      { deploymentId: 6, env: "production" },
    );
    replaced();
    const older = expectSourceView(
      w.gh.scope,
      OLD_SHA,
      [
        {
          id: 3,
          environment: "production",
          state: "success",
          description: "Verified in production: synced, healthy and stable",
        },
      ],
      { deploymentId: 3, env: "production" },
    );

    await actions.verified(production(), verified());

    expect(mine.status).toMatchObject({
      state: "success",
      description: "Verified in production: synced, healthy and stable",
      log_url: PR_URL(12),
    });
    expect(mine.check).toMatchObject({ name: "conveyor/environments", status: "completed", conclusion: "success" });
    expect(mine.check?.output.title).toBe("Active in staging, production");
    expect(older.status).toMatchObject({
      state: "inactive",
      description: `Superseded: by ${NEW}`,
      log_url: PR_URL(12),
    });
    expect(older.check?.output.summary).toContain(
      "| production | ⚪ superseded — Superseded: by ghcr.io/acme/order-service:1.5.0 |",
    );
    // The service repository is told before the final status says the work is done.
    expect(status.body).toMatchObject({ state: "success" });
    expect(w.gh.calls().at(-1)).toBe(`POST ${R}/deployments/78/statuses`);
  });

  it("the same verdict acted on again (a restart) finds both stages written and writes nothing there", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectStatus(78);
    w.gh.scope
      .get(`${R}/issues/12/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 5, body: "✅ **Verified** ...\n\n<!-- conveyor:verdict:78 -->" }]);
    expectSourceInstalled(w.gh.scope);
    expectSourceView(w.gh.scope, NEW_SHA, [
      {
        id: 6,
        environment: "production",
        state: "success",
        description: "Verified in production: synced, healthy and stable",
        log_url: PR_URL(12),
      },
    ]);
    replaced();
    expectSourceView(w.gh.scope, OLD_SHA, [
      {
        id: 3,
        environment: "production",
        state: "inactive",
        description: `Superseded: by ${NEW}`,
        log_url: PR_URL(12),
      },
    ]);

    await actions.verified(production(), verified());

    expect(w.gh.calls().filter((c) => c.startsWith("POST") && c.includes("order-service"))).toEqual([]);
  });

  it("failed and reverted: the commit's Deployment fails, naming and linking the revert PR", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectStatus(77);
    expectSourceLookup();
    expectNewPr(w, 32);
    expectHoldIssue();
    expectVerdictComment(w, 12);
    expectSourceInstalled(w.gh.scope);
    const view = expectSourceView(w.gh.scope, NEW_SHA, [stagingVerifying()], { deploymentId: 5, env: "staging" });

    await actions.failed(verification({ source }), failed());

    expect(view.status).toMatchObject({ state: "failure", log_url: PR_URL(32) });
    expect(view.status?.description).toBe(`Failed in staging; reverted by acme/manifests#32: ${REASON}`.slice(0, 140));
    expect(view.check).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(view.check?.output.summary).toContain(
      "| staging | ↩️ reverted — Failed in staging; reverted by acme/manifests#32",
    );
  });

  it("an idle blue-green slot verified: the switch PR is opened, and the commit is not yet active there", async () => {
    const CART = "services/cart-service/overlays/staging";
    mockConfig(w.gh.scope, OWNER, REPO, "services:\n  cart-service:\n    strategy: blueGreen\n");
    expectFreezes();
    expectStatus(79);
    const pr = expectNewPr(w, 40);
    expectVerdictComment(w, 12);

    await actions.verified(
      verification({
        service: "cart-service",
        deploymentId: 79,
        app: { namespace: "argocd", name: "cart-service-staging" },
        file: `${CART}/slot-green.yaml`,
        from: "ghcr.io/acme/cart-service:1.3.0",
        to: "ghcr.io/acme/cart-service:1.4.0",
        slot: { kind: "idle", slot: "green", deployment: "cart-service-green" },
        source: { repository: "acme/cart-service", sha: NEW_SHA },
      }),
      verified(),
    );

    expect(pr.create?.title).toBe("Switch cart-service to green in staging");
    expect(pr.create?.body).toContain("Requested by: [acme/cart-service]");
    expect(w.gh.calls().filter((c) => c.includes("/repos/acme/cart-service"))).toEqual([]);
  });

  it("the next environment frozen: the commit is queued there, saying why", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectFreezes([{ number: 41, body: "**production** is frozen\n\n<!-- conveyor:freeze:production -->" }]);
    expectStatus(77);
    expectSourceInstalled(w.gh.scope);
    const queued = expectSourceView(w.gh.scope, NEW_SHA, [stagingVerifying()], {
      deploymentId: 8,
      env: "production",
      create: true,
    });
    expectVerdictComment(w, 12);
    expectSourceView(
      w.gh.scope,
      NEW_SHA,
      [{ id: 8, environment: "production", state: "queued", description: "Queued for production" }, stagingVerifying()],
      { deploymentId: 5, env: "staging" },
    );
    expectReplacedLookup();

    await actions.verified(verification({ source }), verified());

    expect(queued.create).toMatchObject({
      ref: NEW_SHA,
      environment: "production",
      production_environment: true,
      payload: { conveyor: true, service: "order-service", image: NEW, manifests: "acme/manifests" },
    });
    expect(queued.status).toEqual({
      state: "queued",
      description: "Queued for production: production is frozen (#41); no promotion until /unhold production",
      auto_inactive: false,
    });
    expect(queued.check?.output.summary).toContain(
      "| production | ⏳ queued — Queued for production: production is frozen",
    );
  });
});

describe("nothing decided is lost", () => {
  it("GitHub failing to open the promotion PR twice: retried until it works, one PR, one comment, final status last", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectFreezes();
    const status = expectStatus(77);
    w.gh.scope.post(`${R}/pulls`).times(2).reply(500, { message: "Server Error" });
    // The retries read the config and the freezes again.
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectFreezes();
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    expectFreezes();
    // After the first failed push the branch exists: the retries find it (no open PR yet).
    w.gh.scope.get(`${R}/pulls`).query(true).times(2).reply(200, []);
    const pr = expectNewPr(w, 31);
    const comment = expectVerdictComment(w, 12);
    expectReplacedLookup();

    await actions.verified(verification(), verified());

    expect(pr.create?.title).toBe("Deploy order-service 1.5.0 to production");
    expect(comment.body).toContain("Next: promotion to **production** in #31.");
    expect(status.body).toMatchObject({ state: "success" });
    expect(w.gh.calls().filter((c) => c === `POST ${R}/pulls`)).toHaveLength(3);
    expect(w.logs.filter((l) => l.msg === "acting on verdict verified failed; retrying")).toHaveLength(2);
  });

  it("a verdict acted on before (its comment is there) does not comment twice", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, "environments:\n  - name: staging\n");
    const status = expectStatus(77);
    w.gh.scope
      .get(`${R}/issues/12/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 5, body: "✅ **Verified** ...\n\n<!-- conveyor:verdict:77 -->" }]);
    expectReplacedLookup();

    await actions.verified(verification(), verified());

    expect(w.gh.calls().filter((c) => c.includes("/comments") && c.startsWith("POST"))).toEqual([]);
    expect(status.body).toMatchObject({ state: "success" });
  });
});
