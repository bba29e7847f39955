// pull_request -> conveyor/render check run (and, for Conveyor's PRs, a merge attempt), through Probot, with strict GitHub mocks, a real bare
// git repo as the manifests remote and the real kustomize on this machine.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Probot } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Renderer } from "../../src/adapters/renderer.js";
import { parseConfig, type Config } from "../../src/core/config.js";
import { mergeDecision } from "../../src/core/merge-policy.js";
import { CHECK_OUTPUT_LIMIT } from "../../src/core/render-report.js";
import { RENDER_CHECK } from "../../src/flows/run-render-check.js";
import { renderSummaryForPr } from "../../src/flows/render-changes.js";
import { createManifestsRemote, type ManifestsRemote } from "../../sandbox/manifests-remote.js";
import { mockConfig, mockGitHub, mockInstallationToken, type GitHubMock } from "../helpers/github-mock.js";
import { example, withRepo, type RepoTarget } from "../helpers/payloads.js";
import { Quota } from "../../src/runtime/once-per.js";
import { createTestApp, type TestApp } from "../helpers/probot.js";
import { signedMarker } from "../helpers/markers.js";

const OWNER = "acme";
const REPO = "manifests";
const INSTALLATION = 4242;
const STAGING = "services/order-service/overlays/staging/kustomization.yaml";
const PRODUCTION = "services/order-service/overlays/production/kustomization.yaml";

let remote: ManifestsRemote;
let gh: GitHubMock;
let probot: Probot;
let testApp: TestApp;
let workspaceDir: string;
let target: RepoTarget;
let delivery = 0;
let renderer: Renderer;

function start(options: { renderer?: Renderer } = {}) {
  renderer = options.renderer ?? new Renderer();
  testApp = createTestApp({ renderer, renderTimeoutMs: 20_000 });
  probot = testApp.probot;
  workspaceDir = testApp.workspaceDir;
}

beforeEach(() => {
  remote = createManifestsRemote();
  gh = mockGitHub();
  target = { owner: OWNER, repo: REPO, cloneUrl: remote.url, installationId: INSTALLATION };
  start();
});

afterEach(() => {
  remote.cleanup();
  rmSync(workspaceDir, { recursive: true, force: true });
});

/** A branch off main with `files` committed on it, as a PR head. */
function branch(name: string, files: Record<string, string | null>): string {
  remote.git("branch", name, "main");
  return remote.commit(name, files, `change on ${name}`);
}

function overlay(path: string, edit: (text: string) => string): Record<string, string> {
  return { [path]: edit(remote.show("main", path) as string) };
}

async function pullRequest(
  head: { ref: string; sha: string },
  opts: { action?: string; number?: number; bot?: boolean; fork?: string; answered?: () => void } = {},
) {
  const payload = withRepo(
    example("pull_request", (p) => p.action === "opened"),
    target,
  );
  const number = opts.number ?? 9;
  const full = `${OWNER}/${REPO}`;
  payload.action = opts.action ?? "opened";
  payload.number = number;
  const pr = payload.pull_request as Record<string, unknown>;
  Object.assign(pr, {
    number,
    user: { login: opts.bot ? "conveyor[bot]" : "alice", type: opts.bot ? "Bot" : "User" },
    head: { ref: head.ref, sha: head.sha, repo: { full_name: opts.fork ?? full } },
    base: { ref: "main", sha: remote.head("main"), repo: { full_name: full } },
  });
  await probot.receive({ id: `delivery-${++delivery}`, name: "pull_request", payload: payload as never });
  opts.answered?.();
  // The render runs after the event is answered.
  await testApp.services.background.idle();
}

interface CheckCapture {
  created?: Record<string, unknown>;
  completed?: { conclusion: string; output: { title: string; summary: string } };
}

/** The two calls of a check run: created in progress, then completed. */
function expectCheck(id = 77): CheckCapture {
  const seen: CheckCapture = {};
  gh.scope
    .post(`/repos/${OWNER}/${REPO}/check-runs`, (body) => ((seen.created = body), true))
    .reply(201, { id })
    .patch(
      `/repos/${OWNER}/${REPO}/check-runs/${id}`,
      (body) => ((seen.completed = body as CheckCapture["completed"]), true),
    )
    .reply(200, { id });
  return seen;
}

