// Wiring only: every event goes to its handler through one metrics wrapper, and the long-lived
// parts the flows share are made here once.
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApplicationFunctionOptions, Probot } from "probot";
import { GitHubApp } from "./adapters/github/app.js";
import type { Octokit } from "./adapters/github/client.js";
import { Renderer } from "./adapters/renderer.js";
import { signerFromEnv, type Signer } from "./adapters/signing.js";
import { Workspaces } from "./adapters/workspaces.js";
import type { ArgoSource } from "./core/argo-source.js";
import type { Verdict } from "./core/verdict/index.js";
import type { Verification } from "./core/verification.js";
import { VerdictActor } from "./flows/act-on-verdict.js";
import { DeliveryReplayer } from "./flows/replay-deliveries.js";
import { VerificationResumer } from "./flows/resume-verifications.js";
import type { Services } from "./flows/services.js";
import { oauthFromEnv } from "./adapters/github/oauth.js";
import { sessionSealerFromEnv } from "./adapters/session.js";
import { DashboardData, dashboardRepoOf } from "./flows/dashboard/gather.js";
import { DashboardIssue } from "./flows/dashboard/issue.js";
import { dashboardWeb } from "./handlers/dashboard-web.js";
import { handleIssueEdited } from "./handlers/issues.js";
import { handleCheckCompleted } from "./handlers/check-run.js";
import { handleIssueComment } from "./handlers/issue-comment.js";
import { handlePullRequest } from "./handlers/pull-request.js";
import { handlePush } from "./handlers/push.js";
import { handleRepositoryDispatch } from "./handlers/repository-dispatch.js";
import { handleStatus } from "./handlers/status.js";
import { handleWorkflowRun } from "./handlers/workflow-run.js";
import { Background } from "./runtime/background.js";
import { CorePool } from "./runtime/core-pool.js";
import { GateWaits } from "./runtime/gate-waits.js";
import { healthHandler } from "./runtime/health.js";
import { LocalDeliveryMemory, type DeliveryMemory } from "./runtime/delivery-memory.js";
import { KeyedQueue } from "./runtime/keyed-queue.js";
import { Later } from "./runtime/later.js";
import { metrics, metricsHandler } from "./runtime/metrics.js";
import { OncePer, Quota } from "./runtime/once-per.js";
import { Verifier } from "./runtime/verifier.js";
import { webhookBodyLimit } from "./runtime/webhook-limits.js";

export interface ConveyorOptions {
  /** Where manifests-repo clones live; CONVEYOR_WORKSPACE_DIR or a folder in the temp dir. */
  workspaceDir?: string;
  /** Where Argo CD state comes from; without one, merges are not verified. */
  argo?: ArgoSource;
  /** The kustomize renderer (default: found on this machine, with its render cache). */
  renderer?: Renderer;
  /** Worker threads for the YAML-heavy core decisions (default: a pool of its own, stopped with the app). */
  cpu?: CorePool;
  /** Signs the state kept in PR bodies; default from CONVEYOR_MARKER_KEY or WEBHOOK_SECRET. */
  signer?: Signer;
  /** The app's bot login (`<slug>[bot]`); default asked of GitHub once. */
  botLogin?: string;
  /** Per render in the conveyor/render check; default 30 s. */
  renderTimeoutMs?: number;
  /** Verification tick (deadlines, soak); default 1 s. */
  tickMs?: number;
  /** Observes every verification decision (metrics, benchmarks, the sandbox narrator). */
  onDecision?: (v: Verification, verdict: Verdict, latencyMs: number) => void;
  /** Resume in-progress verifications from GitHub Deployments at start (default true with argo). */
  resume?: boolean;
  /** How often the leader looks for Deployments other replicas started (default 30 s). */
  rescanMs?: number;
  /** Leader election among replicas; without it this process always runs the watch loop. */
  leadership?: Leadership;
  /** Where webhooks arrive (Probot's default: /api/github/webhooks); bodies there are size-limited. */
  webhookPath?: string;
  /** Which deliveries were handled (default: in this process; server.ts shares it through Redis with REDIS_URL). */
  deliveryMemory?: DeliveryMemory;
  /** Waits before each new attempt of a deploy event whose PR could not be made (default 30 s, 2 min, 10 min, 30 min). */
  retryDelaysMs?: number[];
  /**
   * Replay answered deploy events from GitHub's record of the app's webhook deliveries, and ask for
   * redelivery of those nothing answered: at start-up (as the leader) and every `replayMs` (default
   * 60 s). Off unless asked for (server.ts turns it on; CONVEYOR_REPLAY=off turns it off there).
   */
  replay?: boolean | { everyMs?: number; lookbackMs?: number; settleMs?: number };
  /**
   * How long stop() waits for work of answered events (default 25 s, inside Kubernetes' default
   * 30 s grace period); what is left then is logged as an error, one line per event to re-send.
   */
  shutdownGraceMs?: number;
  /** Keep each manifests repository's dashboard issue current (server: on unless CONVEYOR_DASHBOARD_ISSUE=false). */
  dashboardIssue?: boolean;
  /** How often an E2E gate's run is read while no webhook says it finished (default 2 min). */
  gatePollMs?: number;
  /** Minimum time between two edits of one dashboard issue (default 10 s). */
  dashboardIntervalMs?: number;
}

