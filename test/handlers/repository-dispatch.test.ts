// repository_dispatch -> PR, through Probot, with strict GitHub mocks and a real bare git repo as
// the manifests remote. Each test states the GitHub calls its flow makes.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createManifestsRemote, type ManifestsRemote } from "../../sandbox/manifests-remote.js";
import { mockConfig, mockGitHub, mockInstallationToken, type GitHubMock } from "../helpers/github-mock.js";
import { createTestApp, type TestApp } from "../helpers/probot.js";
import { expectSourceView as expectSourceViewOf } from "../helpers/source-view-mock.js";
import { dispatchPayload, type RepoTarget } from "../helpers/payloads.js";

const OWNER = "acme";
const REPO = "manifests";
const INSTALLATION = 4242;
const OVERLAY = "services/order-service/overlays/staging/kustomization.yaml";
const BRANCH = "conveyor/staging/order-service";
const SHA = "a".repeat(40);

let remote: ManifestsRemote;
let gh: GitHubMock;
let app: TestApp;
let target: RepoTarget;
let delivery = 0;

beforeEach(() => {
  remote = createManifestsRemote();
  gh = mockGitHub();
  app = createTestApp();
  target = { owner: OWNER, repo: REPO, cloneUrl: remote.url, installationId: INSTALLATION };
});

afterEach(() => {
  remote.cleanup();
});

/** Delivers the event, then waits for the PR work the app does after answering it. */
async function dispatch(eventType: string, clientPayload: unknown, id = `delivery-${++delivery}`) {
  await app.probot.receive({
    id,
    name: "repository_dispatch",
    payload: dispatchPayload(target, eventType, clientPayload) as never,
  });
  await app.settled();
}

/** A PR as GitHub returns it; `body` is what Conveyor wrote when it opened it (with its signed marker). */
function prResponse(number: number, head = SHA, body = "") {
  return {
    number,
    html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`,
    head: { sha: head, ref: BRANCH },
    body,
    user: { login: "conveyor[bot]" },
    labels: [{ name: "conveyor" }, { name: "env/staging" }],
  };
}

/** Mocks the calls that open a new PR; returns the captured request bodies. */
function expectNewPr(number: number) {
  const seen: { create?: Record<string, unknown>; labels?: Record<string, unknown> } = {};
  gh.scope
    .post(`/repos/${OWNER}/${REPO}/pulls`, (body) => ((seen.create = body), true))
    .reply(201, prResponse(number))
    .post(`/repos/${OWNER}/${REPO}/issues/${number}/labels`, (body) => ((seen.labels = body), true))
    .reply(200, []);
  return seen;
}

const OLD_SHA = "0".repeat(39) + "1";
const MID_SHA = "c".repeat(40);

/**
 * The service repository's history as GitHub tells it: staging's image was built from OLD_SHA
 * (its Deployment says so), and the compare of OLD_SHA...SHA.
 */
function expectHistory(status: "ahead" | "behind") {
  const seen = { compared: false };
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/deployments`)
    .query({ task: "deploy", per_page: "100" })
    .reply(200, [
      {
        id: 9,
        sha: "e".repeat(40),
        environment: "staging",
        created_at: "2026-01-01T00:00:00Z",
        payload: {
          conveyor: true,
          service: "order-service",
          to: "ghcr.io/acme/order-service:1.4.0",
          source: { repository: "acme/order-service", sha: OLD_SHA },
        },
      },
    ]);
  gh.scope.get("/repos/acme/order-service/installation").reply(200, { id: INSTALLATION });
  const commit = (sha: string, message: string, login?: string) => ({
    sha,
    commit: { message, author: { name: "Mona Lisa", email: "m@example.com", date: "2026-01-01T00:00:00Z" } },
    author: login ? { login } : null,
  });
  gh.scope.get(`/repos/acme/order-service/compare/${OLD_SHA}...${SHA}`).reply(200, () => {
    seen.compared = true;
    return status === "ahead"
      ? {
          status,
          ahead_by: 2,
          behind_by: 0,
          commits: [commit(MID_SHA, "Add totals\n\nA body @nobody reads"), commit(SHA, "Fix rounding (#7)", "hubot")],
        }
      : { status, ahead_by: 0, behind_by: 3, commits: [] };
  });
  if (status === "ahead") {
    gh.scope
      .get(`/repos/acme/order-service/commits/${MID_SHA}/pulls`)
      .query(true)
      .reply(200, [])
      .get(`/repos/acme/order-service/commits/${SHA}/pulls`)
      .query(true)
      .reply(200, [{ number: 7, title: "Fix rounding", merge_commit_sha: SHA, merged_at: "2026-01-01T00:00:00Z" }]);
  }
  return seen;
}

