// `/unhold`: resume a held PR, lift a failed rollout's hold, or unfreeze an environment, and then
// merge what was waiting where policy allows. Strict GitHub mocks in the shapes GitHub answers with;
// no renderer, so no conveyor/render check is required for a merge on any machine.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Renderer } from "../../../src/adapters/renderer.js";
import { parseConfig, type Config } from "../../../src/core/config.js";
import type { CommandRun } from "../../../src/flows/commands/execute.js";
import { unfreeze, unholdImage, unholdPr } from "../../../src/flows/commands/unhold.js";
import { signedStateMarker } from "../../../src/flows/pr-state.js";
import { flowWorld, OWNER, R, type FlowWorld } from "../../helpers/flow-world.js";

const CONFIG = ((r) => (r.ok ? r.config : undefined))(
  parseConfig({
    environments: [
      { name: "staging", autoMerge: true },
      { name: "production", autoMerge: true, approvers: ["lead"] },
      { name: "dr" },
    ],
  }),
) as Config;
const COMMENT_URL = "https://github.com/acme/manifests/issues/40#issuecomment-777";
const image = (tag: string) => `ghcr.io/acme/order-service:${tag}`;
const sha = (n: number) => String(n).padStart(40, "e");

let w: FlowWorld;
beforeEach(() => (w = flowWorld({ renderer: new Renderer({ env: { KUSTOMIZE_BIN: "/nonexistent/kustomize" } }) })));
afterEach(() => w.cleanup());

const runAs = (user = "dev"): CommandRun => ({
  services: w.services,
  scope: w.scope,
  config: CONFIG,
  user,
  facts: { histories: {}, frozen: [], approver: { production: true } },
  commentUrl: COMMENT_URL,
});

/**
 * A pull request as GitHub's pulls API returns it: Conveyor's own unless `by` says otherwise, its
 * body ending in the state marker Conveyor signed for its head.
 */
function pull(
  number: number,
  env: string,
  opts: { labels?: string[]; by?: "person"; service?: string; pushedOver?: boolean } = {},
) {
  const service = opts.service ?? "order-service";
  const person = opts.by === "person";
  return {
    number,
    html_url: `https://github.com/acme/manifests/pull/${number}`,
    state: "open",
    node_id: `PR_kwDO${number}`,
    head: {
      // Someone pushed onto the branch after Conveyor: the head is not the commit it signed for.
      sha: opts.pushedOver ? sha(number + 1000) : sha(number),
      ref: person ? "bump-order-service" : `conveyor/${env}/${service}`,
      repo: { full_name: "acme/manifests" },
    },
    base: { sha: "a".repeat(40), ref: "main", repo: { full_name: "acme/manifests", allow_auto_merge: false } },
    body: person
      ? "Bumps order-service by hand"
      : `Conveyor deploys **${service}** to **${env}**.\n\n${signedStateMarker(
          w.services,
          "acme/manifests",
          { service, env, from: image("1.4.0"), to: image("1.5.0") },
          sha(number),
        )}`,
    user: person ? { login: "alice", type: "User" } : { login: "conveyor[bot]", type: "Bot" },
    labels: (opts.labels ?? (person ? [] : ["conveyor", `env/${env}`])).map((name) => ({ name })),
    merged_by: null,
    auto_merge: null,
  };
}

function issue(number: number, label: string, body: string) {
  return { number, title: `issue ${number}`, body, state: "open", labels: [{ name: label }] };
}

const HOLD_ISSUE = issue(
  41,
  "conveyor:hold",
  "The rollout of order-service in **staging** failed: Degraded\n\nheld image: `ghcr.io/acme/order-service:1.5.0`\n\n<!-- conveyor:hold:order-service:staging -->",
);

function expectIssues(label: "conveyor:hold" | "conveyor:freeze", issues: unknown[]) {
  w.gh.scope.get(`${R}/issues`).query({ state: "open", labels: label, per_page: "100" }).reply(200, issues);
}

/** Closing one of Conveyor's issues: a comment saying who lifted it, then the close. */
function expectClosed(number: number) {
  const seen: { comment?: string } = {};
  w.gh.scope
    .post(`${R}/issues/${number}/comments`, (b: { body: string }) => ((seen.comment = b.body), true))
    .reply(201, { id: 9, html_url: `https://github.com/acme/manifests/issues/${number}#issuecomment-9` });
  w.gh.scope
    .patch(`${R}/issues/${number}`, { state: "closed", state_reason: "completed" })
    .reply(200, { number, state: "closed" });
  return seen;
}

