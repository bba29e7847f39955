// Prometheus metrics, served at /metrics. One registry per process; names follow Prometheus
// conventions (conveyor_*_total for counters, *_seconds for durations).
import type { IncomingMessage, ServerResponse } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { EnvMetrics } from "../core/dashboard/delivery-metrics.js";

export class Metrics {
  readonly registry = new Registry();

  readonly events = new Counter({
    name: "conveyor_events_total",
    help: "Webhook events handled, by event name and outcome (ok, error).",
    labelNames: ["event", "outcome"] as const,
    registers: [this.registry],
  });

  readonly backgroundJobs = new Counter({
    name: "conveyor_background_jobs_total",
    help: "Work done after its webhook was answered (deploy events), by job and outcome (ok, error).",
    labelNames: ["job", "outcome"] as const,
    registers: [this.registry],
  });

  readonly promotions = new Counter({
    name: "conveyor_promotions_total",
    help: "Deploy and promotion proposals, by environment and result (opened, updated, noop, rejected).",
    labelNames: ["env", "result"] as const,
    registers: [this.registry],
  });

  readonly reverts = new Counter({
    name: "conveyor_reverts_total",
    help: "Revert PRs, by environment and result (opened, updated, noop, impossible).",
    labelNames: ["env", "result"] as const,
    registers: [this.registry],
  });

  readonly verifications = new Counter({
    name: "conveyor_verifications_total",
    help: "Finished verifications, by environment and verdict (verified, failed, superseded).",
    labelNames: ["env", "verdict"] as const,
    registers: [this.registry],
  });

  readonly verificationDuration = new Histogram({
    name: "conveyor_verification_duration_seconds",
    help: "Time from merge to verdict.",
    labelNames: ["env", "verdict"] as const,
    buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 3600],
    registers: [this.registry],
  });

  readonly decisionLatency = new Histogram({
    name: "conveyor_decision_latency_seconds",
    help: "Time from an Argo CD status change to the verdict on it.",
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });

  readonly githubRequests = new Counter({
    name: "conveyor_github_requests_total",
    help: "GitHub REST calls, by method and status code.",
    labelNames: ["method", "status"] as const,
    registers: [this.registry],
  });

  readonly rateLimitWaits = new Counter({
    name: "conveyor_github_rate_limit_waits_total",
    help: "Times a GitHub call hit a rate limit and was retried after waiting, by kind (primary, secondary).",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  readonly watchReconnects = new Gauge({
    name: "conveyor_argo_watch_reconnects",
    help: "Argo CD watch reconnects since start.",
    registers: [this.registry],
  });

  readonly watchConnections = new Gauge({
    name: "conveyor_argo_watch_connections",
    help: "Open Argo CD watch connections.",
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: "conveyor_queue_depth",
    help: "Repository tasks (edits, pushes, renders) queued or running.",
    registers: [this.registry],
  });

  // The renderer's counts since start (set from it on each scrape).
  readonly renderRuns = this.plainGauge(
    "render_kustomize_runs",
    "kustomize processes started for render checks since start (a shared run counts once).",
  );
  readonly renderSharedRuns = this.plainGauge(
    "render_shared_runs",
    "Shared kustomize runs (several overlays in one process) since start.",
  );
  readonly renderSharedOverlays = this.plainGauge(
    "render_shared_overlays",
    "Overlay renders answered by shared runs since start.",
  );
  readonly renderCached = this.plainGauge(
    "render_cached",
    "Overlay renders answered from the render cache since start.",
  );

  readonly inFlight = new Gauge({
    name: "conveyor_verifications_in_flight",
    help: "Verifications being watched.",
    registers: [this.registry],
  });

  // The dashboard's delivery metrics (the same figures as its charts), set each time a repository's
  // dashboard is gathered; by repository, environment and window ("7d", "30d", "90d").
  readonly deliveryDeployments = this.deliveryGauge("deployments", "Deployments in the window.");
  readonly deliveryFailureRate = this.deliveryGauge("change_failure_rate", "Failed verifications / deployments.");
  readonly deliveryLeadTime = this.deliveryGauge(
    "lead_time_seconds",
    "Median time from source commit to verified, where the source is known.",
  );
  readonly deliveryTimeToRestore = this.deliveryGauge(
    "time_to_restore_seconds",
    "Median time from a failed verification to its verified revert.",
  );

  private plainGauge(name: string, help: string) {
    return new Gauge({ name: `conveyor_${name}`, help, registers: [this.registry] });
  }

  private deliveryGauge(name: string, help: string) {
    return new Gauge({
      name: `conveyor_delivery_${name}`,
      help,
      labelNames: ["repo", "env", "window"] as const,
      registers: [this.registry],
    });
  }

  /** Sets one environment's delivery metrics; a figure without data is left out, not zero. */
  setDelivery(repo: string, m: EnvMetrics): void {
    const labels = { repo, env: m.env, window: `${m.windowDays}d` };
    this.deliveryDeployments.set(labels, m.deployments);
    const pairs: Array<[Gauge<"repo" | "env" | "window">, number | null]> = [
      [this.deliveryFailureRate, m.changeFailureRate],
      [this.deliveryLeadTime, m.leadTime],
      [this.deliveryTimeToRestore, m.timeToRestore],
    ];
    for (const [gauge, value] of pairs) {
      if (value === null) gauge.remove(labels);
      else gauge.set(labels, value);
    }
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "conveyor_" });
  }
}

/** The process's metrics: handlers and adapters record into it, /metrics reads it. */
export const metrics = new Metrics();

export function metricsHandler(refresh: () => void) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") return false;
    refresh();
    res.writeHead(200, { "content-type": metrics.registry.contentType }).end(await metrics.registry.metrics());
    return true;
  };
}