describe("a person's pull request", () => {
  it("an image change: success, the image before -> after and the rendered diff", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const check = expectCheck();
    const sha = branch(
      "bump",
      overlay(STAGING, (t) => t.replace('newTag: "1.4.0"', 'newTag: "1.5.0"')),
    );
    await pullRequest({ ref: "bump", sha });
    expect(check.created).toMatchObject({ name: RENDER_CHECK, head_sha: sha, status: "in_progress" });
    expect(check.completed?.conclusion).toBe("success");
    const { title, summary } = check.completed?.output ?? { title: "", summary: "" };
    expect(title).toBe("1 overlay rendered");
    expect(summary).toMatch(/^Renderer: (kubectl kustomize \(kustomize v\d|kustomize v\d)/);
    expect(summary).toContain("### ✅ `services/order-service/overlays/staging` (order-service in staging)");
    expect(summary).toContain("Resources: 0 added, 0 removed, 1 changed");
    expect(summary).toContain("- `ghcr.io/acme/order-service:1.4.0` → `ghcr.io/acme/order-service:1.5.0`");
    expect(summary).toContain(
      "-      - image: ghcr.io/acme/order-service:1.4.0\n+      - image: ghcr.io/acme/order-service:1.5.0",
    );
    expect(summary).toMatch(/Render time: base \d+ ms, head \d+ ms/);
  });

  it("a replica change", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const check = expectCheck();
    const sha = branch(
      "scale",
      overlay(PRODUCTION, (t) => t.replace("count: 3", "count: 5")),
    );
    await pullRequest({ ref: "scale", sha });
    expect(check.completed?.conclusion).toBe("success");
    expect(check.completed?.output.summary).toContain("-  replicas: 3\n+  replicas: 5");
    expect(check.completed?.output.summary).not.toContain("Images:");
  });

  it("a base change renders both overlays built on it", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const check = expectCheck();
    const path = "services/order-service/base/deployment.yaml";
    const sha = branch(
      "port",
      overlay(path, (t) => t.replace("containerPort: 8080", "containerPort: 9090")),
    );
    await pullRequest({ ref: "port", sha });
    const summary = check.completed?.output.summary ?? "";
    expect(check.completed?.output.title).toBe("2 overlays rendered");
    expect(summary).toContain("### ✅ `services/order-service/overlays/production` (order-service in production)");
    expect(summary).toContain("### ✅ `services/order-service/overlays/staging` (order-service in staging)");
    expect(summary.match(/Affected through: `services\/order-service\/base`/g)).toHaveLength(2);
    expect(summary.match(/^\+ +- containerPort: 9090$/gm)).toHaveLength(2);
  });

  it("a broken overlay fails the check with kustomize's message, and such a check blocks auto-merge", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const check = expectCheck();
    const sha = branch(
      "broken",
      overlay(STAGING, (t) => t.replace("  - ../../base", "  - ../../base\n  - missing-patch.yaml")),
    );
    await pullRequest({ ref: "broken", sha });
    expect(check.completed?.conclusion).toBe("failure");
    expect(check.completed?.output.title).toBe("1 overlay rendered, 1 failed");
    const summary = check.completed?.output.summary ?? "";
    expect(summary).toContain("### ❌ `services/order-service/overlays/staging`");
    expect(summary).toContain("The render at the head commit failed:");
    expect(summary).toContain("missing-patch.yaml");
    expect(summary).not.toContain(tmpdir());
    const config = (parseConfig(null) as { ok: true; config: Config }).config;
    const runs = [{ name: RENDER_CHECK, status: "completed", conclusion: check.completed?.conclusion ?? null }];
    expect(
      mergeDecision({
        config,
        env: "staging",
        kind: "deploy",
        prLabels: [],
        frozen: false,
        checks: { runs, statuses: [] },
      }),
    ).toEqual({ kind: "skip", reason: `check ${RENDER_CHECK} concluded failure` });
  });

  it("a huge diff is truncated per overlay with a note, and the check stays under GitHub's limit", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const check = expectCheck();
    const data = Array.from({ length: 3000 }, (_, i) => `  key-${i}: "${"v".repeat(30)}-${i}"`).join("\n");
    const sha = branch("big", {
      "services/order-service/base/big.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n${data}\n`,
      ...overlay("services/order-service/base/kustomization.yaml", (t) =>
        t.replace("  - service.yaml", "  - service.yaml\n  - big.yaml"),
      ),
    });
    await pullRequest({ ref: "big", sha });
    const summary = check.completed?.output.summary ?? "";
    expect(check.completed?.conclusion).toBe("success");
    expect(summary.length).toBeLessThanOrEqual(CHECK_OUTPUT_LIMIT);
    expect(summary.match(/\*\*Diff truncated:\*\* showing \d+ of \d+ lines\./g)).toHaveLength(2);
    expect(summary).toContain("Resources: 1 added, 0 removed, 0 changed");
  });

  it("policy: a mutable tag in a protected environment and a registry not allowed fail the check", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(
      gh.scope,
      OWNER,
      REPO,
      "environments:\n  - name: staging\n    autoMerge: true\n  - name: production\n    approvers: ['@acme/sre']\n    policy:\n      allowedRegistries: [ghcr.io/acme]\n",
    );
    const check = expectCheck();
    const sha = branch(
      "latest",
      overlay(PRODUCTION, (t) =>
        t.replace('newTag: "1.4.0"', 'newName: docker.io/acme/order-service\n    newTag: "latest"'),
      ),
    );
    await pullRequest({ ref: "latest", sha });
    expect(check.completed?.conclusion).toBe("failure");
    expect(check.completed?.output.title).toBe("1 overlay rendered, 2 policy violations");
    const summary = check.completed?.output.summary ?? "";
    expect(summary).toContain(
      "| mutable-tag | `services/order-service/overlays/production` | `docker.io/acme/order-service:latest` in Deployment order-service-production/order-service uses the mutable tag `latest`",
    );
    expect(summary).toContain(
      "| registry | `services/order-service/overlays/production` | `docker.io/acme/order-service:latest` in Deployment order-service-production/order-service comes from `docker.io`; production allows only `ghcr.io/acme` |",
    );
  });

  it("a PR that touches no overlay gets no check run", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const sha = branch("docs", { "README.md": "# manifests\n" });
    await pullRequest({ ref: "docs", sha });
  });

  it("a fork author past the hour's render quota gets no render: no call, no check", async () => {
    testApp.services.forkRenders = new Quota(3_600_000, 0);
    const sha = branch(
      "fork-flood",
      overlay(STAGING, (t) => t.replace("count: 1", "count: 3")),
    );
    await pullRequest({ ref: "fork-flood", sha }, { number: 32, fork: "mallory/manifests" });
    expect(gh.calls()).toEqual([]);
  });

  it("a fork's PR is fetched through refs/pull/N/head", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const check = expectCheck();
    const sha = branch(
      "fork-work",
      overlay(STAGING, (t) => t.replace("count: 1", "count: 2")),
    );
    remote.git("update-ref", "refs/pull/31/head", sha);
    remote.git("branch", "-D", "fork-work");
    await pullRequest({ ref: "fork-work", sha }, { number: 31, fork: "mallory/manifests" });
    expect(check.completed?.conclusion).toBe("success");
    expect(check.completed?.output.summary).toContain("+  replicas: 2");
  });

  it("a re-run of the same commits is served from the render cache", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    mockConfig(gh.scope, OWNER, REPO, undefined);
    expectCheck(1);
    const sha = branch(
      "again",
      overlay(STAGING, (t) => t.replace("count: 1", "count: 2")),
    );
    await pullRequest({ ref: "again", sha });
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const second = expectCheck(2);
    await pullRequest({ ref: "again", sha }, { action: "reopened" });
    expect(second.completed?.output.summary).toContain("Render time: base cached, head cached");
  });
});

