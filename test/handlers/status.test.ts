// status -> a commit status finished on the head of a Conveyor branch: its open PR may merge now.
// Through Probot with strict GitHub mocks (every call stated, none unused) and the renderer found
// on this machine, so the conveyor/render check is required before a merge.
import { beforeEach, describe, expect, it } from "vitest";
import { Signer } from "../../src/adapters/signing.js";
import { stateMarker, stateSigningText, type PrState } from "../../src/core/markers.js";
import { mockConfig, mockGitHub, mockInstallationToken, type GitHubMock } from "../helpers/github-mock.js";
import { example, withRepo } from "../helpers/payloads.js";
import { createTestApp, TEST_MARKER_KEY, type TestApp } from "../helpers/probot.js";

const OWNER = "acme";
const REPO = "manifests";
const INSTALLATION = 4242;
const R = `/repos/${OWNER}/${REPO}`;
const HEAD = "d".repeat(40);
const BRANCH = "conveyor/staging/order-service";

/** The state marker Conveyor writes when it pushes `head`: signed with the app's key. */
function signedMarker(env: string, head = HEAD): string {
  const state: PrState = {
    service: "order-service",
    env,
    from: "ghcr.io/acme/order-service:1.4.0",
    to: "ghcr.io/acme/order-service:1.5.0",
    head,
  };
  const sig = new Signer(TEST_MARKER_KEY).sign(stateSigningText(`${OWNER}/${REPO}`, state));
  return stateMarker({ ...state, sig });
}

let gh: GitHubMock;
let app: TestApp;
let delivery = 0;

beforeEach(() => {
  gh = mockGitHub();
  app = createTestApp();
});

function status(state: string, branches: Array<{ name: string; sha: string }>, context = "ci/build") {
  const payload = withRepo(example("status"), {
    owner: OWNER,
    repo: REPO,
    cloneUrl: "file:///nonexistent",
    installationId: INSTALLATION,
  });
  Object.assign(payload, {
    sha: HEAD,
    state,
    context,
    branches: branches.map((b) => ({
      name: b.name,
      commit: { sha: b.sha, url: `https://api.github.com${R}/commits/${b.sha}` },
      protected: false,
    })),
  });
  return app.probot.receive({ id: `status-${++delivery}`, name: "status", payload: payload as never });
}

