import type { SimSyncWindow } from "./sync-windows.js";

export interface ArgoSimTimings {
  /** How often the controller polls the branch head (it also reacts to notifyPush()). */
  pollIntervalMs: number;
  /** Branch moved -> refresh of every app (OutOfSync shows up). Argo CD: webhook or 3 min poll. */
  syncDelayMs: number;
  /** OutOfSync -> auto-sync operation starts (operation set, phase Running). */
  autoSyncDelayMs: number;
  /** Operation Running -> Succeeded (finishedAt, history entry). */
  operationMs: number;
  /** Succeeded -> the post-sync refresh: Synced, reconciledAt >= finishedAt, health Progressing. */
  postSyncRefreshMs: number;
  /** Deployment: Progressing -> Healthy. */
  progressingMs: number;
  /** Deployment with a failing image: Progressing -> Degraded; Rollout: first canary step -> aborted. */
  degradedAfterMs: number;
  /** Rollout: time spent on each setWeight step. Pauses last `rollout.pauseMs` of the app. */
  rolloutStepMs: number;
  /** BOOKMARK interval on watches that ask for them. */
  bookmarkIntervalMs: number;
  /** Periodic full reconcile of every app (updates reconciledAt); 0 disables. Argo CD: 180 s. */
  reconcileIntervalMs: number;
}

export const DEFAULT_TIMINGS: ArgoSimTimings = {
  pollIntervalMs: 1000,
  syncDelayMs: 300,
  autoSyncDelayMs: 100,
  operationMs: 400,
  postSyncRefreshMs: 100,
  progressingMs: 1500,
  degradedAfterMs: 2000,
  rolloutStepMs: 500,
  bookmarkIntervalMs: 5000,
  reconcileIntervalMs: 0,
};

export interface ArgoSimApplication {
  /** Application name, e.g. order-service-staging. */
  name: string;
  /** Overlay directory in the repo, e.g. services/order-service/overlays/staging. */
  path: string;
  /** Deploy through an Argo Rollouts canary instead of a Deployment. */
  rollout?: { canarySteps?: number; pauseMs?: number; replicas?: number };
  /** Per-app override of ArgoSimOptions.autoSync. */
  autoSync?: boolean;
  /** Defaults to the <env> of services/<service>/overlays/<env>, else the app name. */
  destinationNamespace?: string;
  /** Deployment/Rollout/Service name; defaults to the <service> of the path, else the app name. */
  workloadName?: string;
  labels?: Record<string, string>;
  project?: string;
}

/** An AppProject to create (a "default" one always exists, as in Argo CD). */
export interface ArgoSimProject {
  name: string;
  /** spec.syncWindows, in the AppProject CRD's shape (kind, schedule, duration, applications, ...). */
  syncWindows?: SimSyncWindow[];
}

export interface ArgoSimOptions {
  port?: number;
  host?: string;
  /** Namespace of the Application objects (default "argocd"). */
  namespace?: string;
  /** Bearer token the API server accepts (default: random). */
  token?: string;
  /** Bare git repository of the manifests repo. */
  repoPath: string;
  branch?: string;
  /** spec.source.repoURL (default file://<repoPath>). */
  repoURL?: string;
  applications: ArgoSimApplication[];
  /** AppProjects besides "default", e.g. with sync windows. */
  projects?: ArgoSimProject[];
  timings?: Partial<ArgoSimTimings>;
  /** Image tags matching this fail (Degraded / aborted canary). Default /bad/. */
  failurePattern?: RegExp;
  /** syncPolicy.automated for every app unless overridden per app (default true). */
  autoSync?: boolean;
  /** Watch history window in events; older resourceVersions get 410 Expired (default 1000). */
  watchHistorySize?: number;
  /** Validate every stored object against the upstream CRD schemas, as an apiserver does (default true). */
  validate?: boolean;
}
