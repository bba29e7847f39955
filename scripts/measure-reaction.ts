// Measures, in the sandbox, how long Conveyor takes from Argo CD reporting an application Healthy
// or Degraded to acting on it: the verdict (decision latency, from /metrics) and the Deployment
// status it then writes to GitHub. Run: npx tsx scripts/measure-reaction.ts
import { runScenario } from "../sandbox/scenario.js";
import { startWorld } from "../sandbox/world.js";

const world = await startWorld();
const turned: Array<{ app: string; health: string; at: number }> = [];
let last = new Map<string, string>();
world.argo.on("state", (app) => {
  const view = app as unknown as { metadata: { name: string }; status?: { health?: { status?: string } } };
  const health = view.status?.health?.status ?? "";
  if (last.get(view.metadata.name) !== health && (health === "Healthy" || health === "Degraded"))
    turned.push({ app: view.metadata.name, health, at: Date.now() });
  last.set(view.metadata.name, health);
});
const acted: Array<{ app: string; state: string; at: number }> = [];
const timer = setInterval(() => {
  for (const d of world.forge.events.splice(0, 0)) void d;
}, 1000);
await runScenario(world, () => undefined);
clearInterval(timer);
for (const d of world.forge.events) {
  const p = d.payload as {
    deployment?: { payload?: { application?: string } };
    deployment_status?: { state?: string; created_at?: string };
  };
  if (
    d.event === "deployment_status" &&
    (p.deployment_status?.state === "success" || p.deployment_status?.state === "failure")
  ) {
    acted.push({
      app: p.deployment?.payload?.application ?? "",
      state: p.deployment_status.state,
      at: Date.parse(p.deployment_status.created_at ?? ""),
    });
  }
}
const metrics = await (await fetch(`${world.appUrl}/metrics`)).text();
const sum = Number(/conveyor_decision_latency_seconds_sum (\S+)/.exec(metrics)?.[1]);
const count = Number(/conveyor_decision_latency_seconds_count (\S+)/.exec(metrics)?.[1]);
console.log(
  `decisions: ${count}, mean decision latency after the deciding Argo CD event: ${((sum / count) * 1000).toFixed(0)} ms`,
);
for (const a of acted) {
  const before = turned
    .filter((t) => t.app === a.app && t.at <= a.at && t.health === (a.state === "success" ? "Healthy" : "Degraded"))
    .pop();
  if (before)
    console.log(
      `${a.app}: ${before.health} -> Deployment ${a.state} after ${a.at - before.at} ms (soak 2 s, degradedGrace 1 s)`,
    );
}
last = new Map();
await world.close();
