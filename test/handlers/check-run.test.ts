// Auto-merge after a check finishes, through Probot with strict GitHub mocks: the exact calls, the
// sha that was checked, and every reason not to merge.
import { beforeEach, describe, expect, it } from "vitest";
import { mockConfig, mockGitHub, mockInstallationToken, type GitHubMock } from "../helpers/github-mock.js";
import { createTestApp, type TestApp } from "../helpers/probot.js";
import { example, withRepo } from "../helpers/payloads.js";
import { signedMarker } from "../helpers/markers.js";

const OWNER = "acme";
const REPO = "manifests";
const INSTALLATION = 99;
const HEAD = "d".repeat(40);
const MOVE = { service: "api", env: "staging", from: "r/api:1", to: "r/api:2" };
/** The body Conveyor wrote: its state marker, signed for the head it pushed. */
const MARKER = signedMarker(MOVE, HEAD);

let gh: GitHubMock;
let app: TestApp;

beforeEach(() => {
  gh = mockGitHub();
  app = createTestApp();
});

function checkCompleted(branch: string, number = 7) {
  const payload = withRepo(
    example("check_run", (p) => p.action === "completed"),
    { owner: OWNER, repo: REPO, cloneUrl: "file:///nonexistent", installationId: INSTALLATION },
  );
  const run = payload.check_run as Record<string, unknown>;
  run.name = "conveyor/render";
  run.head_sha = HEAD;
  run.pull_requests = [{ number, head: { ref: branch, sha: HEAD }, base: { ref: "main", sha: "e".repeat(40) } }];
  return app.probot.receive({ id: `check-${number}`, name: "check_run", payload: payload as never });
}

function pr(overrides: Record<string, unknown> = {}) {
  return {
    number: 7,
    state: "open",
    node_id: "PR_kwDOtest7",
    body: `Deploy api\n\n${MARKER}`,
    user: { login: "conveyor[bot]", type: "Bot" },
    labels: [{ name: "conveyor" }, { name: "env/staging" }],
    head: { sha: HEAD, ref: "conveyor/staging/api" },
    base: { ref: "main", repo: { allow_auto_merge: false } },
    auto_merge: null,
    ...overrides,
  };
}

function mockGates(
  runs: Array<{ name: string; status: string; conclusion: string | null }>,
  issues: { freeze?: unknown[]; hold?: unknown[] } = {},
) {
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/issues`)
    .query({ state: "open", labels: "conveyor:freeze", per_page: "100" })
    .reply(200, issues.freeze ?? []);
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/issues`)
    .query({ state: "open", labels: "conveyor:hold", per_page: "100" })
    .reply(200, issues.hold ?? []);
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/commits/${HEAD}/check-runs`)
    .query(true)
    .reply(200, { total_count: runs.length, check_runs: runs });
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/commits/${HEAD}/status`)
    .query(true)
    .reply(200, { state: "success", statuses: [] });
}

const renderPassed = [{ name: "conveyor/render", status: "completed", conclusion: "success" }];

describe("auto-merge of Conveyor PRs when a check finishes", () => {
  it("merges a staging PR with the exact sha that was checked: 8 calls (2 find the config)", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get(`/repos/${OWNER}/${REPO}/pulls/7`).reply(200, pr());
    mockGates(renderPassed);
    let merge: Record<string, unknown> | undefined;
    gh.scope
      .put(`/repos/${OWNER}/${REPO}/pulls/7/merge`, (body) => ((merge = body), true))
      .reply(200, { merged: true, sha: "f".repeat(40) });
    await checkCompleted("conveyor/staging/api");
    expect(merge).toEqual({ sha: HEAD, merge_method: "merge" });
    expect(gh.calls()).toHaveLength(8);
  });

  it("uses GitHub's auto-merge, pinned to the checked head, where the repo allows it", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope
      .get(`/repos/${OWNER}/${REPO}/pulls/7`)
      .reply(200, pr({ base: { ref: "main", repo: { allow_auto_merge: true } } }));
    mockGates(renderPassed);
    let mutation: { query: string; variables: Record<string, unknown> } | undefined;
    gh.scope
      .post("/graphql", (body) => ((mutation = body), true))
      .reply(200, { data: { enablePullRequestAutoMerge: { clientMutationId: null } } });
    await checkCompleted("conveyor/staging/api");
    expect(mutation?.query).toContain("enablePullRequestAutoMerge");
    expect(mutation?.variables).toEqual({ id: "PR_kwDOtest7", head: HEAD, mergeMethod: "MERGE" });
  });

  it.each([
    ["the render check failed", [{ name: "conveyor/render", status: "completed", conclusion: "failure" }], {}],
    ["another check is still running", [...renderPassed, { name: "ci", status: "in_progress", conclusion: null }], {}],
    ["the render check has not run", [], {}],
    [
      "the environment is frozen",
      renderPassed,
      { freeze: [{ number: 3, body: "frozen\n\n<!-- conveyor:freeze:staging -->" }] },
    ],
    [
      "the image failed here before",
      renderPassed,
      { hold: [{ number: 4, body: "held image: `r/api:2`\n\n<!-- conveyor:hold:api:staging -->" }] },
    ],
  ])("does not merge when %s", async (_name, runs, issues) => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get(`/repos/${OWNER}/${REPO}/pulls/7`).reply(200, pr());
    mockGates(runs, issues);
    await checkCompleted("conveyor/staging/api");
  });

  it("never merges into an environment that needs a reviewer, and does not read its PR", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    await checkCompleted("conveyor/production/api");
    expect(gh.calls().filter((c) => !c.includes("conveyor.yml"))).toEqual([]);
  });

  it("never merges a PR Conveyor did not open, even from a conveyor/ branch", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get(`/repos/${OWNER}/${REPO}/pulls/7`).reply(200, pr({ user: { login: "mallory", type: "User" } }));
    await checkCompleted("conveyor/staging/api");
  });

  it("ignores checks on branches that are not Conveyor's: no API call", async () => {
    await checkCompleted("feature/x");
    expect(gh.calls()).toEqual([]);
  });
});
