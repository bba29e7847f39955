// A flow under test, with its real parts: a bare git repository as the manifests remote, the real
// git workspace, queue and renderer, a GitHub client whose every call meets the strict mock, and
// a log that keeps what was said. Flows are called directly, without a webhook.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitHubApp } from "../../src/adapters/github/app.js";
import type { Octokit } from "../../src/adapters/github/client.js";
import { GitHubRepo } from "../../src/adapters/github/repo.js";
import { Renderer } from "../../src/adapters/renderer.js";
import { Signer } from "../../src/adapters/signing.js";
import { Workspaces } from "../../src/adapters/workspaces.js";
import { repoScope, type RepoScope } from "../../src/flows/repo-scope.js";
import type { Log, Services } from "../../src/flows/services.js";
import { Background } from "../../src/runtime/background.js";
import { CorePool } from "../../src/runtime/core-pool.js";
import { KeyedQueue } from "../../src/runtime/keyed-queue.js";
import { Metrics } from "../../src/runtime/metrics.js";
import { OncePer, Quota } from "../../src/runtime/once-per.js";
import { createManifestsRemote, type ManifestsRemote } from "../../sandbox/manifests-remote.js";
import { mockGitHub, type GitHubMock } from "./github-mock.js";
import { UnthrottledOctokit } from "./probot.js";
import { Later } from "../../src/runtime/later.js";
import type { Verification } from "../../src/core/verification.js";

export const OWNER = "acme";
export const REPO = "manifests";
export const INSTALLATION = 4242;
/** The API path prefix of the manifests repository. */
export const R = `/repos/${OWNER}/${REPO}`;
/** The app's bot login, as GitHub would name it. */
export const BOT = "conveyor[bot]";
/** The key the flows' state markers are signed with in these tests. */
export const MARKER_KEY = "test-marker-key";

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  msg?: string;
  obj: object;
}

export interface FlowWorld {
  remote: ManifestsRemote;
  gh: GitHubMock;
  octokit: Octokit;
  services: Services;
  scope: RepoScope;
  logs: LogLine[];
  cleanup(): void;
}

export function recordingLog(lines: LogLine[], bindings: object = {}): Log {
  const at =
    (level: LogLine["level"]) =>
    (obj: object, msg?: string): void =>
      void lines.push({ level, msg, obj: { ...bindings, ...obj } });
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => recordingLog(lines, { ...bindings, ...more }),
  };
}

/** One core pool for every world of a test file: its idle workers never keep the process alive. */
const cpu = new CorePool();

/** A fresh manifests remote (seeded from fixtures/manifests-repo, plus `files`) and the parts around it. */
export function flowWorld(options: { files?: Record<string, string>; renderer?: Renderer } = {}): FlowWorld {
  const remote = createManifestsRemote(options.files);
  const gh = mockGitHub();
  const octokit = new UnthrottledOctokit({ auth: { token: "ghs_flowtesttoken00000000000000000000" } }) as Octokit;
  const workspaceDir = mkdtempSync(join(tmpdir(), "conveyor-ws-"));
  const metrics = new Metrics();
  const services: Services = {
    github: new GitHubApp(async () => octokit, BOT),
    workspaces: new Workspaces(workspaceDir),
    queue: new KeyedQueue(),
    background: new Background(metrics),
    renderer: options.renderer ?? new Renderer(),
    cpu,
    metrics,
    signer: new Signer(MARKER_KEY),
    answers: new OncePer(3_600_000),
    forkRenders: new Quota(3_600_000, 20),
    later: new Later(),
  };
  const logs: LogLine[] = [];
  const scope = repoScope(services, {
    gh: new GitHubRepo(octokit, { owner: OWNER, repo: REPO }),
    installationId: INSTALLATION,
    cloneUrl: remote.url,
    defaultBranch: "main",
    htmlUrl: `https://github.com/${OWNER}/${REPO}`,
    log: recordingLog(logs),
  });
  return {
    remote,
    gh,
    octokit,
    services,
    scope,
    logs,
    cleanup() {
      remote.cleanup();
      rmSync(workspaceDir, { recursive: true, force: true });
    },
  };
}

/**
 * order-service 1.4.0 -> 1.5.0 merged in staging by PR #12 (Deployment 77): the verification the
 * verdict flows act on, over the world's remote at `commits`.
 */
export function stagingVerification(
  world: FlowWorld,
  commits: { revision: string; base: string },
  overrides: Partial<Verification> = {},
): Verification {
  return {
    repo: { owner: OWNER, repo: REPO, installationId: INSTALLATION, cloneUrl: world.remote.url, defaultBranch: "main" },
    service: "order-service",
    env: "staging",
    app: { namespace: "argocd", name: "order-service-staging" },
    ...commits,
    deploymentId: 77,
    pr: { number: 12, author: "alice", labels: ["conveyor", "env/staging"] },
    from: "ghcr.io/acme/order-service:1.4.0",
    to: "ghcr.io/acme/order-service:1.5.0",
    file: "services/order-service/overlays/staging/kustomization.yaml",
    startedAt: "2026-01-01T10:00:00.000Z",
    policy: { soakMs: 120_000, syncMs: 600_000, healthMs: 900_000, suspendedMs: 3_600_000, degradedGraceMs: 60_000 },
    ...overrides,
  };
}

/** Merges order-service 1.4.0 -> 1.5.0 in staging (PR #12) on the world's remote: main before, and the merge. */
export function mergeStagingChange(world: FlowWorld): { base: string; revision: string } {
  const file = "services/order-service/overlays/staging/kustomization.yaml";
  const base = world.remote.head("main") as string;
  const revision = world.remote.commit(
    "main",
    { [file]: (world.remote.show("main", file) as string).replace('newTag: "1.4.0"', 'newTag: "1.5.0"') },
    "Merge pull request #12 from acme/conveyor/staging/order-service",
  );
  return { base, revision };
}