/** Only the leader watches Argo CD and acts on verdicts; webhooks are handled by every replica. */
export interface Leadership {
  start(hooks: { onStartedLeading(): void; onStoppedLeading(): void }): void;
  stop(): Promise<void>;
}

export interface ConveyorHandle {
  services: Services;
  /** Resolves once start-up work (first Argo list, resuming verifications) is done. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export function createConveyor(options: ConveyorOptions = {}, onReady?: (handle: ConveyorHandle) => void) {
  return (app: Probot, probotOptions?: ApplicationFunctionOptions): void => {
    const signing = options.signer ? { signer: options.signer, stable: true } : signerFromEnv(process.env);
    if (!signing.stable) {
      app.log.warn("no CONVEYOR_MARKER_KEY or WEBHOOK_SECRET: PR state is signed with a key of this process only");
    }
    const services: Services = {
      github: new GitHubApp((installationId) => app.auth(installationId) as Promise<Octokit>, options.botLogin),
      workspaces: new Workspaces(
        options.workspaceDir ?? process.env.CONVEYOR_WORKSPACE_DIR ?? join(tmpdir(), "conveyor-workspaces"),
      ),
      queue: new KeyedQueue(),
      background: new Background(metrics),
      renderer: options.renderer ?? new Renderer(),
      cpu: options.cpu ?? new CorePool(),
      metrics,
      signer: signing.signer,
      answers: new OncePer(3_600_000),
      forkRenders: new Quota(3_600_000, 20),
      later: new Later(options.retryDelaysMs),
    };
    const argo = options.argo;
    // Carries out verdicts until they are done: from the verification loop, and from Deployments
    // that say a verdict is still owed (after a restart).
    const actor = new VerdictActor(services, app.log);
    // E2E gates being waited for are acted on again when their runs finish (or time out).
    services.gateWaits = new GateWaits(
      ({ v, owed }) => void actor.act(v, owed, { recorded: true }),
      options.gatePollMs,
    );
    // The dashboard: gathered from GitHub for the web page and the dashboard issue, which is
    // brought up to date (debounced) after each event and verdict in its repository.
    const dashboard = new DashboardData(services, app.log.child({ name: "dashboard" }));
    const dashboardIssue = new DashboardIssue(dashboard, app.log.child({ name: "dashboard-issue" }), {
      intervalMs: options.dashboardIntervalMs,
      webUrl: process.env.CONVEYOR_PUBLIC_URL,
    });
    const touchDashboard = (payload: unknown) => {
      const repo = options.dashboardIssue ? dashboardRepoOf(payload) : undefined;
      if (repo) dashboardIssue.touch(repo);
    };
    const onDecision: ConveyorOptions["onDecision"] = (v, verdict, latencyMs) => {
      options.onDecision?.(v, verdict, latencyMs);
      if (verdict.kind !== "waiting" && options.dashboardIssue)
        dashboardIssue.touch({
          installationId: v.repo.installationId,
          ref: { owner: v.repo.owner, repo: v.repo.repo },
          cloneUrl: v.repo.cloneUrl,
          defaultBranch: v.repo.defaultBranch,
          htmlUrl: v.repo.cloneUrl.replace(/\.git$/, ""),
        });
    };
    if (argo) services.verifier = createVerifier(app, services, argo, { ...options, onDecision }, actor);

    const on = app.on.bind(app) as (event: string | string[], handler: (context: never) => Promise<void>) => void;
    // Delivery ids are remembered for a day, the longest GitHub keeps redelivering.
    const deliveries = options.deliveryMemory ?? new LocalDeliveryMemory();
    const route = <C extends { id: string; log: { info(obj: object, msg?: string): void } }>(
      event: string,
      names: string | string[],
      handler: (context: C) => Promise<void>,
    ) =>
      on(
        names,
        counted(event, deliveries, async (context: C) => {
          await handler(context);
          if (event !== "issues") touchDashboard((context as { payload?: unknown }).payload);
        }),
      );
    route("repository_dispatch", "repository_dispatch", (context: Parameters<typeof handleRepositoryDispatch>[0]) =>
      handleRepositoryDispatch(context, services),
    );
    route("push", "push", (context: Parameters<typeof handlePush>[0]) => handlePush(context, services));
    route(
      "pull_request",
      ["pull_request.opened", "pull_request.synchronize", "pull_request.reopened"],
      (context: Parameters<typeof handlePullRequest>[0]) =>
        handlePullRequest(context, services, { timeoutMs: options.renderTimeoutMs }),
    );
    route(
      "check",
      ["check_run.completed", "check_suite.completed"],
      (context: Parameters<typeof handleCheckCompleted>[0]) => handleCheckCompleted(context, services),
    );
    route("status", "status", (context: Parameters<typeof handleStatus>[0]) => handleStatus(context, services));
    route("workflow_run", "workflow_run.completed", (context: Parameters<typeof handleWorkflowRun>[0]) =>
      handleWorkflowRun(context, services),
    );
    route("issues", "issues.edited", (context: Parameters<typeof handleIssueEdited>[0]) =>
      handleIssueEdited(context, services, { data: dashboard, issue: dashboardIssue }),
    );
    route("issue_comment", "issue_comment.created", (context: Parameters<typeof handleIssueComment>[0]) =>
      handleIssueComment(context, services),
    );

    let started = false;
    let stopping = false;
    let rescan: NodeJS.Timeout | undefined;
    let replayTimer: NodeJS.Timeout | undefined;
    const verifier = services.verifier;
    const resumer = new VerificationResumer(services, app.log, actor);
    const replay = options.replay === true ? {} : options.replay || undefined;
    const replayer = replay
      ? new DeliveryReplayer(services, app.log.child({ name: "intake" }), {
          handled: (guid) => deliveries.has(guid),
          remember: (guid) => deliveries.remember(guid),
          lookbackMs: replay.lookbackMs,
          settleMs: replay.settleMs,
        })
      : undefined;
    const replayNow = () =>
      replayer
        ?.run()
        .catch((error: unknown) => app.log.warn({ err: String(error) }, "reading GitHub's webhook deliveries failed"));
    const lead = async () => {
      if (replayer && !replayTimer) {
        // Not awaited: start-up does not wait on GitHub's delivery log.
        void replayNow();
        replayTimer = setInterval(() => void replayNow(), replay?.everyMs ?? 60_000);
        replayTimer.unref();
      }
      if (!argo || !verifier) return;
      await argo.start();
      verifier.start();
      if (options.resume === false) return;
      await resumer.resume();
      rescan = setInterval(() => {
        resumer
          .resume()
          .catch((error: unknown) => app.log.warn({ err: String(error) }, "looking for new Deployments failed"));
      }, options.rescanMs ?? 30_000);
      rescan.unref();
    };
    const ready = (async () => {
      if (options.leadership && (argo || replayer)) {
        options.leadership.start({
          onStartedLeading: () => {
            app.log.info("this replica leads: watching Argo CD");
            lead().catch((error: unknown) => app.log.error({ err: String(error) }, "starting the watch loop failed"));
          },
          onStoppedLeading: () => {
            if (stopping) return; // a graceful stop releases the Lease on purpose
            // Stepping down mid-action is unsafe to resume in-process; exit and let the platform
            // restart this replica, which then campaigns again (as client-go controllers do).
            app.log.warn("lost leadership: exiting so another replica takes over");
            process.exit(1);
          },
        });
      } else {
        await lead();
      }
      started = true;
    })();
    ready.catch((error: unknown) => app.log.error({ err: String(error) }, "start-up failed"));
    const health = healthHandler({ started: () => started, github: () => services.github.authenticated() });
    const metricsRoute = metricsHandler(() => {
      const stats = argo?.stats();
      if (stats) {
        metrics.watchConnections.set(stats.watchConnections);
        metrics.watchReconnects.set(stats.reconnects);
      }
      metrics.queueDepth.set(services.queue.depth);
      const renderer = services.renderer;
      metrics.renderRuns.set(renderer.counts.processes);
      metrics.renderSharedRuns.set(renderer.batches.runs);
      metrics.renderSharedOverlays.set(renderer.batches.members);
      metrics.renderCached.set(renderer.counts.cached);
      metrics.inFlight.set(services.verifier?.inFlight().length ?? 0);
    });
    try {
      probotOptions?.addHandler?.(
        dashboardWeb({
          data: dashboard,
          oauth: oauthFromEnv(process.env),
          sealer: sessionSealerFromEnv(process.env),
          publicUrl: process.env.CONVEYOR_PUBLIC_URL,
          log: app.log,
        }),
      );
      probotOptions?.addHandler?.(webhookBodyLimit({ path: options.webhookPath ?? "/api/github/webhooks" }));
      probotOptions?.addHandler?.(health);
      probotOptions?.addHandler?.(metricsRoute);
    } catch {
      // Loaded without Probot's HTTP server (tests, probot.receive): no routes to add.
    }
    onReady?.({
      services,
      ready,
      async stop() {
        stopping = true;
        dashboardIssue.stop();
        if (rescan) clearInterval(rescan);
        if (replayTimer) clearInterval(replayTimer);
        services.later.stop();
        services.gateWaits?.stop();
        // Leadership first, so another replica takes over the watch at once; then the work of
        // events already answered (deploy PRs, render checks), for as long as the platform allows.
        services.verifier?.stop();
        await options.leadership?.stop();
        await argo?.stop();
        app.log.info(
          { inFlight: services.background.size },
          "stopping: Lease released; finishing work for events already answered",
        );
        const left = await services.background.idle(options.shutdownGraceMs ?? 25_000);
        if (left === 0) app.log.info("stopping: all work finished");
        if (!options.cpu) await services.cpu.stop();
      },
    });
  };
}

function createVerifier(
  app: Probot,
  services: Services,
  argo: ArgoSource,
  options: ConveyorOptions,
  actor: VerdictActor,
): Verifier {
  return new Verifier({
    source: argo,
    outcomes: actor.outcomes(),
    isAncestor: async (v, ancestor, descendant) => {
      const workspace = services.workspaces.get(`${v.repo.owner}/${v.repo.repo}`, v.repo.cloneUrl);
      if (await workspace.isAncestor(ancestor, descendant)) return true;
      await workspace.sync();
      return workspace.isAncestor(ancestor, descendant);
    },
    tickMs: options.tickMs,
    onDecision: (v, verdict, latencyMs) => {
      if (verdict.kind !== "waiting") {
        metrics.verifications.inc({ env: v.env, verdict: verdict.kind });
        metrics.verificationDuration.observe(
          { env: v.env, verdict: verdict.kind },
          (Date.now() - Date.parse(v.startedAt)) / 1000,
        );
        if (verdict.kind !== "superseded") metrics.decisionLatency.observe(latencyMs / 1000);
      }
      options.onDecision?.(v, verdict, latencyMs);
    },
    log: app.log.child({ name: "verifier" }),
  });
}

/**
 * Counts each handled event by outcome, and handles each delivery once: a delivery handled
 * without error is not handled again (GitHub's redelivery, a replayed request). Errors still
 * reach Probot, which logs them, and leave the delivery free to be retried.
 */
function counted<C extends { id: string; log: { info(obj: object, msg?: string): void } }>(
  event: string,
  deliveries: DeliveryMemory,
  handler: (context: C) => Promise<void>,
): (context: C) => Promise<void> {
  return async (context) => {
    if (await deliveries.has(context.id)) {
      context.log.info({ delivery: context.id }, "delivery already handled");
      metrics.events.inc({ event, outcome: "duplicate" });
      return;
    }
    try {
      await handler(context);
      await deliveries.remember(context.id);
      metrics.events.inc({ event, outcome: "ok" });
    } catch (error) {
      metrics.events.inc({ event, outcome: "error" });
      throw error;
    }
  };
}

export default createConveyor();
