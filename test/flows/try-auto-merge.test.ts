// try-auto-merge: Conveyor merges its own PR when the environment auto-merges, nothing holds or
// freezes it, and its checks passed, with the exact head sha it checked. Strict GitHub mocks:
// each test states the calls the decision makes, so "did not merge" means no merge call at all.
// kubectl is installed, so the conveyor/render check is required unless a test says otherwise.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { forgetMergeFacts } from "../../src/adapters/github/merge-facts.js";
import { Renderer } from "../../src/adapters/renderer.js";
import { parseConfig, type Config } from "../../src/core/config.js";
import {
  freezeIssueText,
  freezeMarker,
  holdIssueText,
  holdMarker,
  markerTag,
  stateMarker,
} from "../../src/core/markers.js";
import { MERGE_REFUSED_LABEL, mergeRefusedMarker } from "../../src/core/merge-method.js";
import { signedStateMarker } from "../../src/flows/pr-state.js";
import { mergeIfReady, mergeWaiting, tryAutoMerge, type Candidate } from "../../src/flows/try-auto-merge.js";
import { BOT, flowWorld, OWNER, R, REPO, type FlowWorld } from "../helpers/flow-world.js";

const IMAGE = "ghcr.io/acme/order-service";
const HEAD = "d".repeat(40);
const RENDER_OK = { name: "conveyor/render", status: "completed", conclusion: "success" };

type Run = { name: string; status: string; conclusion: string | null };
type Issue = { number: number; title: string; body: string };

let w: FlowWorld;
beforeEach(() => {
  // What GitHub said about merging in a repository is kept per process: each test starts afresh.
  forgetMergeFacts();
  w = flowWorld();
});
afterEach(() => w.cleanup());

