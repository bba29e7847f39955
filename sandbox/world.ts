// A whole local world: the forge (GitHub stand-in), the simulated Argo CD, and the real Conveyor
// server as its own process, wired together over real HTTP, real git and signed webhooks. Used by
// `npm run sandbox` and the end-to-end tests.
import { spawn, type ChildProcess } from "node:child_process";
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

const SERVER_ENTRY = fileURLToPath(new URL("../src/server.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../", import.meta.url));

export const OWNER = "acme";
export const REPO = "manifests";
export const SERVICES = ["order-service", "user-service", "payment-service"] as const;
export const ENVIRONMENTS = ["staging", "production"] as const;

/** Config with timings compressed so the whole story fits in a minute. */
export const SANDBOX_CONFIG = `# Conveyor config for the sandbox: timings compressed so the demo ends within a minute.
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
}

export interface World {
  forge: Forge;
  argo: ArgoSim;
  dir: string;
  repoPath: string;
  kubeconfig: string;
  appUrl: string;
  webhookUrl: string;
  tokens: { admin: string; reviewer: string; outsider: string };
  installationId: number;
  app: ChildProcess;
  appLog(): string;
  /** Starts (or restarts) the Conveyor process. */
  startApp(): Promise<void>;
  /** Kills the Conveyor process abruptly (SIGKILL), as a crash would. */
  killApp(): Promise<void>;
  /** Asks the Conveyor process to stop (SIGTERM), as Kubernetes does; resolves with its exit code. */
  stopApp(): Promise<number | null>;
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
  if (options.seedRepo) await options.seedRepo(repo.path);
  else {
    const files = { ...readTree(SEED_DIR), ".github/conveyor.yml": options.config ?? SANDBOX_CONFIG, ...options.files };
    await forge.seed(OWNER, REPO, files, "Seed manifests", { silent: true });
  }

  const argo = await startArgoSim({
    repoPath: repo.path,
    branch: "main",
    repoURL: forge.gitUrl(OWNER, REPO),
    applications:
      options.applications ??
      SERVICES.flatMap((service) =>
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
  let app: ChildProcess | undefined;

  const startApp = async () => {
    const forgeHost = new URL(forge.url).host;
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "production",
      APP_ID: String(appId),
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
    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", SERVER_ENTRY], {
      cwd: ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: options.appOutput === "inherit" ? "inherit" : "pipe",
    });
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    app = child;
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`Conveyor exited with ${child.exitCode}:\n${output.slice(-4000)}`);
      try {
        const res = await fetch(`${appUrl}/readyz`);
        return res.ok;
      } catch {
        return false;
      }
    }, 30_000);
  };

  const killApp = async () => {
    const child = app;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  };

  const stopApp = async () => {
    const child = app;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    return exited;
  };

  await startApp();

  return {
    forge,
    argo,
    dir,
    repoPath: repo.path,
    kubeconfig,
    appUrl,
    webhookUrl,
    tokens: { admin: forge.token("admin"), reviewer: forge.token("reviewer"), outsider: forge.token("outsider") },
    installationId,
    get app() {
      return app as ChildProcess;
    },
    appLog: () => output,
    startApp,
    killApp,
    stopApp,
    async close() {
      await killApp();
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
