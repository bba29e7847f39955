// E2E gates between staging's verification and production's PR: the gate's workflow is dispatched
// once, recorded on the Deployment, read back when its run finishes (a webhook's nudge, a poll, the
// deadline, or after a restart); a pass opens the promotion PR with the run's link, a failure or a
// timeout holds the image and tells the PR; /unhold of that hold overrides the gate.
// Real git (a bare remote with the change merged), strict GitHub mocks.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import type { Owed } from "../../src/core/owed.js";
import type { Verification } from "../../src/core/verification.js";
import { VerdictActor } from "../../src/flows/act-on-verdict.js";
import type { CommandRun } from "../../src/flows/commands/execute.js";
import { unholdImage } from "../../src/flows/commands/unhold.js";
import { GateWaits } from "../../src/runtime/gate-waits.js";
import {
  flowWorld,
  mergeStagingChange,
  INSTALLATION,
  OWNER,
  R,
  REPO,
  recordingLog,
  stagingVerification,
  type FlowWorld,
} from "../helpers/flow-world.js";
import { mockConfig } from "../helpers/github-mock.js";
import { expectDeploymentsOfImage, expectNewPr, expectVerdictComment } from "../helpers/verdict-mocks.js";

const OLD = "ghcr.io/acme/order-service:1.4.0";
const NEW = "ghcr.io/acme/order-service:1.5.0";
const SERVICE_REPO = "/repos/acme/order-service";
const RUN_URL = "https://github.com/acme/order-service/actions/runs/9001";
const YAML = [
  "environments:",
  "  - name: staging",
  "    autoMerge: true",
  "    gates:",
  "      - workflow: e2e.yml",
  "        timeout: 30m",
  "  - name: production",
  "",
].join("\n");
const CONFIG = ((r) => (r.ok ? r.config : undefined))(
  parseConfig({
    environments: [
      { name: "staging", autoMerge: true, gates: [{ workflow: "e2e.yml", timeout: "30m" }] },
      { name: "production" },
    ],
  }),
) as Config;

let w: FlowWorld;
let actor: VerdictActor;
let base: string;
let revision: string;

beforeEach(() => {
  w = flowWorld();
  actor = new VerdictActor(w.services, recordingLog(w.logs), { retryDelayMs: () => 5 });
  // A long poll: in these tests only a nudge (the webhook) or an explicit act looks again.
  w.services.gateWaits = new GateWaits(({ v, owed }) => void actor.act(v, owed, { recorded: true }), 3_600_000);
  ({ base, revision } = mergeStagingChange(w));
});
afterEach(() => {
  w.services.gateWaits?.stop();
  w.cleanup();
});

function verification(overrides: Partial<Verification> = {}): Verification {
  return stagingVerification(w, { revision, base }, { source: { repository: "acme/order-service" }, ...overrides });
}

const idle = async () => void (await w.services.background.idle());
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

/** What every look at the verdict reads first: the config and the freezes of production. */
function expectVerdictReads() {
  mockConfig(w.gh.scope, OWNER, REPO, YAML);
  w.gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:freeze", per_page: "100" }).reply(200, []);
}

function expectStatuses(count: number) {
  const seen: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++)
    w.gh.scope
      .post(`${R}/deployments/77/statuses`, (b) => (seen.push(b as Record<string, unknown>), true))
      .reply(201, {});
  return seen;
}

/** The gate's repository is in this installation (asked once a minute at most). */
function expectServiceRepoInstalled() {
  w.gh.scope.get(`${SERVICE_REPO}/installation`).reply(200, { id: INSTALLATION });
}

function expectDispatch(runId = 9001) {
  const seen: { body?: Record<string, unknown> } = {};
  w.gh.scope
    .post(`${SERVICE_REPO}/actions/workflows/e2e.yml/dispatches`, (b) => ((seen.body = b), true))
    .reply(200, {
      workflow_run_id: runId,
      run_url: `https://api.github.com${SERVICE_REPO}/actions/runs/${runId}`,
      html_url: RUN_URL,
    });
  return seen;
}