/**
 * The service repository's view: its commit's Deployment for staging, made queued while the PR is
 * being made, then PR open on it; one check run, made then updated.
 */
function expectSourceView() {
  const queued = expectSourceViewOf(gh.scope, SHA, [], { deploymentId: 501, env: "staging", create: true });
  const open = expectSourceViewOf(
    gh.scope,
    SHA,
    [{ id: 501, environment: "staging", state: "queued", description: "Queued for staging" }],
    { deploymentId: 501, env: "staging", checkRun: 1 },
  );
  return { queued, open };
}

/** The refusal reported as a failed check run on the sender's commit (same installation). */
function expectSourceCheckRun(options: { installationKnown?: boolean } = {}) {
  const seen: { check?: Record<string, unknown> } = {};
  // Asked once a minute at most: a deploy that already read the source repository knows it.
  if (!options.installationKnown)
    gh.scope.get("/repos/acme/order-service/installation").reply(200, { id: INSTALLATION });
  gh.scope
    .post("/repos/acme/order-service/check-runs", (body) => ((seen.check = body), true))
    .reply(201, { id: 1, html_url: "https://github.com/acme/order-service/runs/1" });
  return seen;
}

function expectIssueUpsert(existing: Array<{ number: number; body: string; title: string }> = []) {
  const seen: { create?: Record<string, unknown>; update?: Record<string, unknown> } = {};
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/issues`)
    .query({ state: "open", labels: "conveyor:error", per_page: "100" })
    .reply(200, existing);
  if (existing.length) {
    gh.scope
      .patch(`/repos/${OWNER}/${REPO}/issues/${existing[0]?.number}`, (body) => ((seen.update = body), true))
      .reply(200, {});
  } else {
    gh.scope.post(`/repos/${OWNER}/${REPO}/issues`, (body) => ((seen.create = body), true)).reply(201, { number: 99 });
  }
  return seen;
}

describe("deploy-<service> {image} (what pipelines send today)", () => {
  it("opens one PR that changes only the tag, with labels and a body that explains it; 4 API calls", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const pr = expectNewPr(12);

    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" });

    const before = remote.show("main", OVERLAY) as string;
    const after = remote.show(BRANCH, OVERLAY) as string;
    expect(after).toBe(before.replace('newTag: "1.4.0"', 'newTag: "1.5.0"'));
    expect(remote.show("main", OVERLAY)).toBe(before);
    expect(remote.git("log", "-1", "--format=%s", BRANCH).trim()).toBe(
      "deploy(order-service/staging): ghcr.io/acme/order-service:1.4.0 -> ghcr.io/acme/order-service:1.5.0",
    );
    expect(remote.git("rev-parse", `${BRANCH}~1`).trim()).toBe(remote.head("main"));

    expect(pr.create).toMatchObject({ head: BRANCH, base: "main", title: "Deploy order-service 1.5.0 to staging" });
    expect(pr.create?.body).toContain("| before | `ghcr.io/acme/order-service:1.4.0` |");
    expect(pr.create?.body).toContain("| after | `ghcr.io/acme/order-service:1.5.0` |");
    expect(pr.create?.body).toContain("Conveyor merges this PR automatically once its checks pass");
    expect(pr.create?.body).toContain("promotion PR to **production**");
    expect(pr.labels).toEqual({ labels: ["conveyor", "env/staging"] });

    expect(gh.calls()).toHaveLength(4);
  });

  it("uses 3 API calls when the repo has a config file, and honours it", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, "environments:\n  - name: staging\n  - name: production\n");
    const pr = expectNewPr(3);

    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" });
    expect(pr.create?.body).toContain("A reviewer merges this PR");
    expect(gh.calls()).toHaveLength(3);
  });
});

describe("deploy {service, tag|digest|image, environment, source}", () => {
  it("opens a PR from a tag, naming the source repo, commit and CI run", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const pr = expectNewPr(5);
    const source = {
      repository: "acme/order-service",
      sha: SHA,
      run_url: "https://github.com/acme/order-service/actions/runs/1",
    };

    const commits = expectHistory("ahead");
    const view = expectSourceView();

    await dispatch("deploy", { service: "order-service", tag: "1.6.0-rc.1", source });
    expect(commits.compared).toBe(true);
    // The service repository sees its commit on its way to staging: a Deployment with the PR
    // open, linking it, and the environments check run.
    expect(view.queued.create).toMatchObject({ ref: SHA, environment: "staging", production_environment: false });
    expect(view.queued.status).toMatchObject({ state: "queued", description: "Queued for staging" });
    expect(view.queued.check).toMatchObject({ head_sha: SHA, name: "conveyor/environments", status: "in_progress" });
    expect(view.open.status).toMatchObject({
      state: "pending",
      description: "PR open acme/manifests#5",
      log_url: "https://github.com/acme/manifests/pull/5",
    });
    expect(view.open.check).toMatchObject({ status: "in_progress" });
    expect(view.open.check?.output.summary).toContain(
      "| staging | 🟡 PR open — PR open acme/manifests#5 | [PR](https://github.com/acme/manifests/pull/5) |",
    );
    expect(remote.show(BRANCH, OVERLAY)).toContain('newTag: "1.6.0-rc.1" # deployed by Conveyor');
    // The changelog: the service repository's commits since staging's image, newest first, with
    // the merged PR each came from and its author's login (no @).
    expect(pr.create?.body).toContain(
      [
        "### Changes",
        `acme/order-service [\`${OLD_SHA.slice(0, 7)}\`](https://github.com/acme/order-service/commit/${OLD_SHA}) → [\`${SHA.slice(0, 7)}\`](https://github.com/acme/order-service/commit/${SHA}): 2 commits ([compare](https://github.com/acme/order-service/compare/${OLD_SHA}...${SHA})).`,
        "",
        `- [\`${SHA.slice(0, 7)}\`](https://github.com/acme/order-service/commit/${SHA}) Fix rounding (#\u200b7) (hubot) — [#7](https://github.com/acme/order-service/pull/7) Fix rounding`,
        `- [\`${MID_SHA.slice(0, 7)}\`](https://github.com/acme/order-service/commit/${MID_SHA}) Add totals (Mona Lisa)`,
      ].join("\n"),
    );
    expect(pr.create?.body).toContain(
      `[acme/order-service](https://github.com/acme/order-service) at [\`${SHA.slice(0, 12)}\`]`,
    );
    expect(pr.create?.body).toContain("[CI run](https://github.com/acme/order-service/actions/runs/1)");
    expect(remote.git("log", "-1", "--format=%B", BRANCH)).toContain(`Source: acme/order-service@${SHA}`);
  });

  it("refuses a build whose commit is behind the one staging runs, like an older version, on the sender's commit", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    expectHistory("behind");
    const report = expectSourceCheckRun({ installationKnown: true });

    await dispatch("deploy", {
      service: "order-service",
      tag: "1.6.0",
      source: { repository: "acme/order-service", sha: SHA },
    });
    expect((report.check?.output as { summary: string }).summary).toContain(
      `which is behind by 3 commits the commit of ghcr.io/acme/order-service:1.4.0 in staging (${OLD_SHA.slice(0, 12)})`,
    );
    expect(remote.branches()).toEqual(["main"]);
  });

  it("sets a digest in place of the tag", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    expectNewPr(6);
    const digest = `sha256:${"b".repeat(64)}`;

    await dispatch("deploy", { service: "order-service", digest });
    const after = remote.show(BRANCH, OVERLAY) as string;
    expect(after).toContain(`digest: ${digest}`);
    expect(after).not.toContain("newTag");
  });
});

