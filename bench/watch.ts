// Benchmark 3: the verifier at scale. 10,000 Argo CD Applications served by the simulated Argo CD
// (a child process), 2,000 verifications in flight, the real KubeArgoSource and Verifier in
// another child process run as the image runs them (watch-verifier.mjs): time from the sim's
// state change (Synced + Healthy at the new revision) to the verifier's decision, the verifier
// process's peak RSS, the initial list time, and the number of open watch connections.
import { fork, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ArgoSourceStats } from "../src/core/argo-source.js";
import type { Verification } from "../src/core/verification.js";
import { deadline, load1m, log, machine, run, sleep, summary, table, writeResult } from "./lib/common.js";
import { commitOverlays, generateRepo, overlayDir, serviceName } from "./lib/repo.js";
import { appLabel, conveyorRevision, runsBuilt } from "./lib/world.js";

export interface WatchParams {
  services: number;
  envs: string[];
  inFlight: number;
  tickMs: number;
  watchHistorySize: number;
  deadlineMs: number;
}

// Issue 16's scale: 10,000 Applications, 2,000 verifications in flight.
export const DEFAULT_WATCH: WatchParams = {
  services: 5000,
  envs: ["staging", "production"],
  inFlight: 2000,
  tickMs: 1000,
  watchHistorySize: 20_000,
  deadlineMs: 600_000,
};
export const QUICK_WATCH: WatchParams = {
  services: 50,
  envs: ["staging", "production"],
  inFlight: 20,
  tickMs: 1000,
  watchHistorySize: 20_000,
  deadlineMs: 120_000,
};

const SIM_ENTRY = fileURLToPath(new URL("./watch-sim.ts", import.meta.url));
const VERIFIER_ENTRY = fileURLToPath(new URL("./watch-verifier.mjs", import.meta.url));

interface VerifierStats {
  sourceStats: ArgoSourceStats;
  outcomes: { verified: number; failed: number; superseded: number };
  errors: number;
  errorSample: string[];
  rssMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
}

type FromVerifier =
  | { type: "listed"; listMs: number; rssBeforeSourceMiB: number }
  | { type: "tracking" }
  | { type: "decision"; name: string; kind: string; at: number; verifierLatencyMs: number }
  | ({ type: "stats" } & VerifierStats);

/** Waits for messages of a type from a child process. */
function messages<M extends { type: string }>(child: ChildProcess, onMessage: (m: M) => void) {
  const waiters: Array<{ type: string; resolve: (m: M) => void }> = [];
  child.on("message", (m: M) => {
    onMessage(m);
    for (const w of waiters.splice(0))
      if (w.type === m.type) w.resolve(m);
      else waiters.push(w);
  });
  return <T extends M["type"]>(type: T) =>
    new Promise<Extract<M, { type: T }>>((resolve) => waiters.push({ type, resolve: resolve as (m: M) => void }));
}

/** Asks a child to close, then kills it if it has not exited after 5 s. */
async function closeChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.send({ type: "close" });
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

type FromSim =
  | { type: "ready" }
  | { type: "tracking" }
  | { type: "healthy"; name: string; at: number }
  | { type: "stats"; openWatches: number; rssMiB: number };