function run(status: string, conclusion: string | null, extra: Record<string, unknown> = {}) {
  return {
    id: 9001,
    status,
    conclusion,
    html_url: RUN_URL,
    display_title: "E2E conveyor-staging-77-1",
    created_at: new Date().toISOString(),
    ...extra,
  };
}

function expectRun(status: string, conclusion: string | null) {
  w.gh.scope.get(`${SERVICE_REPO}/actions/runs/9001`).reply(200, run(status, conclusion));
}

function expectHoldIssue() {
  const seen: { create?: { title: string; body: string; labels: string[] } } = {};
  w.gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:hold", per_page: "100" }).reply(200, []);
  w.gh.scope.post(`${R}/issues`, (b) => ((seen.create = b), true)).reply(201, { number: 90 });
  return seen;
}

/** The verdict as the verifier hands it over (the owed verdict is recorded first). */
const verifiedNow = (v = verification()) => actor.act(v, { kind: "verified", at: "2026-01-01T10:04:30.000Z" });

describe("staging verified, with a gate", () => {
  it("dispatches the gate with what was verified, records it on the Deployment, and waits: no PR yet", async () => {
    expectVerdictReads();
    const statuses = expectStatuses(2);
    expectServiceRepoInstalled();
    const dispatch = expectDispatch();
    expectRun("in_progress", null);

    await verifiedNow();
    await idle();

    expect(dispatch.body).toEqual({
      ref: "main",
      inputs: {
        image: NEW,
        environment: "staging",
        service: "order-service",
        manifests_commit: revision,
        correlation_id: "conveyor-staging-77-1",
      },
      return_run_details: true,
    });
    expect(statuses[0]).toMatchObject({ state: "in_progress", description: "Verdict: verified; acting on it" });
    expect(statuses[1]).toMatchObject({ state: "in_progress" });
    expect(String(statuses[1]?.description)).toMatch(/^Verdict: verified; E2E gates since \d{4}-\d\d-\d\dT/);
    expect(w.services.gateWaits?.has(77)).toBe(true);
    expect(w.remote.branches()).toEqual(["main"]);
  });

  it("the run passes: its webhook's nudge opens production's PR with the run's link as evidence", async () => {
    expectVerdictReads();
    expectStatuses(2);
    expectServiceRepoInstalled();
    expectDispatch();
    expectRun("queued", null);
    await verifiedNow();
    await idle();

    // A run of another repository with the same title does not count.
    expect(w.services.gateWaits?.nudge("conveyor-staging-77-1", "mallory/order-service")).toBe(false);
    expectVerdictReads();
    expectRun("completed", "success");
    const pr = expectNewPr(w, 31);
    const comment = expectVerdictComment(w, 12);
    expectDeploymentsOfImage(w); // the replaced image's commit, superseded: none recorded here
    const final = expectStatuses(1);
    expect(w.services.gateWaits?.nudge("conveyor-staging-77-1", "acme/order-service")).toBe(true);
    await idle();

    expect(pr.create?.title).toBe("Deploy order-service 1.5.0 to production");
    expect(pr.create?.body).toContain(
      [
        "### Evidence",
        "- Verified in **staging**: synced, healthy and stable (deployment 77, #12).",
        `- E2E gate \`e2e.yml\` passed in staging: success, [run 9001](${RUN_URL})`,
      ].join("\n"),
    );
    expect(comment.body).toContain("Next: promotion to **production** in #31.");
    expect(final[0]).toMatchObject({ state: "success", description: "Synced, healthy and stable" });
    expect(w.services.gateWaits?.has(77)).toBe(false);
  });

  it("the run fails: no promotion, the image is held, the PR is told with the run's link, the Deployment fails", async () => {
    expectVerdictReads();
    const statuses = expectStatuses(3);
    expectServiceRepoInstalled();
    expectDispatch();
    expectRun("completed", "failure");
    const hold = expectHoldIssue();
    const comment = expectVerdictComment(w, 12);

    await verifiedNow();
    await idle();

    const reason = `e2e.yml ended failure (${RUN_URL})`;
    expect(comment.body).toBe(
      [
        `❌ **E2E gate failed**: order-service \`${NEW}\` is verified in **staging**, but ${reason}.`,
        "",
        "No promotion to **production**. The image is held (#90): `/unhold` there (approvers) overrides the gate and opens the promotion. `/retry` here verifies the change again and re-runs the gates.",
        "",
        "<!-- conveyor:verdict:77 -->",
      ].join("\n"),
    );
    expect(hold.create?.title).toBe("Conveyor: order-service is held in staging");
    expect(hold.create?.labels).toEqual(["conveyor:hold"]);
    expect(hold.create?.body).toContain(`its E2E gate did not pass: ${reason}`);
    expect(hold.create?.body).toContain(`held image: \`${NEW}\``);
    expect(hold.create?.body).toContain("<!-- conveyor:gate-hold:77 -->");
    expect(statuses[2]).toMatchObject({ state: "failure", description: `E2E gate failed: ${reason}` });
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.services.gateWaits?.has(77)).toBe(false);
  });

  it("the workflow cannot be dispatched (GitHub says 404): the gate fails at once, nothing is waited for", async () => {
    expectVerdictReads();
    const statuses = expectStatuses(2);
    expectServiceRepoInstalled();
    w.gh.scope.post(`${SERVICE_REPO}/actions/workflows/e2e.yml/dispatches`).reply(404, { message: "Not Found" });
    expectHoldIssue();
    const comment = expectVerdictComment(w, 12);

    await verifiedNow();
    await idle();

    expect(comment.body).toContain("but e2e.yml could not be started in acme/order-service");
    expect(statuses[1]).toMatchObject({ state: "failure" });
    expect(w.services.gateWaits?.has(77)).toBe(false);
  });

  it("the deploy event named no repository for {source}: the gate fails without a dispatch, and says what to send", async () => {
    expectVerdictReads();
    expectStatuses(2);
    expectHoldIssue();
    const comment = expectVerdictComment(w, 12);

    await verifiedNow(verification({ source: undefined }));
    await idle();

    expect(comment.body).toContain("send source.repository");
  });
});