describe("one PR per service and environment", () => {
  it("a newer image updates the open PR with a new commit and a comment naming the superseded image", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const created = expectNewPr(12);
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" });
    const first = remote.head(BRANCH);

    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope
      .get(`/repos/${OWNER}/${REPO}/pulls`)
      .query({ state: "open", head: `${OWNER}:${BRANCH}`, per_page: "5" })
      .reply(200, [prResponse(12, first, String(created.create?.body))]);
    let update: Record<string, unknown> | undefined;
    let comment: Record<string, unknown> | undefined;
    gh.scope.patch(`/repos/${OWNER}/${REPO}/pulls/12`, (body) => ((update = body), true)).reply(200, prResponse(12));
    gh.scope
      .post(`/repos/${OWNER}/${REPO}/issues/12/comments`, (body) => ((comment = body), true))
      .reply(201, { id: 1, html_url: "x" });
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.6.0" });

    expect(remote.git("rev-parse", `${BRANCH}~1`).trim()).toBe(first);
    expect(remote.show(BRANCH, OVERLAY)).toContain('newTag: "1.6.0"');
    expect(update).toMatchObject({ title: "Deploy order-service 1.6.0 to staging" });
    expect(comment?.body).toContain("superseding `ghcr.io/acme/order-service:1.5.0`");
    expect(gh.calls()).toHaveLength(4 + 5);
  });

  it("a redelivered event changes nothing: no commit, no comment, not even a call", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    expectNewPr(12);
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" }, "same-delivery");
    const head = remote.head(BRANCH);
    const calls = gh.calls().length;

    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" }, "same-delivery");
    expect(remote.head(BRANCH)).toBe(head);
    expect(gh.calls()).toHaveLength(calls);
    expect(app.logs.some((l) => l.msg === "delivery already handled")).toBe(true);
  });

  it("the same event in a new delivery finds the open PR already proposing it", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const created = expectNewPr(12);
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" }, "first-delivery");
    const head = remote.head(BRANCH);

    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope
      .get(`/repos/${OWNER}/${REPO}/pulls`)
      .query(true)
      .reply(200, [prResponse(12, head, String(created.create?.body))]);
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" }, "second-delivery");
    expect(remote.head(BRANCH)).toBe(head);
    expect(
      app.logs.some((l) => String(l.msg).includes("PR #12 already proposes ghcr.io/acme/order-service:1.5.0")),
    ).toBe(true);
  });

  it("no PR when the overlay already runs the image", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.4.0" });
    expect(remote.branches()).toEqual(["main"]);
  });

  it("an older semver never replaces a newer one in an open PR; the refusal is reported", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const created = expectNewPr(12);
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:2.0.0" });
    const head = remote.head(BRANCH);

    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope
      .get(`/repos/${OWNER}/${REPO}/pulls`)
      .query(true)
      .reply(200, [prResponse(12, head, String(created.create?.body))]);
    const issue = expectIssueUpsert();
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.9.0" });
    expect(remote.head(BRANCH)).toBe(head);
    expect(issue.create?.title).toBe("Conveyor refused a deploy of order-service (older-version)");
    expect(issue.create?.body).toContain(
      "ghcr.io/acme/order-service:1.9.0 is older than ghcr.io/acme/order-service:2.0.0 in the open PR",
    );
    expect(issue.create?.labels).toEqual(["conveyor:error"]);
  });

  it("handles two services at once, each in its own PR", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope
      .post(`/repos/${OWNER}/${REPO}/pulls`)
      .times(2)
      .reply(201, (_uri, body) => prResponse((body as { head: string }).head.includes("user") ? 2 : 1));
    gh.scope
      .post(/\/repos\/acme\/manifests\/issues\/[12]\/labels/)
      .times(2)
      .reply(200, []);

    await Promise.all([
      dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" }),
      dispatch("deploy", { service: "user-service", image: "ghcr.io/acme/user-service:3.0.0" }),
    ]);
    expect(remote.branches()).toEqual(["conveyor/staging/order-service", "conveyor/staging/user-service", "main"]);
    expect(
      remote.show("conveyor/staging/user-service", "services/user-service/overlays/staging/kustomization.yaml"),
    ).toContain('newTag: "3.0.0"');
  });
});