/** What an automatic merge attempt of a Conveyor deploy PR reads: freezes, holds, checks, statuses. */
function expectMergeChecks(number: number, opts: { freezes?: unknown[]; holds?: unknown[] } = {}) {
  expectIssues("conveyor:freeze", opts.freezes ?? []);
  expectIssues("conveyor:hold", opts.holds ?? []);
  w.gh.scope
    .get(`${R}/commits/${sha(number)}/check-runs`)
    .query({ per_page: "100" })
    .reply(200, {
      total_count: 1,
      check_runs: [{ name: "conveyor/render", status: "completed", conclusion: "success" }],
    });
  w.gh.scope
    .get(`${R}/commits/${sha(number)}/status`)
    .query({ per_page: "100" })
    .reply(200, { state: "success", statuses: [] });
}

function expectMerge(number: number, status = 200) {
  w.gh.scope
    .put(`${R}/pulls/${number}/merge`, { sha: sha(number), merge_method: "merge" })
    .reply(
      status,
      status === 200
        ? { merged: true, sha: "f".repeat(40), message: "Pull Request successfully merged" }
        : { message: "Pull Request is not mergeable" },
    );
}

describe("/unhold on a pull request", () => {
  it("removes the label, lifts the failed rollout's hold, and merges the PR with the checked head", async () => {
    w.gh.scope.delete(`${R}/issues/12/labels/conveyor%3Ahold`).reply(200, [{ name: "conveyor" }]);
    expectIssues("conveyor:hold", [
      issue(39, "conveyor:hold", "<!-- conveyor:hold:payment-service:staging -->"),
      HOLD_ISSUE,
    ]);
    const lifted = expectClosed(41);
    w.gh.scope.get(`${R}/pulls/12`).reply(200, pull(12, "staging"));
    expectMergeChecks(12);
    expectMerge(12);
    const outcome = await unholdPr(runAs(), { kind: "unhold-pr", pr: 12, service: "order-service", env: "staging" });
    expect(outcome).toEqual({
      ok: true,
      text: "Resumed: removed `conveyor:hold` and lifted the hold on order-service in staging. Merged it.",
    });
    expect(lifted.comment).toBe("Lifted by @dev with `/unhold` on #12.");
  });

  it("nothing held it: says so, and a PR that still may not merge says why", async () => {
    w.gh.scope.delete(`${R}/issues/12/labels/conveyor%3Ahold`).reply(404, { message: "Label does not exist" });
    expectIssues("conveyor:hold", []);
    w.gh.scope.get(`${R}/pulls/12`).reply(200, pull(12, "dr"));
    const outcome = await unholdPr(runAs(), { kind: "unhold-pr", pr: 12, service: "order-service", env: "dr" });
    expect(outcome).toEqual({
      ok: true,
      text: "Resumed: nothing was holding this pull request. Not merged now: dr does not auto-merge.",
    });
  });

  it("a frozen environment keeps the PR waiting after the label is gone", async () => {
    w.gh.scope.delete(`${R}/issues/12/labels/conveyor%3Ahold`).reply(200, []);
    expectIssues("conveyor:hold", []);
    w.gh.scope.get(`${R}/pulls/12`).reply(200, pull(12, "staging"));
    expectMergeChecks(12, { freezes: [issue(40, "conveyor:freeze", "<!-- conveyor:freeze:staging -->")] });
    const outcome = await unholdPr(runAs(), { kind: "unhold-pr", pr: 12, service: "order-service", env: "staging" });
    expect(outcome.text).toBe(
      "Resumed: removed `conveyor:hold`. Not merged now: staging is frozen (/unhold staging to resume).",
    );
  });

  it("a Conveyor PR someone pushed to is not merged: it is labelled, told why, and the answer says so", async () => {
    w.gh.scope.delete(`${R}/issues/12/labels/conveyor%3Ahold`).reply(200, []);
    expectIssues("conveyor:hold", []);
    w.gh.scope.get(`${R}/pulls/12`).reply(200, pull(12, "staging", { pushedOver: true }));
    w.gh.scope.post(`${R}/issues/12/labels`, { labels: ["conveyor:untrusted"] }).reply(200, []);
    let told: string | undefined;
    w.gh.scope
      .post(`${R}/issues/12/comments`, (b: { body: string }) => ((told = b.body), true))
      .reply(201, { id: 2, html_url: "https://github.com/acme/manifests/pull/12#issuecomment-2" });
    const outcome = await unholdPr(runAs(), { kind: "unhold-pr", pr: 12, service: "order-service", env: "staging" });
    const reason = `its branch has a commit Conveyor did not make (head ${sha(1012).slice(0, 12)}; Conveyor pushed ${sha(12).slice(0, 12)})`;
    expect(outcome.text).toBe(`Resumed: removed \`conveyor:hold\`. Not merged now: ${reason}.`);
    expect(told).toContain(`Conveyor will not merge this pull request automatically: ${reason}.`);
  });

  it("a person's PR: the label goes, no hold is looked for and no merge is tried", async () => {
    w.gh.scope.delete(`${R}/issues/12/labels/conveyor%3Ahold`).reply(200, []);
    w.gh.scope.get(`${R}/pulls/12`).reply(200, pull(12, "staging", { by: "person", labels: ["conveyor:hold"] }));
    const outcome = await unholdPr(runAs(), { kind: "unhold-pr", pr: 12 });
    expect(outcome).toEqual({ ok: true, text: "Resumed: removed `conveyor:hold`." });
  });
});