describe("after a restart (the Deployment says the gates run since a time)", () => {
  const resumed = (since: string): Extract<Owed, { kind: "verified" }> => ({ kind: "verified", gates: { since } });

  function expectRunList(runs: Array<Record<string, unknown>>) {
    w.gh.scope
      .get(`${SERVICE_REPO}/actions/workflows/e2e.yml/runs`)
      .query({ event: "workflow_dispatch", per_page: "50" })
      .reply(200, { total_count: runs.length, workflow_runs: runs });
  }

  it("reads the run back by its correlation id, without dispatching again, and promotes when it passed", async () => {
    expectVerdictReads();
    expectServiceRepoInstalled();
    expectRunList([
      run("completed", "failure", { id: 9002, display_title: "E2E conveyor-staging-77-10" }),
      run("completed", "success"),
    ]);
    const pr = expectNewPr(w, 31);
    expectVerdictComment(w, 12);
    expectDeploymentsOfImage(w);
    const final = expectStatuses(1);

    await actor.act(verification(), resumed(minutesAgo(5)), { recorded: true });
    await idle();

    expect(pr.create?.body).toContain(`[run 9001](${RUN_URL})`);
    expect(final[0]).toMatchObject({ state: "success" });
  });

  it("still running past the timeout: the gate fails, the image is held", async () => {
    expectVerdictReads();
    expectServiceRepoInstalled();
    expectRunList([run("in_progress", null, { created_at: minutesAgo(40) })]);
    expectHoldIssue();
    const comment = expectVerdictComment(w, 12);
    const final = expectStatuses(1);

    await actor.act(verification(), resumed(minutesAgo(40)), { recorded: true });
    await idle();

    expect(comment.body).toContain(`but e2e.yml did not finish within 30m (${RUN_URL}, in_progress).`);
    expect(final[0]).toMatchObject({
      state: "failure",
      description: `E2E gate failed: e2e.yml did not finish within 30m (${RUN_URL}, in_progress)`,
    });
  });

  it("no run found yet, before the deadline: waits again, and writes nothing", async () => {
    expectVerdictReads();
    expectServiceRepoInstalled();
    // An older run with this id (before the gates started) is not this gate's.
    expectRunList([run("completed", "success", { created_at: minutesAgo(60) })]);

    await actor.act(verification(), resumed(minutesAgo(5)), { recorded: true });
    await idle();

    expect(w.services.gateWaits?.has(77)).toBe(true);
  });
});

