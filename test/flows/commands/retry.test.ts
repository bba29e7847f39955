// `/retry`: on an open Conveyor PR, the edit is re-run, then its conveyor/render check, then a merge
// attempt; on a merged PR whose Deployment failed, the verification is started again. Real bare
// remote and workspace, strict GitHub mocks, no renderer (the check concludes neutral the same
// way on any machine), and a real Verifier over an Argo CD source that knows no application.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Renderer } from "../../../src/adapters/renderer.js";
import type { ArgoSource } from "../../../src/core/argo-source.js";
import type { Action, DeploymentFact } from "../../../src/core/command-plan.js";
import { parseConfig, type Config } from "../../../src/core/config.js";
import type { CommandRun } from "../../../src/flows/commands/execute.js";
import { retryEdit, retryVerification } from "../../../src/flows/commands/retry.js";
import { signedState, signedStateMarker } from "../../../src/flows/pr-state.js";
import type { Services } from "../../../src/flows/services.js";
import { Verifier } from "../../../src/runtime/verifier.js";
import { mockConfig } from "../../helpers/github-mock.js";
import { flowWorld, OWNER, R, recordingLog, REPO, type FlowWorld } from "../../helpers/flow-world.js";

const CONFIG_YAML = "environments:\n  - name: staging\n    autoMerge: true\n  - name: production\n";
const CONFIG = ((r) => (r.ok ? r.config : undefined))(
  parseConfig({ environments: [{ name: "staging", autoMerge: true }, { name: "production" }] }),
) as Config;
const FILE = "services/order-service/overlays/staging/kustomization.yaml";
const BRANCH = "conveyor/staging/order-service";
const image = (tag: string) => `ghcr.io/acme/order-service:${tag}`;

let w: FlowWorld;
let verifier: Verifier | undefined;
beforeEach(() => (w = flowWorld({ renderer: new Renderer({ env: { KUSTOMIZE_BIN: "/nonexistent/kustomize" } }) })));
afterEach(() => {
  verifier?.stop();
  verifier = undefined;
  w.cleanup();
});

const runWith = (services: Services = w.services): CommandRun => ({
  services,
  scope: w.scope,
  config: CONFIG,
  user: "dev",
  facts: { histories: {}, frozen: [], approver: {} },
  commentUrl: "https://github.com/acme/manifests/pull/14#issuecomment-777",
});

const withTag = (tag: string, on = "main") =>
  (w.remote.show(on, FILE) as string).replace(/newTag: "[^"]+"/, `newTag: "${tag}"`);

const RETRY: Extract<Action, { kind: "retry-edit" }> = {
  kind: "retry-edit",
  pr: 14,
  service: "order-service",
  env: "staging",
  image: image("1.5.0"),
};

/** The state marker Conveyor signs into its PR body for the commit it pushed. */
const marker = (head: string) =>
  signedStateMarker(
    w.services,
    "acme/manifests",
    { service: "order-service", env: "staging", from: image("1.4.0"), to: image("1.5.0") },
    head,
  );

/**
 * PR #14 as GitHub holds it: its head is the bot branch's, and its body and labels change when
 * Conveyor updates the PR or removes a label, so later reads see what was written.
 */
function githubPr(initial: { body: string; labels: string[] }) {
  const pr = { ...initial };
  const json = () => ({
    number: 14,
    html_url: "https://github.com/acme/manifests/pull/14",
    state: "open",
    node_id: "PR_kwDO14",
    head: { sha: w.remote.head(BRANCH), ref: BRANCH, repo: { full_name: `${OWNER}/${REPO}` } },
    base: {
      sha: w.remote.head("main"),
      ref: "main",
      repo: { full_name: `${OWNER}/${REPO}`, allow_auto_merge: false },
    },
    body: pr.body,
    user: { login: "conveyor[bot]", type: "Bot" },
    labels: pr.labels.map((name) => ({ name })),
    merged_by: null,
    auto_merge: null,
  });
  w.gh.scope
    .get(`${R}/pulls`)
    .query({ state: "open", head: `${OWNER}:${BRANCH}`, per_page: "5" })
    .reply(200, () => [json()]);
  return {
    pr,
    /** The next read of the PR (pulls.get). */
    expectGet: () => w.gh.scope.get(`${R}/pulls/14`).reply(200, () => json()),
    expectUpdate: () =>
      w.gh.scope.patch(`${R}/pulls/14`, (b: { body: string }) => ((pr.body = b.body), true)).reply(200, () => json()),
    expectLabelRemoved: (name: string) =>
      w.gh.scope.delete(`${R}/issues/14/labels/${encodeURIComponent(name)}`).reply(200, () => {
        pr.labels = pr.labels.filter((l) => l !== name);
        return pr.labels.map((l) => ({ name: l }));
      }),
  };
}