function pr(number = 7) {
  return {
    number,
    html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`,
    state: "open",
    node_id: `PR_${number}`,
    body: `Deploy order-service 1.5.0\n\n${signedMarker("staging")}`,
    user: { login: "conveyor[bot]", type: "Bot" },
    labels: [{ name: "conveyor" }, { name: "env/staging" }],
    head: { sha: HEAD, ref: BRANCH, repo: { full_name: `${OWNER}/${REPO}` } },
    base: { ref: "main", sha: "e".repeat(40), repo: { allow_auto_merge: false } },
    auto_merge: null,
  };
}

function expectOpenPr(branch: string, prs: unknown[]) {
  gh.scope
    .get(`${R}/pulls`)
    .query({ state: "open", head: `${OWNER}:${branch}`, per_page: "5" })
    .reply(200, prs);
}

/** Freeze and hold issues, then the head's check runs and commit statuses. */
function expectGates(statuses: Array<{ context: string; state: string }>) {
  gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:freeze", per_page: "100" }).reply(200, []);
  gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:hold", per_page: "100" }).reply(200, []);
  gh.scope
    .get(`${R}/commits/${HEAD}/check-runs`)
    .query(true)
    .reply(200, {
      total_count: 1,
      check_runs: [{ name: "conveyor/render", status: "completed", conclusion: "success" }],
    });
  gh.scope
    .get(`${R}/commits/${HEAD}/status`)
    .query(true)
    .reply(200, { state: statuses.every((s) => s.state === "success") ? "success" : "failure", statuses });
}

describe("statuses Conveyor ignores", () => {
  it("a pending status: no API call", async () => {
    await status("pending", [{ name: BRANCH, sha: HEAD }]);
    expect(gh.calls()).toEqual([]);
  });

  it("a finished status on a branch that is not Conveyor's: no API call", async () => {
    await status("success", [
      { name: "main", sha: HEAD },
      { name: "feature/conveyor-staging", sha: HEAD },
    ]);
    expect(gh.calls()).toEqual([]);
  });

  it("a finished status on an older commit of a Conveyor branch (its head moved on): no API call", async () => {
    await status("success", [{ name: BRANCH, sha: "9".repeat(40) }]);
    expect(gh.calls()).toEqual([]);
  });
});

describe("a finished status on a Conveyor branch's head", () => {
  it("finds the branch's open PR and merges it with the exact head that was checked (9 calls)", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    expectOpenPr(BRANCH, [pr(7)]);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get(`${R}/pulls/7`).reply(200, pr(7));
    expectGates([{ context: "ci/build", state: "success" }]);
    let merge: Record<string, unknown> | undefined;
    gh.scope.put(`${R}/pulls/7/merge`, (b) => ((merge = b), true)).reply(200, { merged: true, sha: "f".repeat(40) });

    await status("success", [
      { name: "main", sha: "1".repeat(40) },
      { name: BRANCH, sha: HEAD },
    ]);

    expect(merge).toEqual({ sha: HEAD, merge_method: "merge" });
    expect(gh.calls()).toHaveLength(9);
  });

  it("a failed status keeps the PR open: the gates are read, no merge", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    expectOpenPr(BRANCH, [pr(7)]);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get(`${R}/pulls/7`).reply(200, pr(7));
    expectGates([{ context: "ci/build", state: "failure" }]);

    await status("failure", [{ name: BRANCH, sha: HEAD }]);

    expect(gh.calls().some((c) => c.startsWith("PUT"))).toBe(false);
  });

  it("a revert branch's PR merges too, where rollback.autoMerge allows", async () => {
    const revertBranch = "conveyor/revert/staging/order-service";
    const revertPr = {
      ...pr(9),
      labels: [{ name: "conveyor" }, { name: "env/staging" }, { name: "conveyor:revert" }],
      head: { sha: HEAD, ref: revertBranch, repo: { full_name: `${OWNER}/${REPO}` } },
    };
    mockInstallationToken(gh.scope, INSTALLATION);
    expectOpenPr(revertBranch, [revertPr]);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get(`${R}/pulls/9`).reply(200, revertPr);
    // Reverts are not held: only freezes are looked up.
    gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:freeze", per_page: "100" }).reply(200, []);
    gh.scope
      .get(`${R}/commits/${HEAD}/check-runs`)
      .query(true)
      .reply(200, {
        total_count: 1,
        check_runs: [{ name: "conveyor/render", status: "completed", conclusion: "success" }],
      });
    gh.scope.get(`${R}/commits/${HEAD}/status`).query(true).reply(200, { state: "success", statuses: [] });
    let merge: Record<string, unknown> | undefined;
    gh.scope.put(`${R}/pulls/9/merge`, (b) => ((merge = b), true)).reply(200, { merged: true });

    await status("success", [{ name: revertBranch, sha: HEAD }]);

    expect(merge).toEqual({ sha: HEAD, merge_method: "merge" });
  });

  it("with no open PR for the branch: one look, no merge", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    expectOpenPr(BRANCH, []);
    await status("success", [{ name: BRANCH, sha: HEAD }]);
    expect(gh.calls().filter((c) => !c.includes("conveyor.yml"))).toEqual([`GET ${R}/pulls`]);
  });

  it("on a branch into an environment that needs a reviewer: no PR looked up", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    await status("success", [{ name: "conveyor/production/api", sha: HEAD }]);
    expect(gh.calls().filter((c) => !c.includes("conveyor.yml"))).toEqual([]);
  });

  it("a PR on a Conveyor branch that a person opened is never merged", async () => {
    const human = { ...pr(7), user: { login: "mallory", type: "User" } };
    mockInstallationToken(gh.scope, INSTALLATION);
    expectOpenPr(BRANCH, [human]);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get(`${R}/pulls/7`).reply(200, human);
    await status("success", [{ name: BRANCH, sha: HEAD }]);
    expect(gh.calls().some((c) => c.startsWith("PUT"))).toBe(false);
  });
});
