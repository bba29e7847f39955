// `npm start`: the GitHub App server. With APP_ID, PRIVATE_KEY and WEBHOOK_SECRET set it serves
// webhooks (and /healthz, /readyz); without them Probot opens its setup flow, which registers the
// app from app.yml. Argo CD is read through KUBECONFIG / the in-cluster service account, or
// ARGOCD_SERVER + ARGOCD_TOKEN; without either, merges are not verified. With a Kubernetes API,
// replicas elect a leader through a Lease (CONVEYOR_LEADER_ELECTION=false turns that off).
import { hostname } from "node:os";
import { run } from "probot";
import { createConveyor, type ConveyorHandle, type Leadership } from "./app.js";
import { createArgoSource, loadKubeConfig } from "./adapters/argo/create-source.js";
import { LeaseElector } from "./adapters/kube-lease.js";
import { conveyorOctokit } from "./adapters/github/octokit.js";
import { registerSecret } from "./adapters/redact.js";
import { metrics } from "./runtime/metrics.js";

const env = process.env;
// Secrets the process holds are scrubbed wherever they might appear (git errors, logs, replies).
for (const name of ["WEBHOOK_SECRET", "PRIVATE_KEY", "ARGOCD_TOKEN", "GITHUB_CLIENT_SECRET"]) registerSecret(env[name]);
let handle: ConveyorHandle | undefined;
const argo = createArgoSource(env);
const kubeConfig = env.CONVEYOR_LEADER_ELECTION === "false" ? undefined : loadKubeConfig(env);
let elector: LeaseElector | undefined;
const leadership: Leadership | undefined = kubeConfig
  ? {
      start(hooks) {
        elector = new LeaseElector({
          kubeConfig,
          namespace: env.POD_NAMESPACE ?? env.CONVEYOR_LEASE_NAMESPACE ?? "conveyor",
          identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
          ...hooks,
        });
        elector.start();
      },
      async stop() {
        await elector?.stop();
      },
    }
  : undefined;

const number = (value: string | undefined) => (value ? Number(value) : undefined);
const server = await run(
  createConveyor(
    {
      argo,
      leadership,
      tickMs: number(env.CONVEYOR_TICK_MS),
      rescanMs: number(env.CONVEYOR_RESCAN_MS),
      shutdownGraceMs: number(env.CONVEYOR_SHUTDOWN_GRACE_MS),
    },
    (h) => (handle = h),
  ),
  {
    Octokit: conveyorOctokit(
      {
        writeIntervalMs: number(env.CONVEYOR_WRITE_INTERVAL_MS),
        notificationIntervalMs: number(env.CONVEYOR_NOTIFY_INTERVAL_MS),
      },
      {
        request: (method, status) => metrics.githubRequests.inc({ method, status }),
        rateLimitWait: (kind) => metrics.rateLimitWaits.inc({ kind }),
      },
    ),
  },
);

// Graceful shutdown: stop taking events, stop watching and release the Lease so another replica
// takes over at once, then finish the work of answered events (CONVEYOR_SHUTDOWN_GRACE_MS).
process.once("SIGTERM", () => {
  void (async () => {
    await server.stop();
    await handle?.stop();
    process.exit(0);
  })();
});
