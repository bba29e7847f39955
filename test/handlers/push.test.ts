// push -> verification of the overlays a push to the default branch changed, and the end of a
// broken-config report once the config is fixed. Through Probot with strict GitHub mocks, a real
// bare git repo as the manifests remote, and a running verifier over a fake Argo CD source (so a
// push that went further than it should would show up as calls).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Application } from "../../src/core/argo-types.js";
import type { AppKey, ArgoSource } from "../../src/core/argo-source.js";
import type { Verifier } from "../../src/runtime/verifier.js";
import { createManifestsRemote, type ManifestsRemote } from "../../sandbox/manifests-remote.js";
import { mockConfig, mockGitHub, mockInstallationToken, type GitHubMock } from "../helpers/github-mock.js";
import { example, withRepo, type RepoTarget } from "../helpers/payloads.js";
import { createTestApp, type TestApp } from "../helpers/probot.js";

const OWNER = "acme";
const REPO = "manifests";
const INSTALLATION = 4242;
const R = `/repos/${OWNER}/${REPO}`;
const ZERO = "0".repeat(40);
const STAGING = "services/order-service/overlays/staging/kustomization.yaml";
const CONFIG_FILE = ".github/conveyor.yml";
const CONFIG_ISSUE = {
  number: 5,
  title: "Conveyor: .github/conveyor.yml is invalid",
  body: "Conveyor cannot use `.github/conveyor.yml`...\n\n<!-- conveyor:config -->",
};

class QuietArgo implements ArgoSource {
  async start() {}
  async stop() {}
  onApplication() {
    return () => undefined;
  }
  getApplication(): Application | undefined {
    return undefined;
  }
  rolloutsFor() {
    return [];
  }
  async refresh(_key: AppKey) {}
  stats() {
    return { watchConnections: 1, reconnects: 0, relists: 0 };
  }
}

let remote: ManifestsRemote;
let gh: GitHubMock;
let app: TestApp;
let target: RepoTarget;
let delivery = 0;

beforeEach(async () => {
  remote = createManifestsRemote();
  gh = mockGitHub();
  app = createTestApp({ argo: new QuietArgo(), resume: false });
  target = { owner: OWNER, repo: REPO, cloneUrl: remote.url, installationId: INSTALLATION };
  await until(() => {
    try {
      return verifierOf().running;
    } catch {
      return false; // Probot has not loaded the app yet
    }
  }, "the verifier to start");
});

afterEach(() => {
  app.services.verifier?.stop();
  remote.cleanup();
});

function verifierOf(): Verifier {
  return app.services.verifier as Verifier;
}