/**
 * The merge attempt a Conveyor PR's event makes before it is answered: it reads the PR and its
 * gates and finds its own render check still running, so it waits (an unmocked merge would fail).
 */
function expectMergeAttemptThatWaits(head: { ref: string; sha: string }, number = 9) {
  mockConfig(gh.scope, OWNER, REPO, undefined);
  const marker = signedMarker(
    {
      service: "order-service",
      env: "staging",
      from: "ghcr.io/acme/order-service:1.4.0",
      to: "ghcr.io/acme/order-service:1.5.0",
    },
    head.sha,
  );
  gh.scope.get(`/repos/${OWNER}/${REPO}/pulls/${number}`).reply(200, {
    number,
    state: "open",
    html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`,
    body: `Deploy order-service\n\n${marker}`,
    user: { login: "conveyor[bot]", type: "Bot" },
    labels: [{ name: "conveyor" }, { name: "env/staging" }],
    head: { ref: head.ref, sha: head.sha, repo: { full_name: `${OWNER}/${REPO}` } },
    base: { ref: "main", sha: remote.head("main"), repo: { allow_auto_merge: false } },
  });
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/issues`)
    .query({ state: "open", labels: "conveyor:freeze", per_page: "100" })
    .reply(200, []);
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/issues`)
    .query({ state: "open", labels: "conveyor:hold", per_page: "100" })
    .reply(200, []);
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/commits/${head.sha}/check-runs`)
    .query(true)
    .reply(200, { total_count: 1, check_runs: [{ name: RENDER_CHECK, status: "in_progress", conclusion: null }] });
  gh.scope
    .get(`/repos/${OWNER}/${REPO}/commits/${head.sha}/status`)
    .query(true)
    .reply(200, { state: "pending", statuses: [] });
}