/** The render check: created running on the head, then completed (neutral: no renderer here). */
function expectRenderCheck() {
  const seen: { headSha?: string; completed?: { conclusion: string; output: { title: string } } } = {};
  w.gh.scope
    .post(`${R}/check-runs`, (b: { name: string; head_sha: string; status: string }) => {
      seen.headSha = b.head_sha;
      return b.name === "conveyor/render" && b.status === "in_progress";
    })
    .reply(201, { id: 99, html_url: "https://github.com/acme/manifests/runs/99" });
  mockConfig(w.gh.scope, OWNER, REPO, CONFIG_YAML);
  w.gh.scope.patch(`${R}/check-runs/99`, (b) => ((seen.completed = b), true)).reply(200, { id: 99 });
  return seen;
}

/** The merge attempt's reads: freezes, holds, the head's check runs and statuses. */
function expectMergeAttempt() {
  const seen: { checkedSha?: string } = {};
  for (const label of ["conveyor:freeze", "conveyor:hold"])
    w.gh.scope.get(`${R}/issues`).query({ state: "open", labels: label, per_page: "100" }).reply(200, []);
  w.gh.scope
    .get((uri) => /\/commits\/[0-9a-f]{40}\/check-runs\?/.test(uri))
    .reply(200, (uri) => {
      seen.checkedSha = /\/commits\/([0-9a-f]{40})\//.exec(uri)?.[1];
      return {
        total_count: 1,
        check_runs: [{ name: "conveyor/render", status: "completed", conclusion: "neutral" }],
      };
    });
  w.gh.scope.get((uri) => /\/commits\/[0-9a-f]{40}\/status\?/.test(uri)).reply(200, { state: "pending", statuses: [] });
  return seen;
}

