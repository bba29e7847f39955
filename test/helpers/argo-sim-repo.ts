// A bare manifests repo for the simulated Argo CD to follow, with one overlay per service+env,
// pushed to through a working clone.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface SimRepo {
  bare: string;
  setTag(service: string, env: string, tag: string): Promise<void>;
  /** Commits and pushes to main; returns the new head. */
  commit(message: string): Promise<string>;
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", args, { cwd });
  return stdout.trim();
}

function kustomization(service: string, tag: string): string {
  return [
    "resources:",
    "  - ../../base",
    "images:",
    `  - name: ghcr.io/acme/${service}`,
    `    newTag: "${tag}"`,
    "",
  ].join("\n");
}

export async function makeSimRepo(root: string, services: Record<string, string[]>): Promise<SimRepo> {
  const bare = join(root, "manifests.git");
  const work = join(root, "work");
  await run("git", ["-c", "init.defaultBranch=main", "init", "--bare", "-q", bare]);
  await run("git", ["-c", "init.defaultBranch=main", "init", "-q", work]);
  await git(work, "config", "user.email", "ci@example.com");
  await git(work, "config", "user.name", "CI");
  await git(work, "remote", "add", "origin", bare);
  const repo: SimRepo = {
    bare,
    async setTag(service, env, tag) {
      const dir = join(work, "services", service, "overlays", env);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "kustomization.yaml"), kustomization(service, tag));
    },
    async commit(message) {
      await git(work, "add", "-A");
      await git(work, "commit", "-q", "-m", message);
      await git(work, "push", "-q", "origin", "HEAD:main");
      return git(work, "rev-parse", "HEAD");
    },
  };
  for (const [service, envs] of Object.entries(services)) {
    const base = join(work, "services", service, "base");
    await mkdir(base, { recursive: true });
    await writeFile(join(base, "kustomization.yaml"), "resources:\n  - deployment.yaml\n");
    await writeFile(
      join(base, "deployment.yaml"),
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${service}\n`,
    );
    for (const env of envs) await repo.setTag(service, env, "1.0.0");
  }
  await repo.commit("initial manifests");
  return repo;
}

export const FAST_SIM = {
  pollIntervalMs: 40,
  syncDelayMs: 20,
  autoSyncDelayMs: 20,
  operationMs: 40,
  postSyncRefreshMs: 20,
  progressingMs: 80,
  degradedAfterMs: 80,
  rolloutStepMs: 30,
  bookmarkIntervalMs: 40,
};

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns something truthy. */
export async function eventually<T>(
  check: () => T | undefined | false,
  timeoutMs = 8_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}
