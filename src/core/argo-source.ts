// The port through which Conveyor learns what Argo CD is doing. Two implementations sit behind this interface:
// the Kubernetes API (list+watch informers on Applications, Rollouts and AppProjects, via a
// kubeconfig or the in-cluster service account) and the Argo CD API server (ARGOCD_SERVER +
// ARGOCD_TOKEN), for setups where the bot cannot read the cluster.
import type { Application, AppProject, Rollout } from "./argo-types.js";

export interface AppKey {
  namespace: string;
  name: string;
}

export interface ArgoSourceStats {
  /** Open watch connections right now (one per resource kind when healthy). */
  watchConnections: number;
  /** Times a watch was re-established after ending, failing or going stale. */
  reconnects: number;
  /** Full re-lists (periodic, after 410 Gone, after a stale watch). */
  relists: number;
}

export interface ArgoSource {
  /** Starts watching; resolves once the first list has been loaded. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Called for every added or modified Application (after the cache is updated), and for the
   * Applications of an AppProject whose sync windows changed.
   */
  onApplication(listener: (app: Application) => void): () => void;
  /** The cached Application, or undefined when Argo CD does not have it. */
  getApplication(key: AppKey): Application | undefined;
  /**
   * The AppProject the Application belongs to (spec.project, "default" when empty), for its sync
   * windows; undefined while it is not known (not read yet, missing, or not readable). Optional:
   * a source without it reports no windows.
   */
  projectFor?(app: Application): AppProject | undefined;
  /** Rollouts that belong to an Application (by its resources, or the app's instance label). */
  rolloutsFor(app: Application): Rollout[];
  /** Asks Argo CD to re-read git now (the refresh annotation, or ?refresh= on the API server). */
  refresh(key: AppKey): Promise<void>;
  stats(): ArgoSourceStats;
}
