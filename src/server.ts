// `npm start`: the GitHub App server. With APP_ID, PRIVATE_KEY and WEBHOOK_SECRET set it serves
// webhooks (and /healthz, /readyz, /metrics) from its own HTTP server, where Conveyor's checks run
// before a webhook body is read; without them Probot opens its setup flow, which registers the
// app from app.yml. Argo CD is read through KUBECONFIG / the in-cluster service account, or
// ARGOCD_SERVER + ARGOCD_TOKEN; without either, merges are not verified. With a Kubernetes API,
// replicas elect a leader through a Lease (CONVEYOR_LEADER_ELECTION=false turns that off).
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { hostname } from "node:os";
import { createNodeMiddleware, createProbot, run } from "probot";
import { createConveyor, type ConveyorHandle, type Leadership } from "./app.js";
import { createArgoSource, loadKubeConfig } from "./adapters/argo/create-source.js";
import { LeaseElector } from "./adapters/kube-lease.js";
import { conveyorOctokit } from "./adapters/github/octokit.js";
import { createLog } from "./adapters/log.js";
import { registerSecret } from "./adapters/redact.js";
import { RedisDeliveryMemory } from "./adapters/redis-delivery-memory.js";
import { DELIVERY_TTL_MS, LocalDeliveryMemory } from "./runtime/delivery-memory.js";
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
// With REDIS_URL, replicas share which deliveries were handled (as they share the write throttle).
const redis = env.REDIS_URL ? new Redis(env.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 }) : undefined;
redis?.on("error", () => undefined); // said once by the memory itself, not on every reconnect
const deliveryMemory = redis
  ? new RedisDeliveryMemory(
      redis,
      new LocalDeliveryMemory(DELIVERY_TTL_MS),
      { warn: (obj, msg) => appLog?.warn(obj, msg) },
      DELIVERY_TTL_MS,
    )
  : undefined;
let appLog: { warn(obj: object, msg?: string): void } | undefined;
const appFn = createConveyor(
  {
    argo,
    leadership,
    tickMs: number(env.CONVEYOR_TICK_MS),
    rescanMs: number(env.CONVEYOR_RESCAN_MS),
    shutdownGraceMs: number(env.CONVEYOR_SHUTDOWN_GRACE_MS),
    webhookPath: env.WEBHOOK_PATH,
    deliveryMemory,
    replay:
      env.CONVEYOR_REPLAY === "off"
        ? false
        : {
            everyMs: number(env.CONVEYOR_REPLAY_MS),
            lookbackMs: number(env.CONVEYOR_REPLAY_LOOKBACK_MS),
            settleMs: number(env.CONVEYOR_REPLAY_SETTLE_MS),
          },
    dashboardIssue: env.CONVEYOR_DASHBOARD_ISSUE !== "false",
    dashboardIntervalMs: number(env.CONVEYOR_DASHBOARD_INTERVAL_MS),
  },
  (h) => (handle = h),
);
const Octokit = conveyorOctokit(
  {
    writeIntervalMs: number(env.CONVEYOR_WRITE_INTERVAL_MS),
    notificationIntervalMs: number(env.CONVEYOR_NOTIFY_INTERVAL_MS),
  },
  {
    request: (method, status) => metrics.githubRequests.inc({ method, status }),
    rateLimitWait: (kind) => metrics.rateLimitWaits.inc({ kind }),
  },
);

let stopServer: () => Promise<void>;
if (!env.APP_ID || !(env.PRIVATE_KEY || env.PRIVATE_KEY_PATH)) {
  // Not registered yet: Probot's setup flow registers the app from app.yml and writes .env.
  const server = await run(appFn, { Octokit });
  stopServer = () => server.stop();
} else {
  const log = await createLog(env);
  appLog = log;
  const probot = createProbot({ overrides: { Octokit, log } });
  // The app's handlers (health, metrics, the webhook body limit) run before Probot's webhook
  // middleware, which reads and verifies the body.
  const middleware = await createNodeMiddleware(appFn, { probot, webhooksPath: env.WEBHOOK_PATH });
  const http = createServer((req, res) => {
    void middleware(req, res, () => {
      if (!res.headersSent) res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    });
  });
  const port = number(env.PORT) ?? 3000;
  const host = env.HOST ?? "localhost";
  await new Promise<void>((resolve) => http.listen(port, host, resolve));
  log.info(`Conveyor listening on http://${host}:${port}`);
  stopServer = () => new Promise<void>((resolve) => http.close(() => resolve()));
}

// Graceful shutdown: stop taking events, stop watching and release the Lease so another replica
// takes over at once, then finish the work of answered events (CONVEYOR_SHUTDOWN_GRACE_MS).
process.once("SIGTERM", () => {
  void (async () => {
    await stopServer();
    await handle?.stop();
    redis?.disconnect();
    process.exit(0);
  })();
});