export async function benchWatch(params: WatchParams = DEFAULT_WATCH, quick = false) {
  const host = await machine();
  const revision = await conveyorRevision();
  const dir = await mkdtemp(join(tmpdir(), "bench-watch-"));
  const repoPath = join(dir, "manifests.git");
  const kubeconfig = join(dir, "kubeconfig");
  let child: ChildProcess | undefined;
  let verifierChild: ChildProcess | undefined;
  try {
    await run("git", ["init", "--bare", "--quiet", "--initial-branch=main", repoPath]);
    const { head: base } = await generateRepo(repoPath, {
      services: params.services,
      envs: params.envs,
      commits: 1,
      config: "environments: []\n",
    });
    const applications = { length: params.services * params.envs.length };
    log(`watch: ${applications.length} Applications; starting the simulated Argo CD in a child process`);

    const healthyAt = new Map<string, number>();
    const sim = fork(
      SIM_ENTRY,
      [
        JSON.stringify({
          repoPath,
          kubeconfig,
          services: params.services,
          envs: params.envs,
          watchHistorySize: params.watchHistorySize,
        }),
      ],
      { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] },
    );
    child = sim;
    const fromSim = messages<FromSim>(sim, (m) => {
      if (m.type === "healthy") healthyAt.set(m.name, m.at);
    });
    const ask = async () => {
      const got = fromSim("stats");
      sim.send({ type: "stats" });
      return got;
    };
    await deadline(fromSim("ready"), 600_000, "argo sim start");

    // The verifier process: compiled, plain node (as the image runs it) unless --source.
    // BENCH_WATCH_PROFILE_DIR=<dir> writes its CPU profile there when it exits.
    const profileDir = process.env.BENCH_WATCH_PROFILE_DIR;
    const fromSource = !runsBuilt();
    const decisions: Array<{ name: string; kind: string; at: number; verifierLatencyMs: number }> = [];
    verifierChild = fork(VERIFIER_ENTRY, [JSON.stringify({ kubeconfig, repoPath, tickMs: params.tickMs })], {
      execArgv: [
        ...(fromSource ? ["--import", "tsx"] : []),
        ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      ],
      env: { ...process.env, BENCH_APP: fromSource ? "source" : "built" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const verifierProcess = verifierChild;
    const fromVerifier = messages<FromVerifier>(verifierProcess, (m) => {
      if (m.type === "decision")
        decisions.push({ name: m.name, kind: m.kind, at: m.at, verifierLatencyMs: m.verifierLatencyMs });
    });
    const askVerifier = async () => {
      const got = fromVerifier("stats");
      verifierProcess.send({ type: "stats" });
      return got;
    };
    const { listMs, rssBeforeSourceMiB } = await deadline(fromVerifier("listed"), 600_000, "verifier's initial list");
    log(`watch: KubeArgoSource listed ${applications.length} Applications in ${listMs} ms`);

    // One merge that changes the overlays of `inFlight` services in their first environment.
    const env = params.envs[0] as string;
    const changed = Array.from({ length: params.inFlight }, (_, i) => ({ service: serviceName(i), env, tag: "9.0.0" }));
    const target = await commitOverlays(repoPath, changed, `Deploy ${params.inFlight} services\n`);
    const names = changed.map((c) => `${c.service}-${c.env}`);
    const tracking = fromSim("tracking");
    sim.send({ type: "track", revision: target, names });
    await tracking;
    const startedAt = new Date().toISOString();
    const policy = { soakMs: 0, syncMs: 600_000, healthMs: 600_000, suspendedMs: 600_000, degradedGraceMs: 1_000 };
    const t0 = performance.now();
    const verifications = changed.map((c, i): Verification => ({
      repo: {
        owner: "acme",
        repo: "manifests",
        installationId: 1,
        cloneUrl: `file://${repoPath}`,
        defaultBranch: "main",
      },
      service: c.service,
      env: c.env,
      app: { namespace: "argocd", name: `${c.service}-${c.env}` },
      revision: target,
      base,
      deploymentId: i + 1,
      file: `${overlayDir(c.service, c.env)}/kustomization.yaml`,
      startedAt,
      policy,
      to: `ghcr.io/acme/${c.service}:9.0.0`,
    }));
    const verifying = fromVerifier("tracking");
    verifierProcess.send({ type: "track", verifications });
    await verifying;
    sim.send({ type: "notify" });
    log(`watch: ${params.inFlight} verifications in flight at ${target.slice(0, 7)}`);
    let peakWatches = 0;
    await deadline(
      (async () => {
        while (decisions.length < params.inFlight) {
          await sleep(200);
          peakWatches = Math.max(peakWatches, (await ask()).openWatches);
        }
      })(),
      params.deadlineMs,
      "watch decisions",
    );
    const allDecidedS = Math.round((performance.now() - t0) / 100) / 10;
    const final = await ask();
    const verifierStats = await askVerifier();
    const latencies: number[] = [];
    let unmatched = 0;
    for (const d of decisions) {
      const at = healthyAt.get(d.name);
      if (at === undefined) unmatched++;
      else latencies.push(d.at - at);
    }
    const sourceStats = verifierStats.sourceStats;
    const result = {
      benchmark: "watch",
      machine: { ...host, loadAverage1mAtEnd: load1m() },
      conveyor: revision,
      parameters: {
        ...params,
        applications: applications.length,
        soakMs: 0,
        verifierProcess: appLabel(),
        rssMeasured:
          "the verifier's own child process (KubeArgoSource + Verifier + a recording stub for outcomes); peak = the kernel's VmHWM; the simulated Argo CD and the benchmark run in other processes",
      },
      figures: {
        initialListMs: listMs,
        decisions: decisions.length,
        verdicts: verifierStats.outcomes,
        unmatchedDecisions: unmatched,
        stateChangeToDecisionMs: summary(latencies),
        verifierReportedLatencyMs: summary(decisions.map((d) => d.verifierLatencyMs)),
        mergeToAllDecidedS: allDecidedS,
        peakRssMiB: verifierStats.peakRssMiB,
        rssBeforeSourceMiB,
        rssAtEndMiB: verifierStats.rssMiB,
        heapUsedAtEndMiB: verifierStats.heapUsedMiB,
        simRssMiB: final.rssMiB,
        openWatchesAtEnd: final.openWatches,
        peakOpenWatches: peakWatches,
        sourceStats,
        verifierErrors: verifierStats.errors,
        verifierErrorSample: verifierStats.errorSample,
      },
    };
    const f = result.figures;
    const targets = {
      // Issue 16: under 250 ms at p95, the initial list under 3 s.
      p95Under250Ms: f.stateChangeToDecisionMs.p95 < 250,
      initialListUnder3s: f.initialListMs < 3000,
      rssUnder300MiB: f.peakRssMiB < 300,
      // Applications, Rollouts and AppProjects (sync windows).
      oneWatchPerKind: f.peakOpenWatches <= 3 && f.sourceStats.watchConnections <= 3,
    };
    const file = writeResult(quick ? "watch.quick" : "watch", { ...result, targets });
    console.log(
      `\nWatch scale: ${applications.length} Applications, ${params.inFlight} verifications in flight -> ${file}`,
    );
    console.log(
      table([
        [
          "state change -> decision p50 / p95 (ms)",
          `${f.stateChangeToDecisionMs.p50} / ${f.stateChangeToDecisionMs.p95}`,
          targets.p95Under250Ms ? "target p95 < 250 ms: met" : "target p95 < 250 ms: MISSED",
        ],
        [
          "decisions (verified / failed / superseded)",
          `${f.verdicts.verified} / ${f.verdicts.failed} / ${f.verdicts.superseded}`,
        ],
        ["merge -> all decided (s)", f.mergeToAllDecidedS],
        [
          "peak RSS, verifier process (MiB)",
          f.peakRssMiB,
          targets.rssUnder300MiB ? "target < 300 MB: met" : "target < 300 MB: MISSED",
        ],
        [
          "open watches (peak, kinds: applications + rollouts + appprojects)",
          f.peakOpenWatches,
          targets.oneWatchPerKind ? "one per kind: met" : "one per kind: MISSED",
        ],
        [
          "initial list of all Applications (ms)",
          f.initialListMs,
          targets.initialListUnder3s ? "target < 3 s: met" : "target < 3 s: MISSED",
        ],
      ]),
    );
    return result;
  } finally {
    await closeChild(verifierChild);
    await closeChild(child);
    await rm(dir, { recursive: true, force: true });
  }
}