/** Polls a condition (the app starts its verifier after loading), with a generous bound. */
async function until(condition: () => boolean, what = "condition"): Promise<void> {
  for (let i = 0; i < 2_000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

interface PushOptions {
  ref?: string;
  before: string;
  after: string;
  deleted?: boolean;
  commits?: Array<{ added?: string[]; modified?: string[]; removed?: string[] }>;
  sender?: string;
}

function push(opts: PushOptions) {
  const payload = withRepo(
    example("push", (p) => p.ref === "refs/heads/master"),
    target,
  );
  const sender = opts.sender ?? "erin";
  Object.assign(payload, {
    ref: opts.ref ?? "refs/heads/main",
    before: opts.before,
    after: opts.after,
    created: opts.before === ZERO,
    deleted: opts.deleted ?? false,
    forced: false,
    head_commit: null,
    pusher: { name: sender, email: `${sender}@example.com` },
    sender: { ...(payload.sender as object), login: sender, type: sender.endsWith("[bot]") ? "Bot" : "User" },
    commits: (opts.commits ?? []).map((c, i) => ({
      id: i === (opts.commits?.length ?? 0) - 1 ? opts.after : "c".repeat(40),
      tree_id: "t".repeat(40),
      distinct: true,
      message: "change",
      timestamp: "2026-01-01T00:00:00Z",
      url: "https://github.com/acme/manifests/commit/x",
      author: { name: sender, email: `${sender}@example.com`, username: sender },
      committer: { name: sender, email: `${sender}@example.com`, username: sender },
      added: c.added ?? [],
      removed: c.removed ?? [],
      modified: c.modified ?? [],
    })),
  });
  return app.probot.receive({ id: `push-${++delivery}`, name: "push", payload: payload as never });
}

/** Commits to main as a merge or a person does; the push's before and after. */
function commitToMain(files: Record<string, string | null>): { before: string; after: string } {
  const before = remote.head("main") as string;
  return { before, after: remote.commit("main", files, "change") };
}

function bumped(): Record<string, string> {
  return { [STAGING]: (remote.show("main", STAGING) as string).replace('newTag: "1.4.0"', 'newTag: "1.5.0"') };
}

function expectConfigIssues(issues: unknown[]) {
  gh.scope.get(`${R}/issues`).query({ state: "open", labels: "conveyor:config", per_page: "100" }).reply(200, issues);
}

/** The issue is told why it closes, then closed as completed. */
function expectConfigIssueClosed(number: number) {
  const seen: { comment?: string; update?: Record<string, unknown> } = {};
  gh.scope
    .post(`${R}/issues/${number}/comments`, (b: { body: string }) => ((seen.comment = b.body), true))
    .reply(201, { id: 1, html_url: "c" });
  gh.scope.patch(`${R}/issues/${number}`, (b) => ((seen.update = b), true)).reply(200, {});
  return seen;
}

describe("pushes Conveyor ignores", () => {
  it.each([
    ["a push to another branch", { ref: "refs/heads/feature/x" }],
    ["a tag", { ref: "refs/tags/v1.0.0" }],
    ["the default branch being deleted", { deleted: true, after: ZERO }],
  ])("%s: no API call, nothing watched", async (_name, overrides) => {
    const { before, after } = commitToMain(bumped());
    await push({ before, after, commits: [{ modified: [STAGING, CONFIG_FILE] }], ...overrides });
    expect(gh.calls()).toEqual([]);
    expect(verifierOf().inFlight()).toEqual([]);
  });
});

describe("a push to the default branch", () => {
  it("that changed an overlay starts its verification: a Deployment, in_progress, a comment; the merger is told", async () => {
    const { before, after } = commitToMain(bumped());
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    gh.scope.get(`${R}/commits/${after}/pulls`).reply(200, [
      {
        number: 12,
        html_url: "u",
        merged_at: "2026-01-01T00:00:00Z",
        head: { sha: "f".repeat(40), ref: "conveyor/staging/order-service" },
        user: { login: "conveyor[bot]", type: "Bot" },
        labels: [{ name: "conveyor" }, { name: "env/staging" }],
      },
    ]);
    let created: Record<string, unknown> | undefined;
    gh.scope
      .get(`${R}/deployments`)
      .query({ sha: after, environment: "staging", task: "deploy", per_page: "100" })
      .reply(200, []);
    gh.scope
      .post(`${R}/deployments`, (b) => ((created = b), true))
      .reply(201, { id: 901, sha: after, environment: "staging", created_at: "2026-01-01T00:00:00Z", url: "" });
    gh.scope.post(`${R}/deployments/901/statuses`, (b: { state: string }) => b.state === "in_progress").reply(201, {});
    gh.scope.post(`${R}/issues/12/comments`).reply(201, { id: 1, html_url: "c" });

    await push({ before, after, commits: [{ modified: [STAGING] }], sender: "erin" });

    expect(created).toMatchObject({
      ref: after,
      environment: "staging",
      payload: {
        service: "order-service",
        from: "ghcr.io/acme/order-service:1.4.0",
        to: "ghcr.io/acme/order-service:1.5.0",
        base: before,
        pr: 12,
      },
    });
    expect(verifierOf().inFlight()).toMatchObject([{ deploymentId: 901, pr: { number: 12, author: "erin" } }]);
    expect(gh.calls()).toHaveLength(7);
  });

  it("that created the branch reads the config and verifies nothing", async () => {
    const { after } = commitToMain(bumped());
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    await push({ before: ZERO, after, commits: [{ modified: [STAGING] }] });
    expect(gh.calls()).toHaveLength(2);
    expect(verifierOf().inFlight()).toEqual([]);
  });

  it("that fixed .github/conveyor.yml closes the conveyor:config issue, saying at which commit", async () => {
    const { before, after } = commitToMain({
      [CONFIG_FILE]: "environments:\n  - name: staging\n  - name: production\n",
    });
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, "environments:\n  - name: staging\n  - name: production\n");
    expectConfigIssues([
      { number: 4, title: "Conveyor refused a deploy", body: "<!-- conveyor:error:x:y -->" },
      CONFIG_ISSUE,
    ]);
    const closed = expectConfigIssueClosed(5);

    await push({ before, after, commits: [{ modified: ["README.md"] }, { modified: [CONFIG_FILE] }] });

    expect(closed.comment).toBe(
      `\`.github/conveyor.yml\` is valid again as of ${after.slice(0, 12)}; Conveyor is back at work.`,
    );
    expect(closed.update).toEqual({ state: "closed", state_reason: "completed" });
    expect(gh.calls()).toHaveLength(4);
  });

  it("that added a valid .github/conveyor.yml also closes the issue", async () => {
    const { before, after } = commitToMain({ [CONFIG_FILE]: "discover: true\n" });
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, "discover: true\n");
    expectConfigIssues([CONFIG_ISSUE]);
    const closed = expectConfigIssueClosed(5);
    await push({ before, after, commits: [{ added: [CONFIG_FILE] }] });
    expect(closed.update).toEqual({ state: "closed", state_reason: "completed" });
  });

  it("that did not touch the config leaves the issue list alone", async () => {
    const { before, after } = commitToMain({ "README.md": "# manifests\n" });
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    await push({ before, after, commits: [{ modified: ["README.md"] }] });
    expect(gh.calls()).toHaveLength(2);
  });

  it("with an invalid config reports it in the conveyor:config issue and stops there: no Deployment", async () => {
    const { before, after } = commitToMain({ ...bumped(), [CONFIG_FILE]: "environments: 5\n" });
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, "environments: 5\n");
    expectConfigIssues([]);
    let created: { title?: string; body?: string; labels?: string[] } | undefined;
    gh.scope.post(`${R}/issues`, (b) => ((created = b), true)).reply(201, { number: 8 });

    await push({ before, after, commits: [{ modified: [STAGING, CONFIG_FILE] }] });

    expect(created?.title).toBe("Conveyor: .github/conveyor.yml is invalid");
    expect(created?.labels).toEqual(["conveyor:config"]);
    expect(created?.body).toContain("| `environments` |");
    expect(created?.body).toContain("<!-- conveyor:config -->");
    expect(verifierOf().inFlight()).toEqual([]);
    expect(gh.calls()).toEqual([`GET ${R}/contents/.github/conveyor.yml`, `GET ${R}/issues`, `POST ${R}/issues`]);
  });

  it("with an invalid config that is already reported updates nothing when the report is the same", async () => {
    const { before, after } = commitToMain({ [CONFIG_FILE]: "environments: 5\n" });
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, "environments: 5\n");
    // First delivery creates the issue; capture its exact text and serve it back on the second.
    expectConfigIssues([]);
    let first: { title: string; body: string } | undefined;
    gh.scope.post(`${R}/issues`, (b) => ((first = b), true)).reply(201, { number: 8 });
    await push({ before, after, commits: [{ modified: [CONFIG_FILE] }] });

    mockConfig(gh.scope, OWNER, REPO, "environments: 5\n");
    gh.scope
      .get(`${R}/issues`)
      .query({ state: "open", labels: "conveyor:config", per_page: "100" })
      .reply(200, () => [{ number: 8, title: first?.title, body: first?.body }]);
    await push({ before, after, commits: [{ modified: [CONFIG_FILE] }] });

    expect(gh.calls().filter((c) => !c.startsWith("GET"))).toEqual([`POST ${R}/issues`]);
  });

  // Regression (found in review, fixed): deleting a broken .github/conveyor.yml fixes the repository (the defaults apply and
  // Conveyor works again), but the handler only looks at added/modified files, so the
  // conveyor:config issue stays open and keeps saying Conveyor does nothing for this repository.
  it("that deleted a broken .github/conveyor.yml closes the conveyor:config issue", async () => {
    commitToMain({ [CONFIG_FILE]: "environments: 5\n" });
    const { before, after } = commitToMain({ [CONFIG_FILE]: null });
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    expectConfigIssues([CONFIG_ISSUE]);
    const closed = expectConfigIssueClosed(5);
    try {
      await push({ before, after, commits: [{ removed: [CONFIG_FILE] }] });
      expect(closed.update).toEqual({ state: "closed", state_reason: "completed" });
    } finally {
      gh.verify();
    }
  });
});
