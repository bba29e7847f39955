// Benchmark 2: a burst of deploy events (300 services within ten seconds) with GitHub's
// secondary rate limit on, scaled down in time. Every PR must exist exactly once, no event may be
// lost, and every 403 must be waited out and retried.
import type { ForgeRequest } from "../sandbox/forge/index.js";
import {
  cpuSeconds,
  cpuSecondsOfTree,
  deadline,
  load1m,
  log,
  machine,
  percentile,
  sleep,
  summary,
  table,
  writeResult,
} from "./lib/common.js";
import { imageOf, serviceName } from "./lib/repo.js";
import {
  appLogFindings,
  closeWorld,
  BENCH_CONFIG,
  conveyorRevision,
  dispatch,
  isBotApi,
  isWrite,
  OWNER,
  quiescent,
  REPO,
  stampRequests,
  startGeneratedWorld,
} from "./lib/world.js";

export interface BurstParams {
  /** Services in the generated repo, and how many of them get a deploy event. */
  repoServices: number;
  commits: number;
  burst: number;
  /** The dispatches are spread evenly over this window. */
  sendWindowMs: number;
  /** Secondary limit: writes per window per token (GitHub: about 80 per minute). */
  limit: number;
  windowMs: number;
  /** CI tokens the dispatches are sent with (each its own rate-limit bucket, as per-repo CI tokens are). */
  ciTokens: number;
  /** The whole run (after the repo is generated) must end within this. */
  deadlineMs: number;
}

export const DEFAULT_BURST: BurstParams = {
  repoServices: 1000,
  commits: 5000,
  burst: 300,
  sendWindowMs: 9_500,
  limit: 80,
  windowMs: 6_000,
  ciTokens: 10,
  deadlineMs: 600_000,
};
export const QUICK_BURST: BurstParams = {
  repoServices: 100,
  commits: 200,
  burst: 20,
  sendWindowMs: 2_000,
  limit: 8,
  windowMs: 6_000,
  ciTokens: 2,
  deadlineMs: 180_000,
};

