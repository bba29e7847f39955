import type { AppRuntime } from "./app-runtime.js";
import type { AppStatusWriter } from "./app-status.js";
import type { ArgoSimTimings } from "./options.js";
import type { RepoServer } from "./repo-server.js";
import type { Scheduler } from "./scheduler.js";
import type { ObjectStore } from "./store.js";

/** What the parts of the simulated controller share; ArgoSim builds it once. */
export interface SimContext {
  /** Namespace of the Application objects. */
  readonly namespace: string;
  /** The branch every Application tracks (spec.source.targetRevision). */
  readonly branch: string;
  /** Changed in place by setTimings(): read a field when it is needed, never keep a copy. */
  readonly timings: ArgoSimTimings;
  readonly store: ObjectStore;
  readonly scheduler: Scheduler;
  readonly repo: RepoServer;
  readonly status: AppStatusWriter;
  /**
   * Whether the AppProject's sync windows let the app sync now (Argo CD's
   * `project.Spec.SyncWindows.Matches(app).CanSync(isManual)`); see sync-windows.ts.
   */
  canSync(rt: AppRuntime, manual: boolean): boolean;
}
