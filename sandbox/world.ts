// A whole local world: the forge (GitHub stand-in), the simulated Argo CD, and the real Conveyor
// server as its own process, wired together over real HTTP, real git and signed webhooks. Used by
// `npm run sandbox` and the end-to-end tests.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { startForge, type Forge } from "./forge/index.js";
import { SEED_DIR } from "./manifests-remote.js";
import { generateAppKeyPair } from "./forge/testing.js";
import { startArgoSim, type ArgoSim, type ArgoSimApplication, type ArgoSimTimings } from "./argo/controller.js";
import { recordDeployedSources, seedServiceRepos, type ServiceRepo } from "./service-repos.js";
import { Supervisor } from "./supervisor.js";

const SERVER_ENTRY = fileURLToPath(new URL("../src/server.ts", import.meta.url));
/** The compiled server (`npm run build`), what the image runs. */
const BUILT_ENTRY = fileURLToPath(new URL("../dist/server.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../", import.meta.url));

export const OWNER = "acme";
export const REPO = "manifests";
export const SERVICES = ["order-service", "user-service", "payment-service"] as const;
/** Seeded with a release strategy's overlay layout: cart-service blue-green, catalog-service canary. */
export const STRATEGY_SERVICES = ["cart-service", "catalog-service"] as const;
export const ENVIRONMENTS = ["staging", "production"] as const;

/** Config with timings compressed so the whole story fits in a minute. */
export const SANDBOX_CONFIG = `# Conveyor config for the sandbox: timings compressed so the demo ends in about two minutes.
environments:
  - name: staging
    autoMerge: true
    soak: 2s
    timeouts: { sync: 30s, health: 30s, suspended: 30s, degradedGrace: 1s }
  - name: production
    approvers: [reviewer]
    soak: 2s
    timeouts: { sync: 30s, health: 30s, suspended: 30s, degradedGrace: 1s }
rollback:
  auto: true
  autoMerge: true
`;

/** The demo's config: the sandbox's, with cart-service released blue-green. */
export const DEMO_CONFIG = `${SANDBOX_CONFIG}services:
  cart-service:
    strategy: blueGreen
`;

export interface WorldOptions {
  /** Extra or replacement files for the seeded manifests repo (path -> text). */
  files?: Record<string, string>;
  config?: string;
  argoTimings?: Partial<ArgoSimTimings>;
  /** Apps deployed through an Argo Rollouts canary. */
  rollouts?: string[];
  appPort?: number;
  forgePort?: number;
  /** Conveyor's log level (default warn; the sandbox narrates instead). */
  logLevel?: string;
  /** Where Conveyor's stdout/stderr go (default: kept in memory, see world.appLog()). */
  appOutput?: "inherit" | "buffer";
  tickMs?: number;
  rateLimit?: { limit: number; windowMs: number };
  /** Writes the manifests repo into the forge's bare repository (its path) instead of seeding the fixtures; `files` and `config` are then unused. */
  seedRepo?: (bareRepoPath: string) => Promise<void>;
  /** Argo CD Applications to simulate instead of SERVICES x ENVIRONMENTS. */
  applications?: ArgoSimApplication[];
  /** Run the Lease election (against the simulated cluster); off by default so a restarted app leads at once. */
  leaderElection?: boolean;
  /** Extra environment variables for the Conveyor process. */
  appEnv?: Record<string, string>;
  /** Where the app's supervisor says what it does: crashes, restarts, back-off (default: nowhere). */
  onSupervisorLog?: (line: string) => void;
  /** The manifests repository's merge settings (GitHub's default: every method allowed), set as an admin would. */
  mergeMethods?: { merge?: boolean; squash?: boolean; rebase?: boolean };
  /** Seed the service repositories (acme/order-service, ...) with a history, and record 1.4.0 as built from it. */
  serviceRepos?: boolean;
  /**
   * Run the compiled server (`dist/server.js`, from `npm run build`) with plain node, as the image
   * does, instead of the TypeScript sources through tsx. The benchmarks do, so they measure what
   * ships and not the transpiler's hooks and source maps.
   */
  built?: boolean;
}

