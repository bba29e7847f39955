/**
 * Typed views of the objects the simulator serves. Only the fields the simulator writes are
 * listed; the objects themselves are plain JSON and match the upstream CRD schemas.
 */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface HealthStatusView {
  status: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ApplicationSourceView {
  repoURL: string;
  path: string;
  targetRevision: string;
}

export interface SyncOperationView {
  sync?: { revision?: string; prune?: boolean; syncOptions?: string[] };
  initiatedBy?: { automated?: boolean; username?: string };
  retry?: { limit?: number };
}

export interface ResourceStatusView {
  group?: string;
  version: string;
  kind: string;
  namespace: string;
  name: string;
  status: string;
  health?: HealthStatusView;
}

export interface ApplicationView {
  apiVersion: "argoproj.io/v1alpha1";
  kind: "Application";
  metadata: ObjectMeta;
  spec: {
    project: string;
    source: ApplicationSourceView;
    destination: { server: string; namespace: string };
    syncPolicy?: { automated?: { prune?: boolean; selfHeal?: boolean; enabled?: boolean }; syncOptions?: string[] };
  };
  operation?: SyncOperationView;
  status: {
    controllerNamespace?: string;
    sourceType?: string;
    reconciledAt?: string;
    health?: HealthStatusView;
    sync?: {
      status: "Synced" | "OutOfSync" | "Unknown";
      revision?: string;
      comparedTo?: { source: ApplicationSourceView; destination: object };
    };
    operationState?: {
      operation: SyncOperationView;
      phase: "Running" | "Succeeded" | "Failed" | "Error" | "Terminating";
      message?: string;
      startedAt: string;
      finishedAt?: string;
      syncResult?: {
        revision: string;
        source?: ApplicationSourceView;
        resources?: Array<ResourceStatusView & { message?: string }>;
      };
    };
    history?: Array<{
      id: number;
      revision: string;
      deployStartedAt?: string;
      deployedAt: string;
      source?: ApplicationSourceView;
      initiatedBy?: { automated?: boolean; username?: string };
    }>;
    conditions?: Array<{ type: string; message: string; lastTransitionTime?: string }>;
    resources?: ResourceStatusView[];
    summary?: { images?: string[] };
  };
}

export interface RolloutView {
  apiVersion: "argoproj.io/v1alpha1";
  kind: "Rollout";
  metadata: ObjectMeta;
  spec: {
    replicas: number;
    strategy: { canary: { steps: Array<{ setWeight?: number; pause?: { duration?: string | number } }> } };
    template: { spec: { containers: Array<{ name: string; image: string }> } };
  };
  status?: {
    phase?: "Progressing" | "Paused" | "Healthy" | "Degraded";
    message?: string;
    currentPodHash?: string;
    stableRS?: string;
    currentStepIndex?: number;
    observedGeneration?: string;
    controllerPause?: boolean;
    pauseConditions?: Array<{ reason: string; startTime: string }>;
    abort?: boolean;
    abortedAt?: string;
    canary?: { currentBackgroundAnalysisRunStatus?: { name: string; status: string; message?: string } };
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}