function config(yaml?: Record<string, unknown>): Config {
  const result = parseConfig(yaml ?? null);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

function candidate(extra: Partial<Candidate> = {}): Candidate {
  return {
    number: 7,
    headSha: HEAD,
    labels: ["conveyor", "env/staging"],
    service: "order-service",
    env: "staging",
    kind: "deploy",
    image: `${IMAGE}:1.5.0`,
    ...extra,
  };
}

const merge = (pr: Candidate = candidate(), cfg: Config = config(), services = w.services) =>
  tryAutoMerge(services, w.scope.gh, cfg, pr, w.scope.log);

function holdIssue(number: number, service: string, env: string, image: string): Issue {
  const text = holdIssueText({ service, env, reason: "Degraded for 2m", image });
  return { number, title: text.title, body: `${text.body}\n\n${markerTag(holdMarker(service, env))}` };
}

function freezeIssue(number: number, env: string): Issue {
  const text = freezeIssueText({
    env,
    user: "lead",
    at: "2024-05-01T10:00:00Z",
    reason: "release freeze",
    commentUrl: "https://github.com/acme/manifests/pull/1#issuecomment-1",
  });
  return { number, title: text.title, body: `${text.body}\n\n${markerTag(freezeMarker(env))}` };
}

/** The calls every merge decision makes: freezes, holds (deploys only), check runs, statuses. */
function expectGates(
  options: {
    head?: string;
    runs?: Run[];
    statuses?: Array<{ context: string; state: string }>;
    freezes?: Issue[];
    holds?: Issue[] | "not asked";
  } = {},
) {
  const head = options.head ?? HEAD;
  const runs = options.runs ?? [RENDER_OK];
  w.gh.scope
    .get(`${R}/issues`)
    .query({ state: "open", labels: "conveyor:freeze", per_page: "100" })
    .reply(200, options.freezes ?? []);
  if (options.holds !== "not asked")
    w.gh.scope
      .get(`${R}/issues`)
      .query({ state: "open", labels: "conveyor:hold", per_page: "100" })
      .reply(200, options.holds ?? []);
  w.gh.scope
    .get(`${R}/commits/${head}/check-runs`)
    .query(true)
    .reply(200, { total_count: runs.length, check_runs: runs });
  w.gh.scope
    .get(`${R}/commits/${head}/status`)
    .query(true)
    .reply(200, { state: "success", statuses: options.statuses ?? [] });
}

/** Mocks the merge; returns what GitHub was asked. */
function expectMerge(number = 7, reply: [number, object] = [200, { merged: true, sha: "f".repeat(40) }]) {
  const seen: { body?: Record<string, unknown> } = {};
  w.gh.scope.put(`${R}/pulls/${number}/merge`, (body) => ((seen.body = body), true)).reply(...reply);
  return seen;
}

const writes = () => w.gh.calls().filter((c) => !c.startsWith("GET"));

describe("tryAutoMerge", () => {
  it("merges with the exact head sha that was checked", async () => {
    expectGates();
    const merged = expectMerge();

    expect(await merge()).toEqual({ kind: "merged" });

    expect(merged.body).toEqual({ sha: HEAD, merge_method: "merge" });
    expect(w.gh.calls()).toHaveLength(5);
    expect(w.logs.some((l) => l.msg === "merged #7")).toBe(true);
  });

  it("waits while another check is still running", async () => {
    expectGates({ runs: [RENDER_OK, { name: "ci", status: "in_progress", conclusion: null }] });

    expect(await merge()).toEqual({ kind: "wait", reason: "check ci has not finished" });
    expect(writes()).toEqual([]);
  });

  it("waits while a commit status is pending", async () => {
    expectGates({ statuses: [{ context: "security/scan", state: "pending" }] });

    expect(await merge()).toEqual({ kind: "wait", reason: "status security/scan is pending" });
    expect(writes()).toEqual([]);
  });

  it("waits for the conveyor/render check when a renderer is installed and the check has not started", async () => {
    expectGates({ runs: [] });

    expect(await merge()).toEqual({ kind: "wait", reason: "check conveyor/render has not started" });
    expect(writes()).toEqual([]);
  });

  it("does not wait for conveyor/render where no renderer is installed", async () => {
    expectGates({ runs: [] });
    expectMerge();
    const noRenderer = { ...w.services, renderer: new Renderer({ env: { KUSTOMIZE_BIN: "/nonexistent/kustomize" } }) };

    expect(await merge(candidate(), config(), noRenderer)).toEqual({ kind: "merged" });
  });

  it("skips a PR whose check failed", async () => {
    expectGates({ runs: [{ name: "conveyor/render", status: "completed", conclusion: "failure" }] });

    expect(await merge()).toEqual({ kind: "skip", reason: "check conveyor/render concluded failure" });
    expect(writes()).toEqual([]);
  });

  it("skips a PR labelled conveyor:hold", async () => {
    expectGates();

    expect(await merge(candidate({ labels: ["conveyor", "env/staging", "conveyor:hold"] }))).toEqual({
      kind: "skip",
      reason: "this PR is on hold (/unhold to resume)",
    });
    expect(writes()).toEqual([]);
  });

  it("skips while the environment is frozen, but not for another environment's freeze", async () => {
    expectGates({ freezes: [freezeIssue(3, "staging")] });
    expect(await merge()).toEqual({ kind: "skip", reason: "staging is frozen (/unhold staging to resume)" });

    expectGates({ freezes: [freezeIssue(3, "production")] });
    expectMerge();
    expect(await merge()).toEqual({ kind: "merged" });
  });

  it("skips the image a failed rollout holds, and leaves the hold in place", async () => {
    expectGates({ holds: [holdIssue(4, "order-service", "staging", `${IMAGE}:1.5.0`)] });

    const outcome = await merge();

    expect(outcome).toEqual({
      kind: "skip",
      reason: `${IMAGE}:1.5.0 failed in staging before; it is held there until a newer image arrives or /unhold`,
    });
    expect(writes()).toEqual([]);
  });

  it("a newer image lifts the hold: says so on the hold issue, closes it, and merges", async () => {
    expectGates({
      holds: [
        holdIssue(4, "order-service", "staging", `${IMAGE}:1.4.9`),
        holdIssue(5, "payment-service", "staging", "ghcr.io/acme/payment-service:2.0.0"),
      ],
    });
    let comment: Record<string, unknown> | undefined;
    let close: Record<string, unknown> | undefined;
    w.gh.scope.post(`${R}/issues/4/comments`, (body) => ((comment = body), true)).reply(201, { id: 1, html_url: "c" });
    w.gh.scope.patch(`${R}/issues/4`, (body) => ((close = body), true)).reply(200, {});
    expectMerge();

    expect(await merge()).toEqual({ kind: "merged" });

    expect(comment).toEqual({ body: `Lifted: a newer image (\`${IMAGE}:1.5.0\`) arrived in #7.` });
    expect(close).toEqual({ state: "closed", state_reason: "completed" });
    expect(writes()).toEqual([`POST ${R}/issues/4/comments`, `PATCH ${R}/issues/4`, `PUT ${R}/pulls/7/merge`]);
  });

  // Regression (found in review, fixed): tryAutoMerge lifts a hold for any image that differs from the held one, not only a newer
  // one, and says "a newer image" while doing it. README and the hold issue itself promise the
  // failed image stays held "until a newer image arrives"; here 1.5.0 (older than the held 1.6.0,
  // yet newer than what staging runs after the revert, so planDeploy accepts it) closes the hold,
  // and the known-bad 1.6.0 would be merged automatically again on its next deploy event.
  it("an older image than the held one merges but leaves the hold in place", async () => {
    expectGates({ holds: [holdIssue(4, "order-service", "staging", `${IMAGE}:1.6.0`)] });
    w.gh.scope.post(`${R}/issues/4/comments`).optionally().reply(201, { id: 1, html_url: "c" });
    w.gh.scope.patch(`${R}/issues/4`).optionally().reply(200, {});
    expectMerge();

    expect(await merge()).toEqual({ kind: "merged" });
    expect(writes()).toEqual([`PUT ${R}/pulls/7/merge`]);
  });

  it.each([405, 409])(
    "treats GitHub's passing %i on merge as 'wait' the first time, not as an error, and says nothing yet",
    async (status) => {
      expectGates();
      expectMerge(7, [
        status,
        { message: status === 405 ? "Pull Request is not mergeable" : "Head branch was modified" },
      ]);

      expect(await merge()).toEqual({ kind: "wait", reason: `GitHub refused the merge (${status})` });
      expect(writes()).toEqual([`PUT ${R}/pulls/7/merge`]);
    },
  );

  it("other merge failures are errors", async () => {
    expectGates();
    expectMerge(7, [500, { message: "boom" }]);

    await expect(merge()).rejects.toMatchObject({ status: 500 });
  });

  it("turns on GitHub's auto-merge, pinned to the checked head, where the repository allows it", async () => {
    expectGates();
    let mutation: { query: string; variables: Record<string, unknown> } | undefined;
    w.gh.scope
      .post("/graphql", (body) => ((mutation = body), true))
      .reply(200, { data: { enablePullRequestAutoMerge: { clientMutationId: null } } });

    expect(await merge(candidate({ nodeId: "PR_kwDOtest7", nativeAutoMerge: true }))).toEqual({
      kind: "auto-merge-enabled",
    });
    expect(mutation?.query).toContain("enablePullRequestAutoMerge");
    expect(mutation?.query).toContain("expectedHeadOid");
    expect(mutation?.variables).toEqual({ id: "PR_kwDOtest7", head: HEAD, mergeMethod: "MERGE" });
  });

  it("never merges into an environment that does not auto-merge, and asks GitHub nothing", async () => {
    expect(await merge(candidate({ env: "production", labels: ["conveyor", "env/production"] }))).toEqual({
      kind: "skip",
      reason: "production does not auto-merge",
    });
    expect(w.gh.calls()).toEqual([]);
  });

  it("merges a revert PR without consulting holds (the revert is what a hold waits for)", async () => {
    expectGates({ holds: "not asked" });
    expectMerge(30);

    expect(await merge(candidate({ number: 30, kind: "revert", image: `${IMAGE}:1.4.0` }))).toEqual({
      kind: "merged",
    });
  });

  it("leaves revert PRs to a reviewer when rollback.autoMerge is off", async () => {
    const cfg = config({ rollback: { autoMerge: false } });

    expect(await merge(candidate({ number: 30, kind: "revert" }), cfg)).toMatchObject({ kind: "skip" });
    expect(w.gh.calls()).toEqual([]);
  });
});

// --- merge methods, refusals, merge queue -----------------------------------------------------------

const SQUASH_ONLY = { merge: false, squash: true, rebase: false };
const REBASE_ONLY = { merge: false, squash: false, rebase: true };

/** GET /repos/{owner}/{repo} with these merge settings. */
function expectRepoSettings(allowed: { merge: boolean; squash: boolean; rebase: boolean }) {
  w.gh.scope.get(R).reply(200, {
    name: REPO,
    full_name: `${OWNER}/${REPO}`,
    allow_merge_commit: allowed.merge,
    allow_squash_merge: allowed.squash,
    allow_rebase_merge: allowed.rebase,
  });
}

/** The PR's comments, as Conveyor reads them to know whether it said something already. */
function expectComments(number: number, bodies: string[]) {
  w.gh.scope
    .get(`${R}/issues/${number}/comments`)
    .query({ per_page: "100" })
    .reply(
      200,
      bodies.map((body, id) => ({ id: id + 1, body })),
    );
}

/** The explanation of a refusal: the comment and the label; returns what was posted. */
function expectExplanation(number = 7, options: { label?: boolean } = {}) {
  const seen: { comment?: string; labels?: unknown } = {};
  w.gh.scope
    .post(`${R}/issues/${number}/comments`, (body: { body: string }) => ((seen.comment = body.body), true))
    .reply(201, { id: 99, html_url: "c" });
  if (options.label !== false)
    w.gh.scope
      .post(`${R}/issues/${number}/labels`, (body) => ((seen.labels = body), true))
      .reply(200, [{ name: MERGE_REFUSED_LABEL }]);
  return seen;
}

type GraphqlCall = { query: string; variables: Record<string, unknown> };

/** One GraphQL request, answered with data or with GitHub's errors. */
function expectGraphql(reply: { data?: unknown; errors?: Array<{ type?: string; message: string }> }) {
  const seen: { call?: GraphqlCall } = {};
  w.gh.scope.post("/graphql", (body: GraphqlCall) => ((seen.call = body), true)).reply(200, reply);
  return seen;
}

describe("the merge method", () => {
  it("squash-only repository, known from the PR: squash-merges, reading nothing more", async () => {
    expectGates();
    const merged = expectMerge();

    expect(await merge(candidate({ mergeSettings: SQUASH_ONLY }))).toEqual({ kind: "merged" });
    expect(merged.body).toEqual({ sha: HEAD, merge_method: "squash" });
    expect(w.gh.calls()).toHaveLength(5);
  });

  it("rebase-only repository, known from the PR: rebase-merges", async () => {
    expectGates();
    const merged = expectMerge();

    expect(await merge(candidate({ mergeSettings: REBASE_ONLY }))).toEqual({ kind: "merged" });
    expect(merged.body).toEqual({ sha: HEAD, merge_method: "rebase" });
  });

  it("squash-only repository, not known yet: GitHub's 405 makes Conveyor read the settings and squash at once, saying nothing on the PR; the next PR squashes straight away", async () => {
    expectGates();
    const refused = expectMerge(7, [405, { message: "Merge commits are not allowed on this repository." }]);
    expectRepoSettings(SQUASH_ONLY);
    const merged = expectMerge();

    expect(await merge()).toEqual({ kind: "merged" });
    expect(refused.body).toEqual({ sha: HEAD, merge_method: "merge" });
    expect(merged.body).toEqual({ sha: HEAD, merge_method: "squash" });
    expect(w.gh.calls()).toEqual([
      `GET ${R}/issues`,
      `GET ${R}/issues`,
      `GET ${R}/commits/${HEAD}/check-runs`,
      `GET ${R}/commits/${HEAD}/status`,
      `PUT ${R}/pulls/7/merge`,
      `GET ${R}`,
      `PUT ${R}/pulls/7/merge`,
    ]);

    // The repository's settings are kept for a few minutes: the next PR is squashed at once.
    const next = "e".repeat(40);
    expectGates({ head: next });
    const again = expectMerge(8);
    expect(await merge(candidate({ number: 8, headSha: next }))).toEqual({ kind: "merged" });
    expect(again.body).toEqual({ sha: next, merge_method: "squash" });
    expect(w.gh.calls().filter((c) => c === `GET ${R}`)).toHaveLength(1);
  });

  it("rebase-only repository, not known yet: learns it the same way", async () => {
    expectGates();
    expectMerge(7, [405, { message: "Merge commits are not allowed on this repository." }]);
    expectRepoSettings(REBASE_ONLY);
    const merged = expectMerge();

    expect(await merge()).toEqual({ kind: "merged" });
    expect(merged.body).toEqual({ sha: HEAD, merge_method: "rebase" });
  });

  it("merge.method in the config wins over the repository's preference, and needs no settings", async () => {
    expectGates();
    const merged = expectMerge();

    const cfg = config({ merge: { method: "rebase" } });
    expect(await merge(candidate({ mergeSettings: { merge: true, squash: true, rebase: true } }), cfg)).toEqual({
      kind: "merged",
    });
    expect(merged.body).toEqual({ sha: HEAD, merge_method: "rebase" });
  });

  it("merge.method the repository forbids: no merge attempt, explained once on the PR", async () => {
    expectGates();
    expectComments(7, []);
    const said = expectExplanation();

    const cfg = config({ merge: { method: "merge" } });
    const outcome = await merge(candidate({ mergeSettings: SQUASH_ONLY }), cfg);

    expect(outcome).toMatchObject({ kind: "skip" });
    expect(said.comment).toContain(
      "Conveyor did not merge this pull request: `merge.method` in .github/conveyor.yml is merge, but this repository does not allow merge commits (it allows squash merges).",
    );
    expect(said.labels).toEqual({ labels: [MERGE_REFUSED_LABEL] });
    expect(writes()).not.toContain(`PUT ${R}/pulls/7/merge`);
  });

  it("merge.method GitHub refuses (settings unknown): explained at once, not switched behind the config's back", async () => {
    expectGates();
    expectMerge(7, [405, { message: "Squash merges are not allowed on this repository." }]);
    expectComments(7, []);
    const said = expectExplanation();

    const outcome = await merge(candidate(), config({ merge: { method: "squash" } }));

    expect(outcome).toEqual({ kind: "skip", reason: "GitHub refused the merge (405)" });
    expect(said.comment).toContain(
      "GitHub refused to squash-merge it (405): `Squash merges are not allowed on this repository.`",
    );
    expect(w.gh.calls().filter((c) => c === `GET ${R}`)).toEqual([]);
  });
});

describe("a refused merge is explained once, and not retried in a loop", () => {
  const REVIEW = "At least 1 approving review is required by reviewers with write access.";

  it("405 from branch protection: one comment and a label, then later check events leave that head alone", async () => {
    expectGates();
    expectMerge(7, [405, { message: REVIEW }]);
    expectComments(7, []);
    const said = expectExplanation();

    expect(await merge()).toEqual({ kind: "skip", reason: "GitHub refused the merge (405)" });
    expect(said.comment).toContain(`GitHub refused to merge it (405): \`${REVIEW}\``);
    expect(said.comment).toContain(mergeRefusedMarker(HEAD));
    expect(said.labels).toEqual({ labels: [MERGE_REFUSED_LABEL] });

    // A later check run on the same head: the label and the comment say it was refused; no merge, no word.
    expectGates();
    expectComments(7, ["LGTM", said.comment as string]);
    const labelled = candidate({ labels: ["conveyor", "env/staging", MERGE_REFUSED_LABEL] });
    expect(await merge(labelled)).toMatchObject({ kind: "skip" });
    expect(writes()).toEqual([`PUT ${R}/pulls/7/merge`, `POST ${R}/issues/7/comments`, `POST ${R}/issues/7/labels`]);
  });

  it("a newer head on a labelled PR is tried again", async () => {
    const newer = "9".repeat(40);
    expectGates({ head: newer });
    expectComments(7, [`refused before\n\n<!-- ${mergeRefusedMarker(HEAD)} -->`]);
    const merged = expectMerge();

    const labelled = candidate({ headSha: newer, labels: ["conveyor", "env/staging", MERGE_REFUSED_LABEL] });
    expect(await merge(labelled)).toEqual({ kind: "merged" });
    expect(merged.body).toEqual({ sha: newer, merge_method: "merge" });
  });

  it("a passing refusal of the same head twice is explained on the second, once", async () => {
    expectGates();
    expectMerge(7, [405, { message: "Pull Request is not mergeable" }]);
    expect(await merge()).toEqual({ kind: "wait", reason: "GitHub refused the merge (405)" });

    expectGates();
    expectMerge(7, [405, { message: "Pull Request is not mergeable" }]);
    expectComments(7, []);
    const said = expectExplanation();
    expect(await merge()).toEqual({ kind: "skip", reason: "GitHub refused the merge (405)" });
    expect(said.comment).toContain("`Pull Request is not mergeable`");
  });

  it("when the label was taken off and GitHub refuses the same head again, it is not said twice", async () => {
    expectGates();
    expectMerge(7, [405, { message: REVIEW }]);
    expectComments(7, [`said\n\n<!-- ${mergeRefusedMarker(HEAD)} -->`]);
    w.gh.scope.post(`${R}/issues/7/labels`).reply(200, [{ name: MERGE_REFUSED_LABEL }]);

    expect(await merge()).toMatchObject({ kind: "skip" });
    expect(writes()).toEqual([`PUT ${R}/pulls/7/merge`, `POST ${R}/issues/7/labels`]);
  });
});

describe("the merge queue (GraphQL: strict mocks, the local forge has none)", () => {
  const queued = { kind: "enqueued", reason: "it is in the merge queue, which merges it when its turn comes" };

  it("merge.queue: true enqueues the PR, pinned to the checked head, instead of merging it", async () => {
    expectGates();
    const mutation = expectGraphql({ data: { enqueuePullRequest: { mergeQueueEntry: { position: 2 } } } });

    const cfg = config({ merge: { queue: true } });
    expect(await merge(candidate({ nodeId: "PR_kwDOtest7" }), cfg)).toEqual(queued);
    expect(mutation.call?.query).toContain("enqueuePullRequest");
    expect(mutation.call?.query).toContain("expectedHeadOid");
    expect(mutation.call?.variables).toEqual({ id: "PR_kwDOtest7", head: HEAD });
    expect(writes()).toEqual(["POST /graphql"]);
  });

  it("GitHub's refusal to merge into a queue-protected branch: enqueues at once, and the next PR goes straight to the queue", async () => {
    expectGates();
    expectMerge(7, [
      405,
      { message: "Repository rule violations found\n\nChanges must be made through the merge queue" },
    ]);
    const first = expectGraphql({ data: { enqueuePullRequest: { mergeQueueEntry: { position: 1 } } } });

    expect(await merge(candidate({ nodeId: "PR_kwDOtest7" }))).toEqual(queued);
    expect(first.call?.variables).toEqual({ id: "PR_kwDOtest7", head: HEAD });

    const next = "e".repeat(40);
    expectGates({ head: next });
    const second = expectGraphql({ data: { enqueuePullRequest: { mergeQueueEntry: { position: 2 } } } });
    expect(await merge(candidate({ number: 8, headSha: next, nodeId: "PR_kwDOtest8" }))).toEqual(queued);
    expect(second.call?.variables).toEqual({ id: "PR_kwDOtest8", head: next });
    expect(writes()).toEqual([`PUT ${R}/pulls/7/merge`, "POST /graphql", "POST /graphql"]);
  });

  it("a PR already in the queue counts as queued", async () => {
    expectGates();
    expectGraphql({
      data: { enqueuePullRequest: null },
      errors: [{ type: "UNPROCESSABLE", message: "Pull request is already queued to merge" }],
    });

    expect(await merge(candidate({ nodeId: "PR_kwDOtest7" }), config({ merge: { queue: true } }))).toEqual(queued);
  });

  it("the queue refusing the PR is explained once on it", async () => {
    expectGates();
    expectGraphql({
      data: { enqueuePullRequest: null },
      errors: [{ type: "UNPROCESSABLE", message: 'Required status check "ci" is expected.' }],
    });
    expectComments(7, []);
    const said = expectExplanation();

    const outcome = await merge(candidate({ nodeId: "PR_kwDOtest7" }), config({ merge: { queue: true } }));
    expect(outcome).toEqual({
      kind: "skip",
      reason: 'GitHub refused to add it to the merge queue: Required status check "ci" is expected.',
    });
    expect(said.comment).toContain(
      'GitHub refused to add it to the merge queue: `Required status check "ci" is expected.`',
    );
  });

  it("a GraphQL error that is not an answer (rate limit) is an error, not a refusal", async () => {
    expectGates();
    expectGraphql({ data: null, errors: [{ type: "RATE_LIMITED", message: "API rate limit exceeded" }] });

    await expect(merge(candidate({ nodeId: "PR_kwDOtest7" }), config({ merge: { queue: true } }))).rejects.toThrow(
      /rate limit/,
    );
    expect(writes()).toEqual(["POST /graphql"]);
  });
});

describe("GitHub's auto-merge, with the method the repository allows", () => {
  it("squash-only: auto-merge is enabled with SQUASH", async () => {
    expectGates();
    const mutation = expectGraphql({ data: { enablePullRequestAutoMerge: { clientMutationId: null } } });

    expect(
      await merge(candidate({ nodeId: "PR_kwDOtest7", nativeAutoMerge: true, mergeSettings: SQUASH_ONLY })),
    ).toEqual({ kind: "auto-merge-enabled" });
    expect(mutation.call?.variables).toEqual({ id: "PR_kwDOtest7", head: HEAD, mergeMethod: "SQUASH" });
  });

  it("a PR that can merge right now ('clean status') is merged directly", async () => {
    expectGates();
    expectGraphql({
      data: { enablePullRequestAutoMerge: null },
      errors: [{ type: "UNPROCESSABLE", message: "Pull request Pull request is in clean status" }],
    });
    const merged = expectMerge();

    expect(
      await merge(candidate({ nodeId: "PR_kwDOtest7", nativeAutoMerge: true, mergeSettings: SQUASH_ONLY })),
    ).toEqual({ kind: "merged" });
    expect(merged.body).toEqual({ sha: HEAD, merge_method: "squash" });
  });
});

interface PrShape {
  number?: number;
  head?: string;
  ref?: string;
  author?: { login: string; type: string };
  /** What the marker says it moves (default: order-service in staging). */
  moves?: { service: string; env: string };
  /** Signed by Conveyor for the PR's head (default), for another head, or not signed at all. */
  signature?: "for-head" | { forHead: string } | "none";
  headRepo?: string;
  state?: string;
  labels?: string[];
  allowAutoMerge?: boolean;
  /** The base repository's allow_merge_commit / allow_squash_merge / allow_rebase_merge, as GitHub puts them in the PR. */
  methods?: { merge: boolean; squash: boolean; rebase: boolean };
}

/** A pull request as GitHub returns it; by default Conveyor's own, untouched deploy PR #7 into staging. */
function prJson(shape: PrShape = {}) {
  const number = shape.number ?? 7;
  const head = shape.head ?? HEAD;
  const moves = shape.moves ?? { service: "order-service", env: "staging" };
  const move = { ...moves, from: `${IMAGE}:1.4.0`, to: `${IMAGE}:1.5.0` };
  const signature = shape.signature ?? "for-head";
  const marker =
    signature === "none"
      ? stateMarker(move)
      : signedStateMarker(w.services, `${OWNER}/${REPO}`, move, signature === "for-head" ? head : signature.forHead);
  return {
    number,
    state: shape.state ?? "open",
    html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`,
    node_id: `PR_${number}`,
    body: `Conveyor deploys **${moves.service}**.\n\n${marker}`,
    user: shape.author ?? { login: BOT, type: "Bot" },
    labels: (shape.labels ?? ["conveyor", `env/${moves.env}`]).map((name) => ({ name })),
    head: {
      sha: head,
      ref: shape.ref ?? `conveyor/${moves.env}/${moves.service}`,
      repo: { full_name: shape.headRepo ?? `${OWNER}/${REPO}` },
    },
    base: {
      ref: "main",
      sha: "e".repeat(40),
      repo: {
        allow_auto_merge: shape.allowAutoMerge ?? false,
        ...(shape.methods
          ? {
              allow_merge_commit: shape.methods.merge,
              allow_squash_merge: shape.methods.squash,
              allow_rebase_merge: shape.methods.rebase,
            }
          : {}),
      },
    },
    auto_merge: null,
  };
}

const ifReady = (number = 7) => mergeIfReady(w.services, w.scope.gh, config(), number, w.scope.log);

describe("mergeIfReady", () => {
  it("reads the PR and merges it when it is Conveyor's and untouched", async () => {
    w.gh.scope.get(`${R}/pulls/7`).reply(200, prJson());
    expectGates();
    const merged = expectMerge();

    expect(await ifReady()).toEqual({ kind: "merged" });
    expect(merged.body).toEqual({ sha: HEAD, merge_method: "merge" });
  });

  it("reads the merge methods the repository allows from the PR itself: squash-only, no extra call", async () => {
    w.gh.scope.get(`${R}/pulls/7`).reply(200, prJson({ methods: SQUASH_ONLY }));
    expectGates();
    const merged = expectMerge();

    expect(await ifReady()).toEqual({ kind: "merged" });
    expect(merged.body).toEqual({ sha: HEAD, merge_method: "squash" });
    expect(w.gh.calls()).toHaveLength(6);
  });

  it.each<[string, PrShape]>([
    ["a person opened it", { author: { login: "dev", type: "User" } }],
    ["another app opened it on a look-alike branch", { author: { login: "imposter[bot]", type: "Bot" } }],
    ["it comes from a branch that is not Conveyor's", { ref: "feature/faster-orders" }],
    ["it comes from a fork", { headRepo: "mallory/manifests" }],
    ["it is closed", { state: "closed" }],
  ])("ignores the PR when %s: one read, no merge", async (_name, shape) => {
    w.gh.scope.get(`${R}/pulls/7`).reply(200, prJson(shape));

    expect(await ifReady()).toBeUndefined();
    expect(w.gh.calls()).toEqual([`GET ${R}/pulls/7`]);
  });

  it.each<[string, PrShape, string]>([
    ["its marker was edited", { signature: "none" }, "its state marker is missing or was edited"],
    [
      "its marker names another service than its branch",
      { ref: "conveyor/staging/order-service", moves: { service: "payment-service", env: "staging" } },
      "its state marker names payment-service in staging, not its branch's order-service in staging",
    ],
    [
      "someone pushed to its branch",
      { signature: { forHead: "a".repeat(40) } },
      `its branch has a commit Conveyor did not make (head ${HEAD.slice(0, 12)}; Conveyor pushed ${"a".repeat(12)})`,
    ],
  ])("never merges its own PR when %s: labels it and says why, once", async (_name, shape, reason) => {
    w.gh.scope.get(`${R}/pulls/7`).reply(200, prJson(shape));
    let labels: Record<string, unknown> | undefined;
    let comment: Record<string, unknown> | undefined;
    w.gh.scope.post(`${R}/issues/7/labels`, (body) => ((labels = body), true)).reply(200, []);
    w.gh.scope.post(`${R}/issues/7/comments`, (body) => ((comment = body), true)).reply(201, { id: 1, html_url: "c" });

    expect(await ifReady()).toEqual({ kind: "skip", reason: expect.stringContaining(reason) });

    expect(labels).toEqual({ labels: ["conveyor:untrusted"] });
    expect(comment?.body).toContain(`Conveyor will not merge this pull request automatically: ${reason}`);
    expect(comment?.body).toContain("`/retry`");
    expect(writes()).not.toContain(`PUT ${R}/pulls/7/merge`);
  });

  it("says nothing more on a PR already labelled conveyor:untrusted", async () => {
    w.gh.scope
      .get(`${R}/pulls/7`)
      .reply(200, prJson({ signature: "none", labels: ["conveyor", "env/staging", "conveyor:untrusted"] }));

    expect(await ifReady()).toMatchObject({ kind: "skip" });
    expect(w.gh.calls()).toEqual([`GET ${R}/pulls/7`]);
  });
});

describe("mergeWaiting (after an unfreeze)", () => {
  it("merges only Conveyor's untouched open PRs into that environment, each gated on its own checks", async () => {
    const heads = { 7: "1".repeat(40), 8: "2".repeat(40), 9: "3".repeat(40), 10: "4".repeat(40), 11: "5".repeat(40) };
    w.gh.scope
      .get(`${R}/pulls`)
      .query({ state: "open", per_page: "100" })
      .reply(200, [
        prJson({ number: 7, head: heads[7] }),
        prJson({ number: 8, head: heads[8], moves: { service: "order-service", env: "production" } }),
        prJson({
          number: 9,
          head: heads[9],
          author: { login: "dev", type: "User" },
          moves: { service: "user-service", env: "staging" },
        }),
        prJson({ number: 10, head: heads[10], moves: { service: "payment-service", env: "staging" } }),
        prJson({ number: 11, head: heads[11], moves: { service: "user-service", env: "staging" }, signature: "none" }),
      ]);
    expectGates({ head: heads[7] });
    const merged = expectMerge(7);
    expectGates({
      head: heads[10],
      runs: [{ name: "conveyor/render", status: "completed", conclusion: "failure" }],
    });

    expect(await mergeWaiting(w.services, w.scope.gh, config(), "staging", w.scope.log)).toEqual([7]);

    expect(merged.body).toEqual({ sha: heads[7], merge_method: "merge" });
    expect(writes()).toEqual([`PUT ${R}/pulls/7/merge`]);
    expect(w.gh.calls().some((c) => [heads[8], heads[9], heads[11]].some((h) => c.includes(h)))).toBe(false);
  });
});