describe("/unhold on the hold a failed gate made", () => {
  const runAs = (user = "lead"): CommandRun => ({
    services: w.services,
    scope: w.scope,
    config: CONFIG,
    user,
    facts: { histories: {}, frozen: [], approver: { staging: true } },
    commentUrl: "https://github.com/acme/manifests/issues/90#issuecomment-1",
  });

  function expectHoldClosed(body: string) {
    w.gh.scope
      .get(`${R}/issues`)
      .query({ state: "open", labels: "conveyor:hold", per_page: "100" })
      .reply(200, [
        { number: 90, title: "held", body: `${body}\n\n<!-- conveyor:hold:order-service:staging -->`, labels: [] },
      ]);
    w.gh.scope.post(`${R}/issues/90/comments`).reply(201, { id: 2 });
    w.gh.scope.patch(`${R}/issues/90`).reply(200, {});
    w.gh.scope.get(`${R}/pulls`).query(true).reply(200, []);
  }

  function expectHistory(state: string, description: string, id = 77) {
    w.gh.scope
      .get(`${R}/deployments`)
      .query({ task: "deploy", per_page: "50", environment: "staging" })
      .reply(200, [
        {
          id,
          sha: revision,
          environment: "staging",
          created_at: "2026-01-01T10:00:00Z",
          payload: { conveyor: true, service: "order-service", to: NEW, from: OLD, pr: 12 },
        },
      ]);
    w.gh.scope.get(`${R}/deployments/${id}/statuses`).query({ per_page: "1" }).reply(200, [{ state, description }]);
  }

  it("overrides the gate: the promotion PR opens, its evidence naming who overrode which failure", async () => {
    expectHoldClosed("held image\n\n<!-- conveyor:gate-hold:77 -->");
    expectHistory("failure", `E2E gate failed: e2e.yml ended failure (${RUN_URL})`);
    const pr = expectNewPr(w, 31);

    const outcome = await unholdImage(runAs(), "order-service", "staging");

    expect(outcome.text).toBe(
      "Resumed: lifted the hold on order-service in **staging**. E2E gate overridden: Opened [#31](https://github.com/acme/manifests/pull/31): `ghcr.io/acme/order-service:1.5.0` to **production**.",
    );
    expect(pr.create?.body).toContain(
      `Verified in **staging** (deployment 77, #12); its E2E gate failed (E2E gate failed: e2e.yml ended failure (${RUN_URL})) and @lead overrode it with /unhold.`,
    );
  });

  it("a hold that names a Deployment that is not the newest failed gate overrides nothing", async () => {
    expectHoldClosed("<!-- conveyor:gate-hold:77 -->");
    expectHistory("failure", 'Deployment "order-service" exceeded its progress deadline');

    const outcome = await unholdImage(runAs(), "order-service", "staging");

    expect(outcome.text).toContain("The E2E gate is not overridden: deployment 77 is no longer the newest");
    expect(w.remote.branches()).toEqual(["main"]);
  });

  it("a failed rollout's hold (no gate) is lifted as before, with no extra call", async () => {
    expectHoldClosed("held image");
    const outcome = await unholdImage(runAs(), "order-service", "staging");
    expect(outcome.text).toBe("Resumed: lifted the hold on order-service in **staging**.");
  });
});
