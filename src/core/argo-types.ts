// The slice of Argo CD Application and AppProject and Argo Rollouts Rollout objects that the verdict reads.
// Objects arrive as plain JSON from the kube API (or YAML fixtures), and older controllers omit
// fields newer ones set, so every field is optional and nothing here is validated.

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  generation?: number;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** Argo CD health status codes (gitops-engine `health.HealthStatusCode`). */
export type HealthStatusCode = "Healthy" | "Progressing" | "Suspended" | "Degraded" | "Missing" | "Unknown";

export interface HealthStatus {
  status?: HealthStatusCode | string;
  message?: string;
}

export interface SyncOperation {
  revision?: string;
  revisions?: string[];
}

export interface Operation {
  sync?: SyncOperation;
  initiatedBy?: { username?: string; automated?: boolean };
}

export interface ResourceResult {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  status?: string;
  message?: string;
  hookPhase?: string;
}

export interface SyncOperationResult {
  revision?: string;
  revisions?: string[];
  resources?: ResourceResult[];
}

/** Operation phases (gitops-engine `synccommon.OperationPhase`). */
export type OperationPhase = "Running" | "Terminating" | "Failed" | "Error" | "Succeeded";

export interface OperationState {
  operation?: Operation;
  phase?: OperationPhase | string;
  message?: string;
  syncResult?: SyncOperationResult;
  startedAt?: string;
  finishedAt?: string;
  retryCount?: number;
}

export interface ApplicationCondition {
  type?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ResourceStatus {
  group?: string;
  version?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  status?: string;
  health?: HealthStatus;
}

export interface SyncStatus {
  status?: "Synced" | "OutOfSync" | "Unknown" | string;
  revision?: string;
  revisions?: string[];
}

export interface ApplicationStatus {
  sync?: SyncStatus;
  health?: HealthStatus;
  operationState?: OperationState;
  reconciledAt?: string;
  conditions?: ApplicationCondition[];
  resources?: ResourceStatus[];
  summary?: { images?: string[]; externalURLs?: string[] };
}

/** Where an Application deploys to; the sync windows of its project select on these. */
export interface ApplicationDestination {
  server?: string;
  /** The cluster's name, an alternative to `server`. */
  name?: string;
  namespace?: string;
}

export interface ApplicationSpec {
  /** The AppProject the app belongs to; Argo CD uses "default" when it is empty. */
  project?: string;
  destination?: ApplicationDestination;
  syncPolicy?: {
    /** Present (even as `{}`) when auto-sync is enabled. */
    automated?: { prune?: boolean; selfHeal?: boolean; enabled?: boolean } | null;
  };
}

export interface Application {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: ApplicationSpec;
  /** Set while an operation is requested or in flight; cleared by the controller when it ends. */
  operation?: Operation;
  status?: ApplicationStatus;
}

/** Analysis phases (Argo Rollouts `AnalysisPhase`). */
export interface RolloutAnalysisRunStatus {
  name?: string;
  status?: "Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive" | string;
  message?: string;
}

export interface RolloutCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface RolloutStatus {
  phase?: string;
  message?: string;
  abort?: boolean;
  abortedAt?: string;
  /** Numeric since v0.10; a pod-template hash string in v0.9 and earlier. */
  observedGeneration?: string | number;
  workloadObservedGeneration?: string | number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  currentPodHash?: string;
  stableRS?: string;
  pauseConditions?: { reason?: string; startTime?: string }[];
  controllerPause?: boolean;
  conditions?: RolloutCondition[];
  canary?: {
    /** Deprecated in v0.8 for `status.stableRS`. */
    stableRS?: string;
    currentStepAnalysisRunStatus?: RolloutAnalysisRunStatus;
    currentBackgroundAnalysisRunStatus?: RolloutAnalysisRunStatus;
  };
  blueGreen?: {
    activeSelector?: string;
    previewSelector?: string;
    prePromotionAnalysisRunStatus?: RolloutAnalysisRunStatus;
    postPromotionAnalysisRunStatus?: RolloutAnalysisRunStatus;
  };
}

export interface Rollout {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: {
    replicas?: number;
    paused?: boolean;
    workloadRef?: { apiVersion?: string; kind?: string; name?: string };
    strategy?: { canary?: object | null; blueGreen?: object | null };
  };
  status?: RolloutStatus;
}

/**
 * One entry of an AppProject's `spec.syncWindows` (Argo CD `v1alpha1.SyncWindow`). `andOperator`,
 * `description` and `syncOverrun` are newer than the CRD copied into the sandbox; they are read
 * when present.
 */
export interface SyncWindow {
  /** "allow" or "deny". */
  kind?: string;
  /** When the window opens: a five-field cron expression. */
  schedule?: string;
  /** How long it stays open: a Go duration ("1h", "30m", "1h30m"). */
  duration?: string;
  applications?: string[];
  namespaces?: string[];
  clusters?: string[];
  /** Manual syncs are allowed while the window would block them. */
  manualSync?: boolean;
  /** IANA zone the schedule is read in; UTC when empty or unknown. */
  timeZone?: string;
  /** The selectors must all match (instead of any). */
  andOperator?: boolean;
  description?: string;
  syncOverrun?: boolean;
}

/** The slice of an Argo CD AppProject that Conveyor reads: its sync windows. */
export interface AppProject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta & { resourceVersion?: string };
  spec?: { syncWindows?: SyncWindow[] | null; description?: string };
}