describe("/retry on an open Conveyor PR: the edit", () => {
  it("a branch someone pushed to is rebuilt from main, the check re-runs, the PR is trusted again and merges", async () => {
    w.remote.git("branch", BRANCH, "main");
    const conveyors = w.remote.commit(BRANCH, { [FILE]: withTag("1.5.0") }, "deploy 1.5.0");
    const theirs = w.remote.commit(
      BRANCH,
      { [FILE]: withTag("1.5.0", BRANCH).replace("count: 1", "count: 5") },
      "scale it up while we are here",
    );
    const gh = githubPr({
      body: `Conveyor deploys **order-service** to **staging**.\n\n${marker(conveyors)}`,
      labels: ["conveyor", "env/staging", "conveyor:untrusted"],
    });
    gh.expectUpdate();
    gh.expectGet();
    const check = expectRenderCheck();
    gh.expectLabelRemoved("conveyor:untrusted");
    gh.expectGet();
    const merge = expectMergeAttempt();
    let merged: { sha: string } | undefined;
    w.gh.scope
      .put(`${R}/pulls/14/merge`, (b) => ((merged = b), true))
      .reply(200, { merged: true, sha: "f".repeat(40), message: "Pull Request successfully merged" });

    const outcome = await retryEdit(runWith(), RETRY);

    const head = w.remote.head(BRANCH) as string;
    expect(outcome).toEqual({
      ok: true,
      text: "Re-ran the edit and the `conveyor/render` check. Updated [#14](https://github.com/acme/manifests/pull/14): `ghcr.io/acme/order-service:1.5.0` to **staging**. Merged it.",
    });
    // Only Conveyor's change is on the branch now, on top of main; the other commit is gone.
    expect(head).not.toBe(theirs);
    expect(w.remote.git("rev-parse", `${BRANCH}^`).trim()).toBe(w.remote.head("main"));
    expect(w.remote.show(BRANCH, FILE)).toBe(withTag("1.5.0"));
    expect(signedState(w.services, "acme/manifests", gh.pr.body)?.head).toBe(head);
    expect(gh.pr.labels).toEqual(["conveyor", "env/staging"]);
    expect(check.headSha).toBe(head);
    expect(check.completed).toMatchObject({
      status: "completed",
      conclusion: "neutral",
      output: { title: "No renderer available" },
    });
    expect(merge.checkedSha).toBe(head);
    expect(merged).toEqual({ sha: head, merge_method: "merge" });
  });

  it("an edit already in place is not redone; the check still re-runs and a held PR is not merged", async () => {
    w.remote.git("branch", BRANCH, "main");
    const head = w.remote.commit(BRANCH, { [FILE]: withTag("1.5.0") }, "deploy 1.5.0");
    const gh = githubPr({
      body: `Conveyor deploys **order-service** to **staging**.\n\n${marker(head)}`,
      labels: ["conveyor", "env/staging", "conveyor:hold"],
    });
    gh.expectGet();
    const check = expectRenderCheck();
    gh.expectGet();
    expectMergeAttempt();

    const outcome = await retryEdit(runWith(), RETRY);

    expect(w.remote.head(BRANCH)).toBe(head);
    expect(check.headSha).toBe(head);
    expect(outcome).toEqual({
      ok: true,
      text: "Re-ran the edit and the `conveyor/render` check. Nothing to do: PR #14 already proposes ghcr.io/acme/order-service:1.5.0. Not merged now: this PR is on hold (/unhold to resume).",
    });
  });

  it("an edit that is refused now stops there: no check, no merge attempt, the branch as it was", async () => {
    // Someone pushed onto the branch, and since then staging moved on to 1.6.0 by another change:
    // re-planned from main, 1.5.0 would now be a downgrade.
    w.remote.git("branch", BRANCH, "main");
    const conveyors = w.remote.commit(BRANCH, { [FILE]: withTag("1.5.0") }, "deploy 1.5.0");
    const theirs = w.remote.commit(BRANCH, { "notes.txt": "hi" }, "a person's commit");
    w.remote.commit("main", { [FILE]: withTag("1.6.0") }, "deploy 1.6.0");
    githubPr({
      body: `Conveyor deploys.\n\n${marker(conveyors)}`,
      labels: ["conveyor", "env/staging", "conveyor:untrusted"],
    });

    const outcome = await retryEdit(runWith(), RETRY);

    expect(outcome).toEqual({
      ok: false,
      text: "Refused: ghcr.io/acme/order-service:1.5.0 is older than ghcr.io/acme/order-service:1.6.0 in staging; an older version never replaces a newer one (send a rollback instead).",
    });
    expect(w.remote.head(BRANCH)).toBe(theirs);
  });
});

/** An Argo CD that has no application yet: verifications wait (the sync deadline is minutes away). */
const silentArgo: ArgoSource = {
  start: async () => undefined,
  stop: async () => undefined,
  onApplication: () => () => undefined,
  getApplication: () => undefined,
  rolloutsFor: () => [],
  refresh: async () => undefined,
  stats: () => ({ watchConnections: 0, reconnects: 0, relists: 0 }),
};

const FAILED: DeploymentFact = {
  id: 501,
  sha: "c".repeat(40),
  service: "order-service",
  env: "staging",
  to: image("1.5.0"),
  from: image("1.4.0"),
  base: "b".repeat(40),
  file: FILE,
  pr: 12,
  state: "failure",
  createdAt: "2025-06-02T09:14:05Z",
};

function startedVerifier(): Verifier {
  const fail = async () => {
    throw new Error("no verdict is expected in this test");
  };
  verifier = new Verifier({
    source: silentArgo,
    outcomes: { verified: fail, failed: fail, superseded: fail },
    isAncestor: async () => false,
    log: recordingLog(w.logs),
  });
  verifier.start();
  return verifier;
}

