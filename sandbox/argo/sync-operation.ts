import type { AppRuntime } from "./app-runtime.js";
import { statusOf } from "./app-status.js";
import type { AutoSync } from "./auto-sync.js";
import type { SimContext } from "./context.js";
import { ComparisonError, type RenderedTarget } from "./git.js";
import { clone, isObject, rfc3339, type Json, type JsonObject } from "./json.js";
import { appSource, newApplication, removeCondition, syncResultResources, upsertCondition } from "./objects.js";
import type { Refresher } from "./refresh.js";
import type { Workloads } from "./workloads.js";

/** controller/sync.go (SyncAppState), for an operation a sync window holds back. */
export const BLOCKED = "Sync operation blocked by sync window";

/**
 * Sync operations, whoever starts them (auto-sync, sim.sync(), an `operation` PATCHed onto the
 * Application as `argocd app sync` does): Running for operationMs, then Failed with a SyncError
 * condition or Succeeded with a history entry, the workload update, and the post-sync refresh.
 * While sync windows deny it, an operation stays Running with the message Argo CD's controller
 * writes (controller/sync.go, SyncAppState: "Sync operation blocked by sync window") and is
 * tried again every pollIntervalMs, as the controller's operation queue retries it.
 */
export class SyncOperations {
  constructor(
    private readonly ctx: SimContext,
    private readonly workloads: Workloads,
    private readonly autoSync: AutoSync,
    private readonly refresher: Refresher,
  ) {}

  async run(rt: AppRuntime, revision: string, initiatedBy: JsonObject, requested?: JsonObject): Promise<void> {
    if (rt.operating) throw new Error(`another operation is already in progress for ${rt.identity.name}`);
    rt.operating = true;
    this.autoSync.cancel(rt);
    const id = rt.identity;
    let previousImages: string[] | undefined;
    let target: RenderedTarget | undefined;
    let epoch = rt.epoch;
    try {
      const operation: JsonObject = requested ?? {
        sync: { revision, ...(initiatedBy.automated ? { prune: true } : {}), syncOptions: ["CreateNamespace=true"] },
        initiatedBy,
        ...(initiatedBy.automated ? { retry: { limit: 5 } } : {}),
      };
      if (!isObject(operation.initiatedBy)) operation.initiatedBy = initiatedBy;
      const startedAt = rfc3339();
      this.ctx.status.update(rt, (app, status) => {
        app.operation = operation;
        status.operationState = { operation, phase: "Running", message: "one or more tasks are running", startedAt };
      });
      const manual = initiatedBy.automated !== true;
      if (!this.ctx.canSync(rt, manual)) {
        this.ctx.status.update(rt, (_app, status) => {
          status.operationState = { operation, phase: "Running", message: BLOCKED, startedAt };
        });
        while (!this.ctx.canSync(rt, manual)) {
          await this.ctx.scheduler.sleep(this.ctx.timings.pollIntervalMs);
          if (this.ctx.scheduler.closed || rt.removed) return;
        }
        this.ctx.status.update(rt, (_app, status) => {
          status.operationState = { operation, phase: "Running", message: "one or more tasks are running", startedAt };
        });
      }
      await this.ctx.scheduler.sleep(this.ctx.timings.operationMs);
      let failure: string | undefined;
      const sha = await this.ctx.repo.resolveRevision(revision);
      if (!sha) failure = `ComparisonError: unable to resolve '${revision}' to a commit SHA`;
      else {
        try {
          target = await this.ctx.repo.render(sha, id.path);
        } catch (err) {
          if (!(err instanceof ComparisonError)) throw err;
          failure = `ComparisonError: rpc error: code = Unknown desc = ${err.message}`;
        }
      }
      if (this.ctx.scheduler.closed) return;
      const finishedAt = rfc3339();
      if (failure || !target || !sha) {
        const message = failure ?? "one or more synchronization tasks completed unsuccessfully";
        this.ctx.status.update(rt, (app, status) => {
          delete app.operation;
          status.operationState = {
            operation,
            phase: "Failed",
            message,
            startedAt,
            finishedAt,
            syncResult: { revision: sha ?? revision, source: appSource(id) },
          };
          status.conditions = upsertCondition(
            status.conditions,
            "SyncError",
            `Failed sync attempt to ${sha ?? revision}: ${message}`,
          );
        });
        return;
      }
      previousImages = rt.deployed?.images;
      rt.deployed = target;
      rt.epoch += 1;
      epoch = rt.epoch;
      const deployedSha = sha;
      this.ctx.status.update(rt, (app, status) => {
        delete app.operation;
        status.operationState = {
          operation,
          phase: "Succeeded",
          message: "successfully synced (all tasks run)",
          startedAt,
          finishedAt,
          syncResult: { resources: syncResultResources(id), revision: deployedSha, source: appSource(id) },
        };
        const history = Array.isArray(status.history) ? status.history.filter(isObject) : [];
        const nextId = history.reduce((max, h) => Math.max(max, typeof h.id === "number" ? h.id : -1), -1) + 1;
        history.push({
          id: nextId,
          revision: deployedSha,
          deployStartedAt: startedAt,
          deployedAt: finishedAt,
          source: appSource(id),
          initiatedBy,
        });
        status.history = history.slice(-10);
        status.conditions = removeCondition(status.conditions, "SyncError");
        if ((status.conditions as Json[]).length === 0) delete status.conditions;
      });
    } finally {
      rt.operating = false;
    }
    if (!target) return;
    // The controller refreshes the app right after a sync; by then the new pods are rolling out.
    await this.ctx.scheduler.sleep(this.ctx.timings.postSyncRefreshMs);
    // Health is only ever re-assessed by a reconcile, so the workload moves on after this one.
    const proceed = this.workloads.apply(rt, previousImages, target, epoch);
    await this.refresher.reconcile(rt, this.refresher.head ?? target.revision);
    proceed();
  }

  /**
   * Creates the Application as a running Argo CD would have it when the simulator starts: already
   * auto-synced to `head` with its workload up, or Unknown when `head` cannot be rendered.
   */
  async createSynced(rt: AppRuntime, head: string | undefined): Promise<void> {
    const id = rt.identity;
    const app = newApplication(id);
    const status = statusOf(app);
    const now = rfc3339();
    let target: RenderedTarget | undefined;
    let error: string | undefined;
    rt.comparedRevision = head;
    if (head === undefined) error = `unable to resolve '${this.ctx.branch}' to a commit SHA`;
    else {
      try {
        target = await this.ctx.repo.render(head, id.path);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
    }
    if (target && head) {
      rt.deployed = target;
      const operation: JsonObject = {
        sync: { revision: head, syncOptions: ["CreateNamespace=true"] },
        initiatedBy: { automated: true },
        retry: { limit: 5 },
      };
      status.operationState = {
        operation,
        phase: "Succeeded",
        message: "successfully synced (all tasks run)",
        startedAt: now,
        finishedAt: now,
        syncResult: { resources: syncResultResources(id), revision: head, source: appSource(id) },
      };
      status.history = [
        {
          id: 0,
          revision: head,
          deployStartedAt: now,
          deployedAt: now,
          source: appSource(id),
          initiatedBy: { automated: true },
        },
      ];
      rt.syncStatus = "Synced";
      this.workloads.initial(rt, target);
    }
    if (error) rt.syncStatus = "Unknown";
    this.ctx.status.writeStatus(rt, status, error);
    rt.lastSpec = clone(app.spec);
    this.ctx.store.create("applications", app, "controller");
  }
}