export interface World {
  forge: Forge;
  argo: ArgoSim;
  dir: string;
  repoPath: string;
  kubeconfig: string;
  appUrl: string;
  webhookUrl: string;
  /** The web dashboard; `signInUrl(user)` signs a forge user in with one click. */
  dashboardUrl: string;
  signInUrl(user: string): string;
  tokens: { admin: string; reviewer: string; outsider: string };
  installationId: number;
  /** The seeded service repositories (with `serviceRepos`), by service. */
  serviceRepos: Record<string, ServiceRepo>;
  /** The current (or last) Conveyor process. */
  app: ChildProcess;
  /** Runs Conveyor like a Deployment: restarts it a second after a crash, backing off if it keeps crashing. */
  supervisor: Supervisor;
  appLog(): string;
  /** The running Conveyor process's id; undefined while it is down. */
  appPid(): number | undefined;
  /** Starts (or restarts) the Conveyor process; resolves once it is ready. */
  startApp(): Promise<void>;
  /** Kills the Conveyor process abruptly (SIGKILL), as a crash would, and keeps it down until startApp(). */
  killApp(): Promise<void>;
  /** Asks the Conveyor process to stop (SIGTERM), as Kubernetes does; resolves with its exit code. Not restarted. */
  stopApp(): Promise<number | null>;
  /** Kills the Conveyor process (SIGKILL) behind the supervisor's back; resolves with its pid once it has exited. */
  crash(): Promise<number | undefined>;
  /** Resolves with the pid of the restarted process once it is ready (a process other than `pid`, default the current one). */
  waitForRestart(pid?: number, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "conveyor-world-"));
  const keys = generateAppKeyPair();
  const webhookSecret = randomBytes(24).toString("hex");
  const appPort = options.appPort ?? (await freePort());
  const appUrl = `http://127.0.0.1:${appPort}`;
  const webhookUrl = `${appUrl}/api/github/webhooks`;
  const appId = 4242;

  const forge = await startForge({
    dataDir: join(dir, "forge"),
    port: options.forgePort ?? 0,
    webhook: { url: webhookUrl, secret: webhookSecret },
    app: { id: appId, slug: "conveyor", publicKeyPem: keys.publicKeyPem, name: "Conveyor" },
    rateLimit: options.rateLimit,
    log: () => undefined,
  });
  const repo = await forge.createRepo(OWNER, REPO, { defaultBranch: "main" });
  const installationId = forge.installApp(OWNER);
  if (options.mergeMethods) {
    const { merge, squash, rebase } = options.mergeMethods;
    const res = await fetch(`${forge.url}/repos/${OWNER}/${REPO}`, {
      method: "PATCH",
      headers: { authorization: `token ${forge.token("admin")}`, "content-type": "application/json" },
      body: JSON.stringify({ allow_merge_commit: merge, allow_squash_merge: squash, allow_rebase_merge: rebase }),
    });
    if (!res.ok) throw new Error(`forge: setting the merge methods failed: ${res.status} ${await res.text()}`);
  }
  if (options.seedRepo) await options.seedRepo(repo.path);
  else {
    const files = { ...readTree(SEED_DIR), ".github/conveyor.yml": options.config ?? SANDBOX_CONFIG, ...options.files };
    await forge.seed(OWNER, REPO, files, "Seed manifests", { silent: true });
  }

  const serviceRepos = options.serviceRepos ? await seedServiceRepos(forge, OWNER, SERVICES) : {};
  if (options.serviceRepos)
    await recordDeployedSources(
      forge,
      { owner: OWNER, repo: REPO },
      serviceRepos,
      ENVIRONMENTS,
      (service) => `ghcr.io/${OWNER}/${service}:1.4.0`,
    );

  const argo = await startArgoSim({
    repoPath: repo.path,
    branch: "main",
    repoURL: forge.gitUrl(OWNER, REPO),
    applications:
      options.applications ??
      [...SERVICES, ...STRATEGY_SERVICES].flatMap((service) =>
        ENVIRONMENTS.map((env) => ({
          name: `${service}-${env}`,
          path: `services/${service}/overlays/${env}`,
          ...(options.rollouts?.includes(`${service}-${env}`) ? { rollout: { canarySteps: 2, pauseMs: 600 } } : {}),
        })),
      ),
    timings: {
      pollIntervalMs: 200,
      syncDelayMs: 150,
      autoSyncDelayMs: 50,
      operationMs: 200,
      postSyncRefreshMs: 50,
      progressingMs: 500,
      degradedAfterMs: 800,
      rolloutStepMs: 200,
      bookmarkIntervalMs: 2000,
      ...options.argoTimings,
    },
  });
  const kubeconfig = join(dir, "kubeconfig");
  await argo.writeKubeconfig(kubeconfig);

  const workspaceDir = join(dir, "workspaces");
  mkdirSync(workspaceDir, { recursive: true });
  let output = "";
  const appEnv = () => {
    const forgeHost = new URL(forge.url).host;
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "production",
      APP_ID: String(appId),
      // The App's OAuth client: the web dashboard signs people in through the forge.
      GITHUB_CLIENT_ID: forge.oauthClient().clientId,
      GITHUB_CLIENT_SECRET: forge.oauthClient().clientSecret,
      CONVEYOR_PUBLIC_URL: appUrl,
      PRIVATE_KEY: keys.privateKeyPem,
      WEBHOOK_SECRET: webhookSecret,
      GHE_HOST: forgeHost,
      GHE_PROTOCOL: "http",
      HOST: "127.0.0.1",
      PORT: String(appPort),
      LOG_LEVEL: options.logLevel ?? "info",
      LOG_FORMAT: "json",
      KUBECONFIG: kubeconfig,
      ARGOCD_NAMESPACE: "argocd",
      CONVEYOR_WORKSPACE_DIR: workspaceDir,
      CONVEYOR_TICK_MS: String(options.tickMs ?? 250),
      CONVEYOR_LEADER_ELECTION: options.leaderElection ? "true" : "false",
      POD_NAMESPACE: "conveyor",
      ...options.appEnv,
    };
    return env as NodeJS.ProcessEnv;
  };
  const supervisor = new Supervisor({
    name: "Conveyor",
    command: process.execPath,
    args: options.built ? [BUILT_ENTRY] : ["--import", "tsx", SERVER_ENTRY],
    cwd: ROOT,
    env: appEnv,
    stdio: options.appOutput === "inherit" ? "inherit" : "pipe",
    onOutput: (text) => (output += text),
    ready: async () => (await fetch(`${appUrl}/readyz`)).ok,
    readyTimeoutMs: 45_000,
    log: (line) => options.onSupervisorLog?.(line),
  });

  const startApp = async () => {
    try {
      await supervisor.start();
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}:\n${output.slice(-4000)}`);
    }
  };

  const killApp = async () => {
    await supervisor.stop("SIGKILL");
  };

  const stopApp = () => supervisor.stop("SIGTERM");

  const crash = async () => {
    const pid = supervisor.pid;
    const child = supervisor.child;
    if (pid === undefined || !child) return undefined;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(pid, "SIGKILL");
    await exited;
    return pid;
  };

  try {
    await startApp();
  } catch (error) {
    await supervisor.close();
    await argo.close();
    await forge.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    forge,
    argo,
    dir,
    repoPath: repo.path,
    kubeconfig,
    appUrl,
    webhookUrl,
    dashboardUrl: `${appUrl}/dashboard`,
    signInUrl: (user) => `${appUrl}/dashboard/login?as=${encodeURIComponent(user)}`,
    tokens: { admin: forge.token("admin"), reviewer: forge.token("reviewer"), outsider: forge.token("outsider") },
    installationId,
    serviceRepos,
    get app() {
      return supervisor.child as ChildProcess;
    },
    supervisor,
    appLog: () => output,
    appPid: () => supervisor.pid,
    startApp,
    killApp,
    stopApp,
    crash,
    waitForRestart: (pid = supervisor.pid, timeoutMs = 60_000) =>
      supervisor.waitForReady({ otherThan: pid, timeoutMs }),
    async close() {
      await supervisor.close();
      await argo.close();
      await forge.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function readTree(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path, "utf8");
    }
  };
  walk(root);
  return files;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