describe("bad input changes nothing and tells the sender why", () => {
  const cases: Array<[string, string, unknown, string, string]> = [
    [
      "an invalid service name",
      "deploy",
      { service: "../etc", image: "ghcr.io/acme/order-service:1.5.0" },
      "invalid-service",
      "is not a valid name",
    ],
    [
      "an unknown service",
      "deploy-billing",
      { image: "ghcr.io/acme/billing:1.0.0" },
      "unknown-service",
      "is not configured and has no overlay",
    ],
    [
      "an invalid image",
      "deploy-order-service",
      { image: "ghcr.io/acme/Order-Service:1.5.0" },
      "invalid-image",
      "is not a valid OCI reference",
    ],
    [
      "an image without tag or digest",
      "deploy-order-service",
      { image: "ghcr.io/acme/order-service" },
      "invalid-image",
      "neither a tag nor a digest",
    ],
    [
      "a tag longer than 128 characters",
      "deploy",
      { service: "order-service", tag: "x".repeat(129) },
      "invalid-image",
      "is not a valid tag",
    ],
    [
      "a short digest",
      "deploy",
      { service: "order-service", digest: "sha256:abc" },
      "invalid-image",
      "is not a sha256 digest",
    ],
    [
      "another service's image",
      "deploy-order-service",
      { image: "ghcr.io/acme/payment-service:1.5.0" },
      "image-mismatch",
      "is not this service's image",
    ],
    [
      "an unknown environment",
      "deploy",
      { service: "order-service", tag: "1.5.0", environment: "qa" },
      "unknown-environment",
      "is not one of staging, production",
    ],
    [
      "a direct deploy to production",
      "deploy",
      { service: "order-service", tag: "1.5.0", environment: "production" },
      "direct-deploy-refused",
      "production is reached by promotion",
    ],
    [
      "both an image and a tag",
      "deploy",
      { service: "order-service", tag: "1.5.0", image: "ghcr.io/acme/order-service:1.5.0" },
      "invalid-payload",
      "send only one of image, tag or digest",
    ],
    [
      "a payload that is too large",
      "deploy",
      { service: "order-service", tag: "1.5.0", note: "x".repeat(9000) },
      "invalid-payload",
      "larger than 8192 bytes",
    ],
    [
      "an environment with a path in it",
      "deploy",
      { service: "order-service", tag: "1.5.0", environment: "staging/../../x" },
      "invalid-environment",
      "is not a valid name",
    ],
  ];

  it.each(cases)("%s: an issue labelled conveyor:error, no branch", async (_name, eventType, payload, code, words) => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const issue = expectIssueUpsert();
    await dispatch(eventType, payload);
    expect(issue.create?.title).toContain(`(${code})`);
    expect(issue.create?.body).toContain(words);
    expect(issue.create?.body).toMatch(/Delivery: `delivery-\d+`/);
    expect(remote.branches()).toEqual(["main"]);
  });

  it("updates the existing issue for the same service and reason instead of opening another", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const issue = expectIssueUpsert([
      { number: 31, title: "old", body: "old text\n\n<!-- conveyor:error:order-service:image-mismatch -->" },
    ]);
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/payment-service:1.5.0" });
    expect(issue.update?.body).toContain("is not this service's image");
  });

  it("reports as a failed check run on the sender's commit when it is in the same installation", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const report = expectSourceCheckRun();

    await dispatch("deploy", {
      service: "order-service",
      image: "ghcr.io/acme/payment-service:1.5.0",
      source: { repository: "acme/order-service", sha: SHA },
    });
    expect(report.check).toMatchObject({
      head_sha: SHA,
      name: "conveyor/deploy",
      status: "completed",
      conclusion: "failure",
    });
    expect((report.check?.output as { summary: string }).summary).toContain("is not this service's image");
    expect(remote.branches()).toEqual(["main"]);
  });

  it("writes nothing to a repository of another installation named as the source: an issue here instead", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get("/repos/victim/private/installation").reply(200, { id: 77 });
    const issue = expectIssueUpsert();
    await dispatch("deploy", {
      service: "order-service",
      image: "ghcr.io/acme/payment-service:1.5.0",
      source: { repository: "victim/private", sha: SHA },
    });
    expect(issue.create?.body).toContain("is not this service's image");
    expect(gh.calls()).not.toContain("POST /repos/victim/private/check-runs");
  });

  it("falls back to an issue when Conveyor is not installed on the sender's repo", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get("/repos/other/thing/installation").reply(404, { message: "Not Found" });
    const issue = expectIssueUpsert();
    await dispatch("deploy", {
      service: "order-service",
      tag: "1.5.0",
      environment: "production",
      source: { repository: "other/thing", sha: SHA },
    });
    expect(issue.create?.body).toContain("production is reached by promotion");
  });

  it("ignores unknown event types quietly: no API call, a debug log with the delivery id", async () => {
    await dispatch("build-finished", { image: "x" }, "quiet-1");
    expect(gh.calls()).toEqual([]);
    expect(app.logs.find((l) => String(l.msg).includes("repository_dispatch ignored"))).toMatchObject({
      id: "quiet-1",
      level: 20,
    });
  });

  it("an invalid config is reported once in a conveyor:config issue and nothing else happens", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, "environments:\n  - name: Staging\n    soak: soon\n");
    gh.scope
      .get(`/repos/${OWNER}/${REPO}/issues`)
      .query({ state: "open", labels: "conveyor:config", per_page: "100" })
      .reply(200, []);
    let created: Record<string, unknown> | undefined;
    gh.scope.post(`/repos/${OWNER}/${REPO}/issues`, (body) => ((created = body), true)).reply(201, { number: 1 });
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" });
    expect(created?.labels).toEqual(["conveyor:config"]);
    expect(created?.body).toContain("| `environments.0.name` |");
    expect(created?.body).toContain("| `environments.0.soak` |");
    expect(remote.branches()).toEqual(["main"]);
  });

  it("answers the webhook before the PR exists, and logs a failure of the PR work with the delivery id", async () => {
    app = createTestApp({ retryDelaysMs: [] }); // no second attempt: this test is about the first
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.post(`/repos/${OWNER}/${REPO}/pulls`).reply(500, { message: "Server Error" });
    const report = expectIssueUpsert();
    await app.probot.receive({
      id: "answered-1",
      name: "repository_dispatch",
      payload: dispatchPayload(target, "deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" }) as never,
    });
    // Answered: the branch and the PR are still to come.
    expect(gh.scope.pendingMocks()).toContain(`POST https://api.github.com:443/repos/${OWNER}/${REPO}/pulls`);
    await app.settled();
    expect(remote.show(BRANCH, OVERLAY)).toContain('newTag: "1.5.0"');
    const failure = app.logs.find((l) => l.msg === "deploy failed");
    expect(failure).toMatchObject({ id: "answered-1", level: 50, repo: `${OWNER}/${REPO}`, service: "order-service" });
    expect(String(failure?.err)).toContain("Server Error");
    expect(String(report.create?.body)).toContain("Server Error");
  });

  it("every log line about an event carries its delivery id, and no token appears in any", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    expectNewPr(8);
    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" }, "traced-1");
    const eventLines = app.logs.filter((l) => l.name === "event" || l.repo !== undefined);
    expect(eventLines.length).toBeGreaterThan(0);
    for (const line of eventLines) expect(line.id).toBe("traced-1");
    expect(JSON.stringify(app.logs)).not.toContain("ghs_testinstallationtoken");
  });
});

