import type { AppRuntime } from "./app-runtime.js";
import type { SimContext } from "./context.js";
import { isObject } from "./json.js";

/**
 * syncPolicy.automated: a refresh that finds an app OutOfSync starts a sync autoSyncDelayMs
 * later, unless by then an operation is running, the app is back in sync, or the policy was
 * switched off. The policy is read from the live Application so that edits through the API count.
 * Like Argo CD (controller/appcontroller.go, processAppRefreshQueueItem), a refresh during which
 * the project's sync windows deny the app starts nothing and writes nothing to the Application
 * (the controller only logs "Sync prevented by sync window"); the next refresh looks again.
 */
export class AutoSync {
  constructor(
    private readonly ctx: SimContext,
    private readonly sync: (rt: AppRuntime, revision: string) => Promise<void>,
  ) {}

  afterRefresh(rt: AppRuntime): void {
    if (rt.syncStatus !== "OutOfSync" || rt.operating || !this.enabled(rt)) return;
    if (!this.ctx.canSync(rt, false)) {
      rt.syncPrevented = true;
      return;
    }
    rt.syncPrevented = false;
    this.schedule(rt);
  }

  /** Any operation supersedes a pending auto-sync. */
  cancel(rt: AppRuntime): void {
    if (rt.autoSyncTimer) {
      this.ctx.scheduler.cancel(rt.autoSyncTimer);
      rt.autoSyncTimer = undefined;
    }
  }

  private schedule(rt: AppRuntime): void {
    if (rt.autoSyncTimer) return;
    rt.autoSyncTimer = this.ctx.scheduler.later(this.ctx.timings.autoSyncDelayMs, () => {
      rt.autoSyncTimer = undefined;
      if (rt.operating || rt.syncStatus !== "OutOfSync" || !this.enabled(rt) || !rt.comparedRevision) return;
      if (!this.ctx.canSync(rt, false)) {
        rt.syncPrevented = true;
        return;
      }
      this.ctx.scheduler.run(this.sync(rt, rt.comparedRevision));
    });
  }

  private enabled(rt: AppRuntime): boolean {
    const app = this.ctx.store.get("applications", this.ctx.namespace, rt.identity.name);
    const spec = app && isObject(app.spec) ? app.spec : {};
    const policy = isObject(spec.syncPolicy) ? spec.syncPolicy : {};
    return isObject(policy.automated) && policy.automated.enabled !== false;
  }
}
