// The sandbox world on a generated manifests repo, plus what the benchmarks read from the forge.
import type { ForgeRequest, WebhookDelivery } from "../../sandbox/forge/index.js";
import { OWNER, REPO, startWorld, type World, type WorldOptions } from "../../sandbox/world.js";
import { generateRepo, type RepoSpec } from "./repo.js";
import { run, sleep } from "./common.js";

export { OWNER, REPO };
export const BOT = "conveyor[bot]";

/** Three environments; none merges automatically, so only PRs are measured. */
export const BENCH_CONFIG = `environments:
  - name: staging
  - name: qa
  - name: production
    approvers: [reviewer]
`;

/**
 * Whether Conveyor runs as the image runs it (compiled `dist/`, plain node: the default, set by
 * run.ts after `npm run build`) or from `src/` through tsx (`--source`).
 */
export const runsBuilt = (): boolean => process.env.BENCH_APP !== "source";
export const appLabel = (): string => (runsBuilt() ? "dist/ (npm run build), plain node" : "src/ through tsx");

export async function startGeneratedWorld(
  spec: RepoSpec,
  options: WorldOptions = {},
): Promise<{ world: World; head: string; tags: Map<string, string>; generateMs: number }> {
  let generated: Awaited<ReturnType<typeof generateRepo>> | undefined;
  const world = await startWorld({
    applications: [],
    logLevel: "info",
    built: runsBuilt(),
    ...options,
    // The 30 s rescan for in-progress Deployments is background work, not part of any flow measured here.
    appEnv: {
      CONVEYOR_RESCAN_MS: "3600000",
      // "--import ./bench/lib/cpu-profile.mjs": Conveyor writes a CPU profile when it stops.
      ...(process.env.BENCH_APP_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.BENCH_APP_NODE_OPTIONS, BENCH_PROFILE_DIR: process.env.BENCH_PROFILE_DIR ?? "" }
        : {}),
      ...options.appEnv,
    },
    seedRepo: async (path) => {
      generated = await generateRepo(path, spec);
    },
  });
  const g = generated as NonNullable<typeof generated>;
  return { world, head: g.head, tags: g.tags, generateMs: g.ms };
}

/**
 * Closes the world; a profiled Conveyor (BENCH_APP_NODE_OPTIONS) is first stopped with SIGTERM so
 * it exits on its own and writes its profile. Bounded: a close that hangs (queued webhook
 * deliveries to a stopped app) must not hold the run.
 */
export async function closeWorld(world: World): Promise<void> {
  if (process.env.BENCH_APP_NODE_OPTIONS) await Promise.race([world.stopApp(), sleep(20_000)]);
  await Promise.race([world.close(), sleep(30_000)]);
}

/** Records when each forge request finished (the forge keeps no timestamps); returns a lookup. */
export function stampRequests(world: World): (r: ForgeRequest) => number | undefined {
  const times = new WeakMap<ForgeRequest, number>();
  const requests = world.forge.requests;
  const push = requests.push.bind(requests);
  requests.push = (...items: ForgeRequest[]) => {
    const now = performance.now();
    for (const item of items) times.set(item, now);
    return push(...items);
  };
  return (r) => times.get(r);
}

export const isWrite = (r: ForgeRequest) => r.kind === "api" && ["POST", "PATCH", "PUT", "DELETE"].includes(r.method);
export const isBotApi = (r: ForgeRequest) => r.kind === "api" && r.actor === BOT;