export async function benchBurst(params: BurstParams = DEFAULT_BURST, quick = false) {
  const host = await machine();
  const revision = await conveyorRevision();
  log(
    `burst: generating ${params.repoServices} services x 3 envs, ${params.commits} commits; rate limit ${params.limit} writes / ${params.windowMs} ms`,
  );
  const { world } = await startGeneratedWorld(
    {
      services: params.repoServices,
      envs: ["staging", "qa", "production"],
      commits: params.commits,
      config: BENCH_CONFIG,
    },
    {
      rateLimit: { limit: params.limit, windowMs: params.windowMs },
      // Octokit's own spacing (1 s per write, 3 s per write that notifies) compressed like the limit.
      appEnv: {
        CONVEYOR_WRITE_INTERVAL_MS: String(clientSpacing(params).writeMs),
        CONVEYOR_NOTIFY_INTERVAL_MS: String(clientSpacing(params).notifyMs),
      },
    },
  );
  const stamp = stampRequests(world);
  const tokens = Array.from({ length: params.ciTokens }, (_, i) =>
    world.forge.addUser(`ci-${i}`, { permission: "write" }),
  );
  const services = Array.from({ length: params.burst }, (_, i) => serviceName(i));
  const branches = new Set(services.map((s) => `conveyor/staging/${s}`));
  const sentAt = new Map<string, number>();
  const openedAt = new Map<string, number>();
  const heads = new Map<string, string>();
  const rendered = new Set<string>();
  const dispatchStatuses: number[] = [];
  let ciRetries = 0;
  let status: "complete" | "deadline" = "complete";
  let failure: string | undefined;
  const cpuAtStart = { app: cpuSecondsOfTree(world.app.pid ?? 0), bench: cpuSeconds("self") };
  const startIndex = world.forge.requests.length;
  const startEvents = world.forge.events.length;
  let t0 = 0;
  let sentAll = 0;
  let lastSend = 0;
  let cancelled = false;
  let allOpened = 0;
  let doneAt = 0;

  const watcher = setInterval(() => {
    for (const d of world.forge.events.slice(startEvents)) {
      const p = d.payload as {
        pull_request?: { head?: { ref?: string; sha?: string } };
        check_run?: { head_sha?: string; name?: string };
      };
      const ref = p.pull_request?.head?.ref;
      if (d.event === "pull_request" && d.action === "opened" && ref && branches.has(ref) && !openedAt.has(ref)) {
        openedAt.set(ref, performance.now());
        heads.set(p.pull_request?.head?.sha ?? "", ref);
      }
      if (d.event === "check_run" && d.action === "completed" && p.check_run?.head_sha)
        rendered.add(p.check_run.head_sha);
    }
  }, 100);

  try {
    const run = async () => {
      t0 = performance.now();
      const sends: Promise<void>[] = [];
      for (let i = 0; i < services.length; i++) {
        const service = services[i] as string;
        const at = t0 + (i * params.sendWindowMs) / services.length;
        await sleep(Math.max(0, at - performance.now()));
        sentAt.set(`conveyor/staging/${service}`, performance.now());
        sends.push(
          (async () => {
            for (let attempt = 0; attempt < 5; attempt++) {
              const res = await dispatch(
                world,
                tokens[i % tokens.length] as string,
                service,
                `${imageOf(service)}:9.0.0`,
              );
              dispatchStatuses.push(res.status);
              if (res.status !== 403) return;
              ciRetries++;
              await sleep((res.retryAfter ?? 1) * 1000);
            }
          })(),
        );
      }
      lastSend = performance.now();
      await Promise.all(sends);
      sentAll = performance.now();
      log(`burst: ${services.length} dispatches sent in ${Math.round(sentAll - t0)} ms`);
      let lastReport = 0;
      while (!cancelled && (openedAt.size < services.length || [...heads.keys()].some((sha) => !rendered.has(sha)))) {
        await sleep(250);
        if (performance.now() - lastReport > 15_000) {
          lastReport = performance.now();
          log(
            `burst: ${openedAt.size}/${services.length} PRs open, ${[...heads.keys()].filter((s) => rendered.has(s)).length} render checks done, +${Math.round((performance.now() - t0) / 1000)} s`,
          );
        }
        if (openedAt.size === services.length && !allOpened) allOpened = performance.now();
      }
      if (cancelled) return;
      if (!allOpened) allOpened = performance.now();
      await quiescent(world, 3000, 120_000);
      doneAt = performance.now();
    };
    try {
      await deadline(run(), params.deadlineMs, "burst");
    } catch (error) {
      status = "deadline";
      cancelled = true;
      failure = error instanceof Error ? error.message : String(error);
      doneAt = performance.now();
    }
    clearInterval(watcher);
    // Who used the two cores: Conveyor (with its git and kubectl) against this process (the forge,
    // its git http-backend, the simulated Argo CD, the bookkeeping).
    const cpu = { app: cpuSecondsOfTree(world.app.pid ?? 0), bench: cpuSeconds("self") };
    const renders = status === "complete" ? await renderCounts(world.appUrl) : undefined;
    // Deliveries not yet made when the run ended (the forge delivers one at a time per repository).
    const queuedAtEnd = world.forge.events
      .slice(startEvents)
      .filter((d) => d.event === "repository_dispatch" && d.status === null && d.error === null).length;
    // Freeze the state at the deadline: the app would otherwise keep opening PRs while we count.
    if (status === "deadline") await world.killApp();

    // Every PR exactly once: ask the forge like a person would (all states).
    const byNumber = new Map<number, string>();
    for (let page = 1; ; page++) {
      const res = await fetch(`${world.forge.url}/repos/${OWNER}/${REPO}/pulls?state=all&per_page=100&page=${page}`, {
        headers: { authorization: `token ${world.tokens.admin}` },
      });
      const pulls = (await res.json()) as Array<{ number: number; head: { ref: string } }>;
      for (const pr of pulls) byNumber.set(pr.number, pr.head.ref);
      if (pulls.length < 100) break;
    }
    const perBranch = new Map<string, number>();
    for (const ref of byNumber.values()) perBranch.set(ref, (perBranch.get(ref) ?? 0) + 1);
    const counts = services.map((s) => perBranch.get(`conveyor/staging/${s}`) ?? 0);
    const deliveries = world.forge.events.slice(startEvents).filter((d) => d.event === "repository_dispatch");
    const deliveredOk = deliveries.filter((d) => d.status !== null && d.status < 300).length;
    const deliveryPending = queuedAtEnd;
    const deliveryFailed = deliveries.length - deliveredOk - deliveryPending;

    const requests = world.forge.requests.slice(startIndex);
    const bot = requests.filter(isBotApi);
    const writes = bot.filter((r) => isWrite(r) && r.status < 300);
    const forbidden = bot.filter((r) => r.status === 403 || r.status === 429);
    const retried = forbidden.map((r) => {
      const i = bot.indexOf(r);
      return bot.slice(i + 1).some((later) => later.method === r.method && later.path === r.path && later.status < 300);
    });
    const times = writes.map(stamp).filter((t): t is number => t !== undefined);
    const lastWrite = times.length ? Math.max(...times) : doneAt;
    const findings = appLogFindings(world);
    const floorS = (writes.length / params.limit) * (params.windowMs / 1000);
    // Octokit's spacing, compressed like the limit: writes one interval apart, and writes that
    // notify people (opening a PR, commenting) a longer one apart.
    const spacing = clientSpacing(params);
    const notifying = writes.filter((r) => NOTIFYING.test(`${r.method} ${r.path}`)).length;
    const clientFloorS = Math.max(writes.length * spacing.writeMs, notifying * spacing.notifyMs) / 1000;
    const latencies = [...openedAt.entries()].map(([branch, at]) => at - (sentAt.get(branch) ?? at));
    const endpoints = new Map<string, number>();
    for (const r of writes) {
      const key = `${r.method} ${r.path.replace(/\/repos\/[^/]+\/[^/]+/, "").replace(/\/\d+(?=\/|$)/g, "/{n}")}`;
      endpoints.set(key, (endpoints.get(key) ?? 0) + 1);
    }
    const totalS = (lastWrite - t0) / 1000;
    const result = {
      benchmark: "burst",
      status,
      failure,
      machine: { ...host, loadAverage1mAtEnd: load1m() },
      conveyor: revision,
      parameters: {
        ...params,
        timeScale: `${params.limit} writes per ${params.windowMs / 1000} s (GitHub: ~80 per 60 s), i.e. time compressed ${Math.round(60_000 / params.windowMs)}x`,
        autoMerge: false,
      },
      figures: {
        dispatchesSent: services.length,
        lastDispatchStartedMs: Math.round(lastSend - t0),
        allDispatchesAnsweredMs: Math.round(sentAll - t0),
        dispatchStatuses: countBy(dispatchStatuses),
        ciDispatchRetries: ciRetries,
        repositoryDispatchDelivered: `${deliveredOk}/${deliveries.length}`,
        repositoryDispatchFailed: deliveryFailed,
        repositoryDispatchStillQueuedAtEnd: deliveryPending,
        prsOpened: openedAt.size,
        branchesWithExactlyOnePr: counts.filter((c) => c === 1).length,
        branchesWithNoPr: counts.filter((c) => c === 0).length,
        branchesWithDuplicatePrs: counts.filter((c) => c > 1).length,
        duplicateBranches: services.filter((_, i) => (counts[i] ?? 0) > 1),
        pullRequestOpenedEventsPerBranchMax: Math.max(
          0,
          ...countOpened(world.forge.events.slice(startEvents)).values(),
        ),
        renderChecksCompleted: [...heads.keys()].filter((s) => rendered.has(s)).length,
        dispatchToPrMs: summary(latencies),
        firstDispatchToAllPrsS: status === "complete" ? Math.round((allOpened - t0) / 100) / 10 : null,
        firstDispatchToLastWriteS: Math.round(totalS * 10) / 10,
        prsPerMinute:
          Math.round((openedAt.size / (((status === "complete" ? allOpened : doneAt) - t0) / 60_000)) * 10) / 10,
        botApiCalls: bot.length,
        botWrites: writes.length,
        botWritesByEndpoint: Object.fromEntries(endpoints),
        botWritesPerPr: Math.round((writes.length / Math.max(1, openedAt.size)) * 100) / 100,
        rateLimitFloorS: Math.round(floorS * 10) / 10,
        totalOverFloor: Math.round((totalS / floorS) * 100) / 100,
        clientSpacingMs: spacing,
        botNotifyingWrites: notifying,
        clientSpacingFloorS: Math.round(clientFloorS * 10) / 10,
        totalOverClientFloor: Math.round((totalS / clientFloorS) * 100) / 100,
        forbidden: forbidden.length,
        forbiddenRetried: retried.filter(Boolean).length,
        forbiddenSample: forbidden.slice(0, 5).map((r: ForgeRequest) => `${r.method} ${r.path} ${r.status}`),
        appLogErrors: findings.errors.length,
        appLogErrorSample: findings.errors.slice(0, 5),
        appLogRateLimitWarnings: findings.rateLimitWarnings.length,
        p95OpenMs: Math.round(percentile(latencies, 95)),
        cpuSecondsConveyor:
          cpu.app !== undefined && cpuAtStart.app !== undefined
            ? Math.round((cpu.app.total - cpuAtStart.app.total) * 10) / 10
            : null,
        cpuSecondsConveyorNode:
          cpu.app !== undefined && cpuAtStart.app !== undefined
            ? Math.round((cpu.app.own - cpuAtStart.app.own) * 10) / 10
            : null,
        cpuSecondsConveyorPerPr:
          cpu.app !== undefined && cpuAtStart.app !== undefined
            ? Math.round(((cpu.app.total - cpuAtStart.app.total) / Math.max(1, openedAt.size)) * 1000) / 1000
            : null,
        renderKustomizeRuns: renders?.runs ?? null,
        renderSharedRuns: renders?.shared ?? null,
        renderSharedOverlays: renders?.overlays ?? null,
        renderCached: renders?.cached ?? null,
        cpuSecondsForgeAndBench:
          cpu.bench !== undefined && cpuAtStart.bench !== undefined
            ? Math.round((cpu.bench - cpuAtStart.bench) * 10) / 10
            : null,
      },
    };
    const f = result.figures;
    const ok =
      status === "complete" &&
      f.branchesWithExactlyOnePr === services.length &&
      deliveredOk === services.length &&
      f.forbiddenRetried === f.forbidden &&
      f.appLogErrors === 0;
    const file = writeResult(quick ? "burst.quick" : "burst", { ...result, ok });
    console.log(
      `\nBurst: ${services.length} dispatches in ${(params.sendWindowMs / 1000).toFixed(1)} s, limit ${params.limit} writes / ${params.windowMs / 1000} s -> ${file}`,
    );
    console.log(
      table([
        ["status", status, failure ?? ""],
        [
          "PRs with exactly one PR per branch",
          `${f.branchesWithExactlyOnePr}/${services.length}`,
          `none: ${f.branchesWithNoPr}, duplicates: ${f.branchesWithDuplicatePrs}`,
        ],
        [
          "repository_dispatch delivered (2xx)",
          f.repositoryDispatchDelivered,
          `failed: ${f.repositoryDispatchFailed}, still queued in the forge: ${f.repositoryDispatchStillQueuedAtEnd}`,
        ],
        ["PRs per minute", f.prsPerMinute],
        ["403/429 from the forge (bot) / retried", `${f.forbidden} / ${f.forbiddenRetried}`],
        ["app log errors", f.appLogErrors],
        ["first dispatch -> all PRs open (s)", f.firstDispatchToAllPrsS ?? "not reached"],
        ["first dispatch -> last write (s)", f.firstDispatchToLastWriteS],
        ["bot writes (per PR)", `${f.botWrites} (${f.botWritesPerPr})`],
        ["rate-limit floor: writes / limit x window (s)", f.rateLimitFloorS, `total / floor = ${f.totalOverFloor}`],
        [
          "client spacing floor (s)",
          f.clientSpacingFloorS,
          `${f.botNotifyingWrites} notifying writes x ${spacing.notifyMs} ms; total / floor = ${f.totalOverClientFloor}`,
        ],
        ["dispatch -> PR open p50 / p95 (ms)", `${f.dispatchToPrMs.p50} / ${f.dispatchToPrMs.p95}`],
        [
          "CPU seconds: Conveyor with its git and kubectl / the forge and the rest",
          `${f.cpuSecondsConveyor ?? "?"} / ${f.cpuSecondsForgeAndBench ?? "?"}`,
          `Conveyor's Node process: ${f.cpuSecondsConveyorNode ?? "?"}, its children (git, kubectl): ${
            f.cpuSecondsConveyor !== null && f.cpuSecondsConveyorNode !== null
              ? Math.round((f.cpuSecondsConveyor - f.cpuSecondsConveyorNode) * 10) / 10
              : "?"
          }`,
        ],
        [
          "CPU seconds per PR, with its render check (Conveyor and its children)",
          f.cpuSecondsConveyorPerPr ?? "?",
          f.cpuSecondsConveyorPerPr !== null && f.cpuSecondsConveyorPerPr <= 0.2
            ? "target <= 0.2: met"
            : "target <= 0.2: MISSED",
        ],
        [
          "first dispatch -> last write / rate-limit floor",
          `${f.totalOverFloor}x`,
          f.totalOverFloor <= 1.3 ? "target <= 1.3x: met" : "target <= 1.3x: MISSED",
        ],
        [
          "kustomize runs (shared runs, overlays they rendered)",
          f.renderKustomizeRuns ?? "?",
          `${f.renderSharedRuns ?? "?"} shared, ${f.renderSharedOverlays ?? "?"} overlays in them; ${f.renderCached ?? "?"} renders from the cache`,
        ],
        ["1-min load average at start / end", `${host.loadAverage1m} / ${load1m()}`],
      ]),
    );
    if (!ok) throw new Error(`burst did not meet its checks (status ${status}); see ${file}`);
    return result;
  } finally {
    clearInterval(watcher);
    await closeWorld(world);
  }
}

