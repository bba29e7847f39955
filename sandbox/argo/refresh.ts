import type { AppRuntime } from "./app-runtime.js";
import type { SimContext } from "./context.js";
import { ComparisonError, type RenderedTarget } from "./git.js";
import { isObject } from "./json.js";

export const REFRESH_ANNOTATION = "argocd.argoproj.io/refresh";

/**
 * Following the branch: its head is polled (and checked at once on notifyPush() or a refresh
 * annotation), a moved head refreshes every app after syncDelayMs, and the optional periodic
 * reconcile refreshes them all as Argo CD's resync loop does. A refresh only compares and reports;
 * acting on OutOfSync is left to `compared` (auto-sync).
 */
export class Refresher {
  private currentHead: string | undefined;
  private headCheck: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: SimContext,
    private readonly apps: ReadonlyMap<string, AppRuntime>,
    private readonly compared: (rt: AppRuntime) => void,
  ) {}

  /** The branch head as last resolved; undefined while the branch does not exist. */
  get head(): string | undefined {
    return this.currentHead;
  }

  async resolveHead(): Promise<void> {
    this.currentHead = await this.ctx.repo.resolveBranch(this.ctx.branch);
  }

  start(): void {
    this.schedulePoll();
    this.scheduleReconcile();
  }

  checkHead(): Promise<void> {
    const next = this.headCheck.then(async () => {
      const sha = await this.ctx.repo.resolveBranch(this.ctx.branch);
      if (this.ctx.scheduler.closed || sha === this.currentHead) return;
      this.currentHead = sha;
      this.ctx.scheduler.later(this.ctx.timings.syncDelayMs, () => {
        if (this.currentHead !== sha) return; // a newer head has its own refresh coming
        for (const rt of this.apps.values()) this.ctx.scheduler.run(this.reconcile(rt, sha));
      });
    });
    this.headCheck = next.catch(() => undefined);
    return next;
  }

  /** A refresh: compare the desired state at `revision` with what is deployed. */
  reconcile(rt: AppRuntime, revision: string | undefined, options: { clearAnnotation?: boolean } = {}): Promise<void> {
    const task = rt.chain.then(async () => {
      let target: RenderedTarget | undefined;
      let error: string | undefined;
      if (revision === undefined) error = `unable to resolve '${this.ctx.branch}' to a commit SHA`;
      else {
        try {
          target = await this.ctx.repo.render(revision, rt.identity.path);
        } catch (err) {
          if (!(err instanceof ComparisonError)) throw err;
          error = err.message;
        }
      }
      if (this.ctx.scheduler.closed) return;
      rt.comparedRevision = revision;
      rt.syncStatus = error
        ? "Unknown"
        : target && rt.deployed?.fingerprint === target.fingerprint
          ? "Synced"
          : "OutOfSync";
      this.ctx.status.update(rt, (app, status) => {
        if (options.clearAnnotation && isObject(app.metadata) && isObject(app.metadata.annotations)) {
          delete app.metadata.annotations[REFRESH_ANNOTATION];
          if (Object.keys(app.metadata.annotations).length === 0) delete app.metadata.annotations;
        }
        this.ctx.status.writeStatus(rt, status, error);
      });
      this.compared(rt);
    });
    rt.chain = task.catch(() => undefined);
    return task;
  }

  private schedulePoll(): void {
    this.ctx.scheduler.later(this.ctx.timings.pollIntervalMs, () => {
      this.ctx.scheduler.run(this.checkHead());
      this.schedulePoll();
    });
  }

  private scheduleReconcile(): void {
    const interval = this.ctx.timings.reconcileIntervalMs;
    // Keeps ticking while disabled, so that setTimings() can switch it on later.
    this.ctx.scheduler.later(interval > 0 ? interval : 1000, () => {
      if (this.ctx.timings.reconcileIntervalMs > 0)
        for (const rt of this.apps.values()) this.ctx.scheduler.run(this.reconcile(rt, this.currentHead));
      this.scheduleReconcile();
    });
  }
}