/** Resolves once the app has made no API call for `quietMs` and no webhook is in flight. */
export async function quiescent(world: World, quietMs: number, timeoutMs: number): Promise<void> {
  const stop = Date.now() + timeoutMs;
  let seen = world.forge.requests.length;
  let since = Date.now();
  for (;;) {
    await sleep(100);
    const now = world.forge.requests.length;
    if (now !== seen) {
      seen = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      await world.forge.idle();
      if (world.forge.requests.length === seen) return;
    }
    if (Date.now() > stop) {
      // Say what kept it busy: the last 10 s of requests, by caller, method and path.
      const recent = new Map<string, number>();
      const since10s = performance.now() - 10_000;
      for (const r of world.forge.requests.filter((r) => r.startedAt >= since10s)) {
        const key = `${r.actor ?? "anonymous"} ${r.method} ${r.path.replace(/\/\d+(?=\/|$)/g, "/{n}")}`;
        recent.set(key, (recent.get(key) ?? 0) + 1);
      }
      const busy = [...recent].sort((a, b) => b[1] - a[1]).slice(0, 8);
      throw new Error(
        `the app did not go quiet within ${timeoutMs} ms; requests in the last 10 s: ${busy.map(([k, n]) => `${n}x ${k}`).join(", ") || "none"}`,
      );
    }
  }
}

/** Waits for Conveyor's render check on a commit to complete, then for the app to go quiet. */
export async function settled(world: World, headSha: string, timeoutMs = 120_000): Promise<void> {
  await world.forge.waitForEvent(
    (d) =>
      d.event === "check_run" &&
      d.action === "completed" &&
      (d.payload as { check_run?: { head_sha?: string } }).check_run?.head_sha === headSha,
    timeoutMs,
  );
  await quiescent(world, 1500, timeoutMs);
}

/** The PR for `branch` opened; with `world`, only one opened from now on (a branch may be reused). */
export function prOpened(branch: string, world?: World) {
  const before = world ? world.forge.events.length : 0;
  const earlier = new Set(world?.forge.events.slice(0, before));
  return (d: WebhookDelivery) =>
    !earlier.has(d) &&
    d.event === "pull_request" &&
    d.action === "opened" &&
    (d.payload as { pull_request?: { head?: { ref?: string } } }).pull_request?.head?.ref === branch;
}

/** Conveyor's source state: the commit and the files under src/ that differ from it. */
export async function conveyorRevision(): Promise<{ commit: string; dirty: string[]; app: string }> {
  const root = new URL("../../", import.meta.url).pathname;
  const commit = (await run("git", ["-C", root, "rev-parse", "HEAD"])).stdout.trim();
  const dirty = (await run("git", ["-C", root, "status", "--porcelain", "--", "src", "package.json"])).stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.trim());
  return {
    commit,
    dirty,
    app: appLabel(),
  };
}

/** POST /repos/{owner}/{repo}/dispatches as a CI token; returns the status. */
export async function dispatch(
  world: World,
  token: string,
  service: string,
  image: string,
  environment?: string,
): Promise<{ status: number; retryAfter: number | undefined }> {
  const res = await fetch(`${world.forge.url}/repos/${OWNER}/${REPO}/dispatches`, {
    method: "POST",
    headers: {
      authorization: `token ${token}`,
      "content-type": "application/json",
      accept: "application/vnd.github+json",
    },
    body: JSON.stringify({ event_type: "deploy", client_payload: { service, image, environment } }),
  });
  await res.arrayBuffer();
  const retry = res.headers.get("retry-after");
  return { status: res.status, retryAfter: retry ? Number(retry) : undefined };
}

/** Error-level (pino >= 50) lines of the app log, and 403-mentioning lines. */
export function appLogFindings(world: World): { errors: string[]; rateLimitWarnings: string[]; lines: number } {
  const errors: string[] = [];
  const rateLimitWarnings: string[] = [];
  const lines = world.appLog().split("\n").filter(Boolean);
  for (const line of lines) {
    let level = 0;
    let msg = line;
    try {
      const parsed = JSON.parse(line) as { level?: number; msg?: string };
      level = parsed.level ?? 0;
      msg = parsed.msg ?? line;
    } catch {
      if (/error/i.test(line)) level = 50;
    }
    if (level >= 50) errors.push(msg.slice(0, 300));
    if (/rate limit/i.test(msg)) rateLimitWarnings.push(msg.slice(0, 300));
  }
  return { errors, rateLimitWarnings, lines: lines.length };
}