/** The renderer's counts since Conveyor started, from its /metrics; undefined when not served. */
async function renderCounts(
  appUrl: string,
): Promise<{ runs: number; shared: number; overlays: number; cached: number } | undefined> {
  try {
    const text = await (await fetch(`${appUrl}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
    const counts = {
      runs: value("conveyor_render_kustomize_runs"),
      shared: value("conveyor_render_shared_runs"),
      overlays: value("conveyor_render_shared_overlays"),
      cached: value("conveyor_render_cached"),
    };
    return Object.values(counts).every(Number.isFinite) ? counts : undefined;
  } catch {
    return undefined;
  }
}

/** Octokit's write spacing (1 s, 3 s when it notifies), compressed by the same factor as the limit. */
function clientSpacing(params: BurstParams): { writeMs: number; notifyMs: number } {
  const compression = 60_000 / params.windowMs;
  return { writeMs: Math.round(1000 / compression), notifyMs: Math.round(3000 / compression) };
}

/** Writes Octokit spaces as notifying: opening PRs and issues, comments, merges, reviews. */
const NOTIFYING =
  /^POST \/repos\/[^/]+\/[^/]+\/(pulls|issues|issues\/\d+\/comments|pulls\/\d+\/(reviews|comments|requested_reviewers))$|^PUT \/repos\/[^/]+\/[^/]+\/pulls\/\d+\/merge$/;

function countOpened(
  events: Array<{ event: string; action: string | null; payload: Record<string, unknown> }>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of events) {
    const ref = (d.payload as { pull_request?: { head?: { ref?: string } } }).pull_request?.head?.ref;
    if (d.event === "pull_request" && d.action === "opened" && ref) out.set(ref, (out.get(ref) ?? 0) + 1);
  }
  return out;
}

function countBy(values: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}
