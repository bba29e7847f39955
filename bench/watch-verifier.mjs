// Child process of the watch benchmark: the verifier side alone, so that its RSS is the
// verifier's. Runs the real KubeArgoSource and Verifier as the image runs them (compiled dist/,
// plain node; BENCH_APP=source: src/ through tsx, which the parent then preloads), with a
// recording stub for the outcomes. Plain JavaScript because plain node cannot run TypeScript.
// Reports over IPC: the initial list time, every decision (with its Date.now()), and on request
// the source's stats and this process's RSS, including the kernel's peak (VmHWM).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import process from "node:process";

const input = JSON.parse(process.argv[2] ?? "{}");
const fromSource = process.env.BENCH_APP === "source";
const module = (path) =>
  import(new URL(`../${fromSource ? "src" : "dist"}/${path}.${fromSource ? "ts" : "js"}`, import.meta.url).href);
const [{ KubeConfig }, { KubeArgoSource }, { Verifier }] = await Promise.all([
  import("@kubernetes/client-node"),
  module("adapters/argo/kube-source"),
  module("runtime/verifier"),
]);

const send = (message) => process.send?.(message);
const mib = (bytes) => Math.round(bytes / 1048576);
/** The kernel's high-water mark of this process's RSS (Linux); the sampled peak elsewhere. */
function peakRssMiB(sampled) {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Math.round(Number(match[1]) / 1024);
  } catch {
    // not Linux
  }
  return mib(sampled);
}
let sampledPeak = 0;
const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss)), 100);
const rssBeforeSourceMiB = mib(process.memoryUsage().rss);

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(input.kubeconfig);
const source = new KubeArgoSource({ kubeConfig, namespace: "argocd" });
const listStart = performance.now();
await source.start();
const listMs = Math.round(performance.now() - listStart);

const outcomes = { verified: 0, failed: 0, superseded: 0 };
const errors = [];
const ancestry = new Map();
const verifier = new Verifier({
  source,
  tickMs: input.tickMs,
  outcomes: {
    verified: async () => void outcomes.verified++,
    failed: async () => void outcomes.failed++,
    superseded: async () => void outcomes.superseded++,
  },
  isAncestor: (_v, ancestor, descendant) => {
    const key = `${ancestor}..${descendant}`;
    let known = ancestry.get(key);
    if (!known) {
      known = new Promise((resolve) =>
        execFile("git", ["--git-dir", input.repoPath, "merge-base", "--is-ancestor", ancestor, descendant], (error) =>
          resolve(!error),
        ),
      );
      ancestry.set(key, known);
    }
    return known;
  },
  log: {
    info: () => undefined,
    warn: (o) => void errors.push(JSON.stringify(o)),
    error: (o) => void errors.push(JSON.stringify(o)),
  },
  onDecision: (v, verdict, latencyMs) =>
    send({ type: "decision", name: v.app.name, kind: verdict.kind, at: Date.now(), verifierLatencyMs: latencyMs }),
});
verifier.start();

process.on("message", (m) => {
  if (m.type === "track") {
    for (const v of m.verifications) verifier.track(v);
    send({ type: "tracking" });
  } else if (m.type === "stats") {
    const memory = process.memoryUsage();
    send({
      type: "stats",
      sourceStats: source.stats(),
      outcomes,
      errors: errors.length,
      errorSample: errors.slice(0, 3),
      rssMiB: mib(memory.rss),
      peakRssMiB: peakRssMiB(Math.max(sampledPeak, memory.rss)),
      heapUsedMiB: mib(memory.heapUsed),
    });
  } else if (m.type === "close") {
    clearInterval(sampler);
    verifier.stop();
    void source.stop().finally(() => process.exit(0));
  }
});
send({ type: "listed", listMs, rssBeforeSourceMiB });