describe("Conveyor's own pull requests", () => {
  it("the check is created before anything else, and a promotion that touches more than overlays fails", async () => {
    mockInstallationToken(gh.scope, INSTALLATION);
    const check = expectCheck();
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const sha = branch("conveyor/staging/order-service", {
      ...overlay(STAGING, (t) => t.replace('newTag: "1.4.0"', 'newTag: "1.5.0"')),
      "services/order-service/base/service.yaml": (
        remote.show("main", "services/order-service/base/service.yaml") as string
      ).replace("port: 80", "port: 81"),
    });
    expectMergeAttemptThatWaits({ ref: "conveyor/staging/order-service", sha });
    let whenAnswered: string[] = [];
    await pullRequest(
      { ref: "conveyor/staging/order-service", sha },
      { bot: true, answered: () => (whenAnswered = gh.calls()) },
    );
    // The running check exists before anything else, so the merge attempt made while answering
    // sees it and waits; the render comes after the answer.
    expect(whenAnswered[0]).toBe(`POST /repos/${OWNER}/${REPO}/check-runs`);
    expect(whenAnswered).toContain(`GET /repos/${OWNER}/${REPO}/commits/${sha}/check-runs`);
    expect(whenAnswered).not.toContain(`PATCH /repos/${OWNER}/${REPO}/check-runs/77`);
    expect(gh.calls().at(-1)).toBe(`PATCH /repos/${OWNER}/${REPO}/check-runs/77`);
    expect(check.completed?.conclusion).toBe("failure");
    expect(check.completed?.output.summary).toContain(
      "| promotion-scope | — | this promotion PR changes `services/order-service/base/service.yaml`, which is not an overlay file",
    );
  });

  it("with no renderer the check says so plainly, as neutral, with how to install one", async () => {
    start({ renderer: new Renderer({ env: { KUSTOMIZE_BIN: "/nonexistent/kustomize" } }) });
    mockInstallationToken(gh.scope, INSTALLATION);
    const check = expectCheck();
    mockConfig(gh.scope, OWNER, REPO, undefined);
    const sha = branch(
      "conveyor/staging/order-service",
      overlay(STAGING, (t) => t.replace('newTag: "1.4.0"', 'newTag: "1.5.0"')),
    );
    expectMergeAttemptThatWaits({ ref: "conveyor/staging/order-service", sha });
    await pullRequest({ ref: "conveyor/staging/order-service", sha }, { bot: true });
    expect(check.completed?.conclusion).toBe("neutral");
    expect(check.completed?.output.title).toBe("No renderer available");
    expect(check.completed?.output.summary).toContain("KUSTOMIZE_BIN is set to /nonexistent/kustomize");
    expect(check.completed?.output.summary).toContain("The Docker image ships kustomize.");
  });

  it("renderSummaryForPr gives a short account for the PR body, without diffs", async () => {
    const sha = branch(
      "conveyor/production/order-service",
      overlay(PRODUCTION, (t) => t.replace('newTag: "1.4.0"', 'newTag: "1.5.0"')),
    );
    const workspace = testApp.services.workspaces.get(`${OWNER}/${REPO}`, remote.url);
    await workspace.sync();
    const config = (parseConfig(null) as { ok: true; config: Config }).config;
    const text = await renderSummaryForPr({
      workspace,
      config,
      base: remote.head("main") as string,
      head: sha,
      renderer,
      cpu: testApp.services.cpu,
    });
    expect(text).toContain("### What changes in the cluster");
    expect(text).toContain("#### ✅ `services/order-service/overlays/production` (order-service in production)");
    expect(text).toContain("- `ghcr.io/acme/order-service:1.4.0` → `ghcr.io/acme/order-service:1.5.0`");
    expect(text).not.toContain("```diff");
  });
});