describe("an accepted event whose PR cannot be made", () => {
  /** Waits until no retry is scheduled and nothing runs in the background. */
  async function drained(test: TestApp) {
    for (let i = 0; i < 400; i++) {
      await test.settled();
      if (test.services.later.size === 0 && test.services.background.size === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error("retries never drained");
  }

  it("is said to the sender once, kept, and made into its PR on a later attempt", async () => {
    app = createTestApp({ retryDelaysMs: [20, 20] });
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    // GitHub fails twice on opening the PR (the push went through), then works.
    gh.scope.post(`/repos/${OWNER}/${REPO}/pulls`).times(2).reply(502, { message: "Server Error" });
    const report = expectIssueUpsert();
    gh.scope.get(`/repos/${OWNER}/${REPO}/pulls`).query(true).times(2).reply(200, []);
    const pr = expectNewPr(12);
    const closed: { comment?: Record<string, unknown>; update?: Record<string, unknown> } = {};
    gh.scope
      .get(`/repos/${OWNER}/${REPO}/issues`)
      .query({ state: "open", labels: "conveyor:error", per_page: "100" })
      .reply(200, () => [{ number: 99, title: report.create?.title, body: report.create?.body }])
      .post(`/repos/${OWNER}/${REPO}/issues/99/comments`, (body) => ((closed.comment = body), true))
      .reply(201, { id: 1 })
      .patch(`/repos/${OWNER}/${REPO}/issues/99`, (body) => ((closed.update = body), true))
      .reply(200, {});

    await app.probot.receive({
      id: "kept-delivery",
      name: "repository_dispatch",
      payload: dispatchPayload(target, "deploy-order-service", {
        image: "ghcr.io/acme/order-service:1.5.0",
      }) as never,
    });
    await drained(app);

    expect(report.create?.title).toBe("Conveyor could not open the PR for a deploy of order-service");
    expect(String(report.create?.body)).toContain("**What failed:**");
    expect(String(report.create?.body)).toContain("The event is kept: Conveyor tries again at");
    expect(String(report.create?.body)).toContain("kept-delivery");
    expect(pr.create).toMatchObject({ head: BRANCH, title: "Deploy order-service 1.5.0 to staging" });
    expect(remote.show(BRANCH, OVERLAY)).toContain('newTag: "1.5.0"');
    expect(gh.calls().filter((c) => c === `POST /repos/${OWNER}/${REPO}/pulls`)).toHaveLength(3);
    // Made after all: the issue that said it could not be is closed, saying so.
    expect(closed.comment).toMatchObject({ body: expect.stringContaining(`was made after all: ${OWNER}/${REPO}#12`) });
    expect(closed.update).toMatchObject({ state: "closed" });
  });

  it("is given up after the last attempt, and the sender hears that too", async () => {
    app = createTestApp({ retryDelaysMs: [20] });
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.post(`/repos/${OWNER}/${REPO}/pulls`).times(2).reply(502, { message: "Server Error" });
    gh.scope.get(`/repos/${OWNER}/${REPO}/pulls`).query(true).reply(200, []);
    const first = expectIssueUpsert();
    // The second time, the issue the first report opened is there, and is updated.
    const last: { update?: Record<string, unknown> } = {};
    gh.scope
      .get(`/repos/${OWNER}/${REPO}/issues`)
      .query({ state: "open", labels: "conveyor:error", per_page: "100" })
      .reply(200, () => [{ number: 99, title: first.create?.title, body: first.create?.body }]);
    gh.scope.patch(`/repos/${OWNER}/${REPO}/issues/99`, (body) => ((last.update = body), true)).reply(200, {});

    await app.probot.receive({
      id: "lost-cause",
      name: "repository_dispatch",
      payload: dispatchPayload(target, "deploy-order-service", {
        image: "ghcr.io/acme/order-service:1.5.0",
      }) as never,
    });
    await drained(app);

    expect(String(first.create?.body)).toContain("Conveyor tries again at");
    expect(String(last.update?.body)).toContain("Conveyor gave up on this event after several attempts");
    expect(app.logs.some((l) => l.msg === "could not make the PR; giving up")).toBe(true);
  });

  it("a create whose answer was lost finds the PR GitHub made and makes no second one", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.post(`/repos/${OWNER}/${REPO}/pulls`).reply(422, {
      message: "Validation Failed",
      errors: [
        { resource: "PullRequest", code: "custom", message: `A pull request already exists for ${OWNER}:${BRANCH}.` },
      ],
    });
    gh.scope
      .get(`/repos/${OWNER}/${REPO}/pulls`)
      .query({ state: "open", head: `${OWNER}:${BRANCH}`, per_page: "5" })
      .reply(200, [{ ...prResponse(12), labels: [{ name: "conveyor" }] }]);
    let updated: Record<string, unknown> | undefined;
    gh.scope.patch(`/repos/${OWNER}/${REPO}/pulls/12`, (body) => ((updated = body), true)).reply(200, {});
    let labels: unknown;
    gh.scope.post(`/repos/${OWNER}/${REPO}/issues/12/labels`, (body) => ((labels = body), true)).reply(200, []);

    await dispatch("deploy-order-service", { image: "ghcr.io/acme/order-service:1.5.0" });

    expect(updated).toMatchObject({ title: "Deploy order-service 1.5.0 to staging" });
    expect(labels).toEqual({ labels: ["env/staging"] });
    expect(app.logs.some((l) => String(l.msg).includes("could not make the PR"))).toBe(false);
  });
});
