// Child process of the watch benchmark: runs the simulated Argo CD on its own, so the parent's
// RSS is the verifier's alone. Reports, over IPC, when each tracked Application first reaches
// Synced + Healthy at the target revision (the sim's own clock, Date.now()).
import { startArgoSim } from "../sandbox/argo/controller.js";
import { overlayDir, serviceName } from "./lib/repo.js";

interface Input {
  repoPath: string;
  kubeconfig: string;
  /** Applications <service>-<env> for services 0..services-1 in every env. */
  services: number;
  envs: string[];
  watchHistorySize: number;
}

type Message =
  { type: "track"; revision: string; names: string[] } | { type: "notify" } | { type: "stats" } | { type: "close" };

const input = JSON.parse(process.argv[2] ?? "{}") as Input;
const send = (message: object) => process.send?.(message);
const sim = await startArgoSim({
  repoPath: input.repoPath,
  branch: "main",
  applications: Array.from({ length: input.services }, (_, s) =>
    input.envs.map((env) => ({ name: `${serviceName(s)}-${env}`, path: overlayDir(serviceName(s), env) })),
  ).flat(),
  watchHistorySize: input.watchHistorySize,
  timings: { pollIntervalMs: 1000, bookmarkIntervalMs: 5000 },
});
await sim.writeKubeconfig(input.kubeconfig);

let target = "";
const waiting = new Set<string>();
sim.on("state", (app) => {
  const name = app.metadata?.name ?? "";
  if (!waiting.has(name)) return;
  const s = app.status;
  if (
    s?.sync?.status === "Synced" &&
    s.sync.revision === target &&
    s.health?.status === "Healthy" &&
    s.operationState?.phase === "Succeeded" &&
    s.operationState.syncResult?.revision === target
  ) {
    waiting.delete(name);
    send({ type: "healthy", name, at: Date.now() });
  }
});

process.on("message", (m: Message) => {
  if (m.type === "track") {
    target = m.revision;
    for (const name of m.names) waiting.add(name);
    send({ type: "tracking" });
  } else if (m.type === "notify") {
    void sim.notifyPush();
  } else if (m.type === "stats") {
    send({ type: "stats", openWatches: sim.openWatches, rssMiB: Math.round(process.memoryUsage().rss / 1048576) });
  } else if (m.type === "close") {
    void sim.close().then(() => process.exit(0));
  }
});
send({ type: "ready" });