describe("/unhold on a failed rollout's hold issue", () => {
  it("lifts the hold and merges the deploy PR that waited for it", async () => {
    expectIssues("conveyor:hold", [HOLD_ISSUE]);
    const lifted = expectClosed(41);
    w.gh.scope
      .get(`${R}/pulls`)
      .query({ state: "open", head: `${OWNER}:conveyor/staging/order-service`, per_page: "5" })
      .reply(200, [pull(14, "staging")]);
    w.gh.scope.get(`${R}/pulls/14`).reply(200, pull(14, "staging"));
    expectMergeChecks(14);
    expectMerge(14);
    const outcome = await unholdImage(runAs(), "order-service", "staging");
    expect(outcome).toEqual({
      ok: true,
      text: "Resumed: lifted the hold on order-service in **staging**. Its open deploy PR is [#14](https://github.com/acme/manifests/pull/14). Merged it.",
    });
    expect(lifted.comment).toBe("Lifted by @dev with `/unhold`.");
  });

  it("GitHub refusing the merge is reported, not hidden", async () => {
    expectIssues("conveyor:hold", [HOLD_ISSUE]);
    expectClosed(41);
    w.gh.scope
      .get(`${R}/pulls`)
      .query({ state: "open", head: `${OWNER}:conveyor/staging/order-service`, per_page: "5" })
      .reply(200, [pull(14, "staging")]);
    w.gh.scope.get(`${R}/pulls/14`).reply(200, pull(14, "staging"));
    expectMergeChecks(14);
    expectMerge(14, 405);
    const outcome = await unholdImage(runAs(), "order-service", "staging");
    expect(outcome.text).toContain("Not merged now: GitHub refused the merge (405).");
  });

  it("nothing held and no PR waiting: says so and closes nothing", async () => {
    expectIssues("conveyor:hold", [issue(39, "conveyor:hold", "<!-- conveyor:hold:payment-service:staging -->")]);
    w.gh.scope
      .get(`${R}/pulls`)
      .query({ state: "open", head: `${OWNER}:conveyor/staging/order-service`, per_page: "5" })
      .reply(200, []);
    const outcome = await unholdImage(runAs(), "order-service", "staging");
    expect(outcome).toEqual({ ok: true, text: "Resumed: order-service was not held in **staging**." });
  });
});

describe("/unhold <env>: unfreeze", () => {
  it("closes the freeze issue and merges every Conveyor PR waiting in that environment only", async () => {
    expectIssues("conveyor:freeze", [
      issue(39, "conveyor:freeze", "<!-- conveyor:freeze:staging -->"),
      issue(40, "conveyor:freeze", "**production** is frozen\n\n<!-- conveyor:freeze:production -->"),
    ]);
    const closed = expectClosed(40);
    w.gh.scope
      .get(`${R}/pulls`)
      .query({ state: "open", per_page: "100" })
      .reply(200, [
        pull(20, "production"),
        pull(21, "staging"),
        pull(22, "production", { by: "person" }),
        pull(23, "production", { service: "payment-service", labels: ["conveyor", "env/production", "conveyor:hold"] }),
        pull(24, "production", { service: "user-service" }),
        pull(25, "production", { service: "search-service", pushedOver: true }),
      ]);
    // #20 merges; #23 is on hold; #24's merge is refused by GitHub; #25 is no longer only
    // Conveyor's and is not even considered. The staging freeze stays.
    expectMergeChecks(20, { freezes: [issue(39, "conveyor:freeze", "<!-- conveyor:freeze:staging -->")] });
    expectMerge(20);
    expectMergeChecks(23, { freezes: [issue(39, "conveyor:freeze", "<!-- conveyor:freeze:staging -->")] });
    expectMergeChecks(24, { freezes: [issue(39, "conveyor:freeze", "<!-- conveyor:freeze:staging -->")] });
    expectMerge(24, 409);
    const outcome = await unfreeze(runAs("lead"), "production");
    expect(outcome).toEqual({
      ok: true,
      text: "**production** is unfrozen. Merged [#20](https://github.com/acme/manifests/pull/20).",
    });
    expect(closed.comment).toBe(`Unfrozen by @lead (${COMMENT_URL}).`);
  });

  it("an environment that was not frozen: says so, closes nothing, merges nothing", async () => {
    expectIssues("conveyor:freeze", [issue(39, "conveyor:freeze", "<!-- conveyor:freeze:staging -->")]);
    const outcome = await unfreeze(runAs("lead"), "production");
    expect(outcome).toEqual({ ok: true, text: "**production** was not frozen." });
    expect(w.gh.calls()).toHaveLength(1);
  });
});
