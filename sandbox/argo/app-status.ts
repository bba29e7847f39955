import type { AppRuntime } from "./app-runtime.js";
import { isObject, rfc3339, type Json, type JsonObject } from "./json.js";
import {
  appDestination,
  appResources,
  appSource,
  healthJson,
  removeCondition,
  upsertCondition,
  worstHealth,
  type Health,
} from "./objects.js";
import { patchResources } from "./patch-workloads.js";
import type { Scheduler } from "./scheduler.js";
import type { ObjectStore } from "./store.js";

export function statusOf(object: JsonObject): JsonObject {
  if (!isObject(object.status)) object.status = {};
  return object.status as JsonObject;
}

/**
 * The application controller's writes to Application objects. The fields a refresh reports
 * (sync, conditions, health, resources, images) are derived from the AppRuntime in one place,
 * so the initial state, refreshes and health changes report them alike.
 */
export class AppStatusWriter {
  constructor(
    private readonly store: ObjectStore,
    private readonly namespace: string,
    private readonly scheduler: Scheduler,
    /** status.sync.revision before the first comparison of an app. */
    private readonly head: () => string | undefined,
  ) {}

  /** Read-modify-write of the live Application, so fields written through the API survive. */
  update(rt: AppRuntime, mutate: (app: JsonObject, status: JsonObject) => void): void {
    if (this.scheduler.closed || rt.removed) return;
    const app = this.store.get("applications", this.namespace, rt.identity.name);
    if (!app) return;
    mutate(app, statusOf(app));
    this.store.update("applications", app, "controller");
  }

  /** Writes what a reconcile computes: sync status, resources, images, health, reconciledAt. */
  writeStatus(rt: AppRuntime, status: JsonObject, comparisonError?: string): void {
    const id = rt.identity;
    const sync: JsonObject = {
      comparedTo: { source: appSource(id), destination: appDestination(id) },
      status: comparisonError ? "Unknown" : rt.syncStatus,
    };
    const revision = rt.comparedRevision ?? this.head();
    if (revision) sync.revision = revision;
    status.sync = sync;
    if (comparisonError) {
      status.conditions = upsertCondition(
        status.conditions,
        "ComparisonError",
        `Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = ${comparisonError}`,
      );
    } else status.conditions = removeCondition(status.conditions, "ComparisonError");
    if ((status.conditions as Json[]).length === 0) delete status.conditions;
    status.reconciledAt = rfc3339();
    this.writeLive(rt, status);
  }

  /** The workload's health moved: Argo CD reports that through a reconcile, hence reconciledAt. */
  publishHealth(rt: AppRuntime): void {
    this.update(rt, (_app, status) => {
      status.reconciledAt = rfc3339();
      this.writeLive(rt, status);
    });
  }

  private writeLive(rt: AppRuntime, status: JsonObject): void {
    const health: Health = rt.deployed
      ? worstHealth([{ status: "Healthy" }, rt.health])
      : { status: rt.syncStatus === "Unknown" ? "Unknown" : "Missing" };
    const previous = isObject(status.health) ? status.health : undefined;
    const since =
      previous && previous.status === health.status && typeof previous.lastTransitionTime === "string"
        ? previous.lastTransitionTime
        : rfc3339();
    status.health = { ...healthJson(health), lastTransitionTime: since };
    const workloadSync = rt.syncStatus === "Synced" ? "Synced" : "OutOfSync";
    status.resources = rt.workloadHealth
      ? patchResources(rt, workloadSync)
      : appResources(rt.identity, workloadSync, rt.health, rt.deployed !== undefined);
    status.summary = rt.deployed ? { images: [...new Set(rt.deployed.images)].sort() } : {};
  }
}