describe("/retry on a merged PR whose verification failed", () => {
  it("without an Argo CD source it says so, and records nothing", async () => {
    const outcome = await retryVerification(runWith(), "order-service", "staging", FAILED);
    expect(outcome).toEqual({
      ok: false,
      text: "Cannot re-run the verification: no Argo CD source is configured.",
    });
    expect(w.gh.calls()).toEqual([]);
  });

  it("with one: a new Deployment marked as a retry of the failed one, in progress, and watched", async () => {
    const v = startedVerifier();
    let created:
      { ref: string; environment: string; description: string; payload: Record<string, unknown> } | undefined;
    w.gh.scope
      .post(`${R}/deployments`, (b) => ((created = b), true))
      .reply(201, {
        id: 601,
        sha: FAILED.sha,
        environment: "staging",
        created_at: "2025-06-02T10:00:00Z",
        url: `https://api.github.com${R}/deployments/601`,
      });
    w.gh.scope
      .post(`${R}/deployments/601/statuses`, {
        state: "in_progress",
        description: "Watching Argo CD application order-service-staging (retry)",
        auto_inactive: false,
      })
      .reply(201, { id: 1, state: "in_progress" });

    const outcome = await retryVerification(
      runWith({ ...w.services, verifier: v }),
      "order-service",
      "staging",
      FAILED,
    );

    expect(outcome).toEqual({
      ok: true,
      text: "Verifying order-service in **staging** again (deployment 601, Argo CD application `order-service-staging`).",
    });
    expect(created).toMatchObject({
      ref: FAILED.sha,
      environment: "staging",
      description: "order-service: ghcr.io/acme/order-service:1.5.0 (retry)",
      payload: { conveyor: true, service: "order-service", retryOf: 501, pr: 12, file: FILE, to: image("1.5.0") },
    });
    expect(v.inFlight().map((x) => ({ deployment: x.deploymentId, pr: x.pr?.number, revision: x.revision }))).toEqual([
      { deployment: 601, pr: 12, revision: FAILED.sha },
    ]);
  });

  it("a failed revert, retried, is verified as a revert again (so it is never promoted)", async () => {
    const v = startedVerifier();
    let payload: Record<string, unknown> | undefined;
    w.gh.scope
      .post(`${R}/deployments`, (b: { payload: Record<string, unknown> }) => ((payload = b.payload), true))
      .reply(201, { id: 602, sha: FAILED.sha, environment: "staging", created_at: "2025-06-02T10:00:00Z", url: "u" });
    w.gh.scope.post(`${R}/deployments/602/statuses`).reply(201, { id: 1, state: "in_progress" });
    const revert: DeploymentFact = { ...FAILED, to: image("1.4.0"), from: image("1.5.0"), revert: true };

    const outcome = await retryVerification(
      runWith({ ...w.services, verifier: v }),
      "order-service",
      "staging",
      revert,
    );

    expect(outcome.ok).toBe(true);
    expect(payload).toMatchObject({ revert: true, retryOf: 501, to: image("1.4.0") });
    expect(v.inFlight()[0]?.pr?.labels).toEqual(["conveyor:revert"]);
  });

  it("a failed idle blue-green slot, retried, is judged by that slot again (and switched to, not promoted, when good)", async () => {
    const v = startedVerifier();
    let payload: Record<string, unknown> | undefined;
    w.gh.scope
      .post(`${R}/deployments`, (b: { payload: Record<string, unknown> }) => ((payload = b.payload), true))
      .reply(201, { id: 603, sha: FAILED.sha, environment: "staging", created_at: "2025-06-02T10:00:00Z", url: "u" });
    w.gh.scope.post(`${R}/deployments/603/statuses`).reply(201, { id: 1, state: "in_progress" });
    const slot = { kind: "idle" as const, slot: "green" as const, deployment: "order-service-green" };

    const outcome = await retryVerification(runWith({ ...w.services, verifier: v }), "order-service", "staging", {
      ...FAILED,
      slot,
    });

    expect(outcome.ok).toBe(true);
    expect(payload).toMatchObject({ retryOf: 501, slot });
    expect(v.inFlight()[0]?.slot).toEqual(slot);
  });

  // Regression (found in review, fixed): the same "no Argo CD source is configured" answer is given when the failed Deployment
  // does not record its overlay file (a Deployment from an older Conveyor), though a source is
  // configured: the person is sent to fix the wrong thing.
  it("with a source, a Deployment without its overlay file is not blamed on a missing Argo CD source", async () => {
    const v = startedVerifier();
    const outcome = await retryVerification(runWith({ ...w.services, verifier: v }), "order-service", "staging", {
      ...FAILED,
      file: null,
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.text).not.toContain("no Argo CD source is configured");
  });
});
