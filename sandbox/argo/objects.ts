import { createHash } from "node:crypto";
import { isObject, rfc3339, type Json, type JsonObject } from "./json.js";

/** Argo CD's health statuses, worst last (gitops-engine's ordering). */
export const HEALTH_ORDER = ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"] as const;
export type HealthStatus = (typeof HEALTH_ORDER)[number];

export interface Health {
  status: HealthStatus;
  message?: string;
}

export function worstHealth(healths: Health[]): Health {
  let worst: Health = { status: "Healthy" };
  for (const h of healths) if (HEALTH_ORDER.indexOf(h.status) > HEALTH_ORDER.indexOf(worst.status)) worst = h;
  return worst;
}

export function healthJson(health: Health): JsonObject {
  return health.message ? { status: health.status, message: health.message } : { status: health.status };
}

const HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** A pod-template-hash lookalike (10 chars of Kubernetes' "safe" alphabet) derived from the images. */
export function podTemplateHash(images: string[]): string {
  const digest = createHash("sha256").update(images.join("\n")).digest();
  let out = "";
  for (let i = 0; i < 10; i++) out += HASH_ALPHABET[(digest[i] ?? 0) % HASH_ALPHABET.length];
  return out;
}

export function containerName(image: string, index: number): string {
  const base =
    (image.split("@")[0] ?? image)
      .replace(/:[^/:]*$/, "")
      .split("/")
      .pop() ?? "app";
  const name =
    base
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-")
      .replace(/^-+|-+$/g, "") || "app";
  return index === 0 ? name : `${name}-${index}`;
}

/** Everything the object builders need to know about one simulated Application. */
export interface AppIdentity {
  name: string;
  namespace: string;
  project: string;
  repoURL: string;
  path: string;
  branch: string;
  destinationNamespace: string;
  workloadName: string;
  workloadKind: "Deployment" | "Rollout";
  labels: Record<string, string>;
  autoSync: boolean;
}

export function appSource(app: AppIdentity): JsonObject {
  return { repoURL: app.repoURL, path: app.path, targetRevision: app.branch };
}

export function appDestination(app: AppIdentity): JsonObject {
  return { server: "https://kubernetes.default.svc", namespace: app.destinationNamespace };
}

export function newApplication(app: AppIdentity): JsonObject {
  const syncPolicy: JsonObject = {
    syncOptions: ["CreateNamespace=true"],
    retry: { limit: 5, backoff: { duration: "5s", factor: 2, maxDuration: "3m" } },
  };
  if (app.autoSync) syncPolicy.automated = { prune: true, selfHeal: true };
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: {
      name: app.name,
      namespace: app.namespace,
      labels: { ...app.labels },
      finalizers: ["resources-finalizer.argocd.argoproj.io"],
    },
    spec: { project: app.project, source: appSource(app), destination: appDestination(app), syncPolicy },
    status: { controllerNamespace: app.namespace, sourceType: "Kustomize" },
  };
}

function workloadRef(app: AppIdentity): JsonObject {
  return app.workloadKind === "Rollout"
    ? {
        group: "argoproj.io",
        version: "v1alpha1",
        kind: "Rollout",
        namespace: app.destinationNamespace,
        name: app.workloadName,
      }
    : { group: "apps", version: "v1", kind: "Deployment", namespace: app.destinationNamespace, name: app.workloadName };
}

function serviceRef(app: AppIdentity): JsonObject {
  return { group: "", version: "v1", kind: "Service", namespace: app.destinationNamespace, name: app.workloadName };
}

/** status.resources[]: the Service and the workload, with their sync status and inline health. */
export function appResources(
  app: AppIdentity,
  workloadSync: string,
  workloadHealth: Health | undefined,
  deployed: boolean,
): JsonObject[] {
  const service: JsonObject = { ...serviceRef(app), status: deployed ? "Synced" : "OutOfSync" };
  if (deployed) service.health = { status: "Healthy" };
  const workload: JsonObject = { ...workloadRef(app), status: workloadSync };
  if (deployed && workloadHealth) workload.health = healthJson(workloadHealth);
  if (service.group === "") delete service.group;
  return [service, workload];
}

export function syncResultResources(app: AppIdentity): JsonObject[] {
  const verb = "configured";
  const svc = serviceRef(app);
  const wl = workloadRef(app);
  return [
    {
      ...svc,
      status: "Synced",
      message: `service/${app.workloadName} ${verb}`,
      hookPhase: "Running",
      syncPhase: "Sync",
    },
    {
      ...wl,
      status: "Synced",
      message: `${app.workloadKind === "Rollout" ? "rollout.argoproj.io" : "deployment.apps"}/${app.workloadName} ${verb}`,
      hookPhase: "Running",
      syncPhase: "Sync",
    },
  ];
}

export function upsertCondition(conditions: Json | undefined, type: string, message: string): JsonObject[] {
  const list = Array.isArray(conditions) ? conditions.filter(isObject) : [];
  const existing = list.find((c) => c.type === type);
  if (existing && existing.message === message) return list;
  return [...list.filter((c) => c.type !== type), { type, message, lastTransitionTime: rfc3339() }];
}

export function removeCondition(conditions: Json | undefined, type: string): JsonObject[] {
  return Array.isArray(conditions) ? conditions.filter(isObject).filter((c) => c.type !== type) : [];
}

// ---------------------------------------------------------------------------------------------
// Argo Rollouts

export interface CanaryStep {
  setWeight?: number;
  pause?: { duration?: number | string };
}

/** `pairs` × (setWeight, pause), weights spread evenly below 100, e.g. 2 → 33%, pause, 67%, pause. */
export function canarySteps(pairs: number, pauseMs: number): CanaryStep[] {
  const steps: CanaryStep[] = [];
  for (let i = 1; i <= pairs; i++) {
    steps.push({ setWeight: Math.round((100 * i) / (pairs + 1)) });
    steps.push({ pause: { duration: `${Math.max(1, Math.round(pauseMs / 1000))}s` } });
  }
  return steps;
}

export interface RolloutIdentity {
  name: string;
  namespace: string;
  replicas: number;
  steps: CanaryStep[];
  labels: Record<string, string>;
}

export function rolloutSpec(r: RolloutIdentity, images: string[]): JsonObject {
  return {
    replicas: r.replicas,
    revisionHistoryLimit: 3,
    selector: { matchLabels: { app: r.name } },
    strategy: {
      canary: {
        analysis: { templates: [{ templateName: "success-rate" }], args: [{ name: "service-name", value: r.name }] },
        steps: r.steps as unknown as Json,
      },
    },
    template: {
      metadata: { labels: { app: r.name } },
      spec: {
        containers: images.map((image, i) => ({
          name: containerName(image, i),
          image,
          ports: [{ containerPort: 8080, name: "http", protocol: "TCP" }],
        })),
      },
    },
  };
}

export function newRollout(r: RolloutIdentity, images: string[], revision: number): JsonObject {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Rollout",
    metadata: {
      name: r.name,
      namespace: r.namespace,
      labels: { ...r.labels, "app.kubernetes.io/instance": r.name },
      annotations: { "rollout.argoproj.io/revision": String(revision) },
    },
    spec: rolloutSpec(r, images),
  };
}

export type RolloutPhase =
  | { kind: "progressing"; stepIndex: number }
  | { kind: "paused"; stepIndex: number }
  | { kind: "healthy" }
  | { kind: "aborted"; revision: number };

export const ANALYSIS_FAILURE = 'Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)';

function condition(
  previous: Json | undefined,
  type: string,
  statusValue: string,
  reason: string,
  message: string,
): JsonObject {
  const now = rfc3339();
  const old = Array.isArray(previous) ? previous.filter(isObject).find((c) => c.type === type) : undefined;
  const transition =
    old && old.status === statusValue && typeof old.lastTransitionTime === "string" ? old.lastTransitionTime : now;
  return { type, status: statusValue, reason, message, lastTransitionTime: transition, lastUpdateTime: now };
}

/** The status the Argo Rollouts controller writes for one moment of a canary rollout. */
export function rolloutStatus(
  r: RolloutIdentity,
  previous: JsonObject | undefined,
  generation: number,
  currentHash: string,
  stableHash: string,
  phase: RolloutPhase,
): JsonObject {
  const prevConditions = previous?.conditions;
  const stepHash = podTemplateHash([JSON.stringify(r.steps)]);
  const base: JsonObject = {
    HPAReplicas: r.replicas,
    availableReplicas: r.replicas,
    blueGreen: {},
    canary: {},
    currentPodHash: currentHash,
    currentStepHash: stepHash,
    observedGeneration: String(generation),
    readyReplicas: r.replicas,
    replicas: r.replicas,
    selector: `app=${r.name}`,
    stableRS: stableHash,
  };
  const available = condition(
    prevConditions,
    "Available",
    "True",
    "AvailableReason",
    "Rollout has minimum availability",
  );
  const weightAt = (index: number): number => {
    let weight = 0;
    for (const step of r.steps.slice(0, index + 1)) if (step.setWeight !== undefined) weight = step.setWeight;
    return weight;
  };
  switch (phase.kind) {
    case "healthy":
      return {
        ...base,
        updatedReplicas: r.replicas,
        currentStepIndex: r.steps.length,
        phase: "Healthy",
        conditions: [
          condition(prevConditions, "Completed", "True", "RolloutCompleted", "RolloutCompleted"),
          condition(
            prevConditions,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            `ReplicaSet "${r.name}-${currentHash}" has successfully progressed.`,
          ),
          available,
        ],
      };
    case "progressing": {
      const canary = Math.max(1, Math.ceil((r.replicas * weightAt(phase.stepIndex)) / 100));
      return {
        ...base,
        replicas: r.replicas + canary,
        updatedReplicas: canary,
        availableReplicas: r.replicas + canary,
        readyReplicas: r.replicas + canary,
        currentStepIndex: phase.stepIndex,
        phase: "Progressing",
        message: "more replicas need to be updated",
        conditions: [
          condition(prevConditions, "Completed", "False", "RolloutCompleted", "RolloutCompleted"),
          condition(prevConditions, "Progressing", "True", "ReplicaSetUpdated", `Rollout "${r.name}" is progressing.`),
          available,
        ],
      };
    }
    case "paused": {
      const canary = Math.max(1, Math.ceil((r.replicas * weightAt(phase.stepIndex)) / 100));
      return {
        ...base,
        replicas: r.replicas + canary,
        updatedReplicas: canary,
        availableReplicas: r.replicas + canary,
        readyReplicas: r.replicas + canary,
        currentStepIndex: phase.stepIndex,
        phase: "Paused",
        message: "CanaryPauseStep",
        controllerPause: true,
        pauseConditions: [{ reason: "CanaryPauseStep", startTime: rfc3339() }],
        conditions: [
          condition(prevConditions, "Completed", "False", "RolloutCompleted", "RolloutCompleted"),
          condition(prevConditions, "Progressing", "Unknown", "RolloutPaused", "Rollout is paused"),
          available,
          condition(prevConditions, "Paused", "True", "RolloutPaused", "Rollout is paused"),
        ],
      };
    }
    case "aborted": {
      const message = `RolloutAborted: Rollout aborted update to revision ${phase.revision}: ${ANALYSIS_FAILURE}`;
      return {
        ...base,
        abort: true,
        abortedAt: rfc3339(),
        updatedReplicas: 0,
        currentStepIndex: 0,
        phase: "Degraded",
        message,
        canary: {
          currentBackgroundAnalysisRunStatus: {
            name: `${r.name}-${currentHash}-${phase.revision}`,
            status: "Failed",
            message: ANALYSIS_FAILURE,
          },
        },
        conditions: [
          condition(prevConditions, "Completed", "False", "RolloutCompleted", "RolloutCompleted"),
          condition(
            prevConditions,
            "Progressing",
            "False",
            "RolloutAborted",
            `Rollout aborted update to revision ${phase.revision}: ${ANALYSIS_FAILURE}`,
          ),
          available,
        ],
      };
    }
  }
}

function num(value: Json | undefined, fallback: number): number {
  return typeof value === "number" ? value : fallback;
}

/** Argo CD's built-in Rollout health check (resource_customizations/argoproj.io/Rollout/health.lua). */
export function rolloutHealth(rollout: JsonObject): Health {
  const metadata = isObject(rollout.metadata) ? rollout.metadata : {};
  const spec = isObject(rollout.spec) ? rollout.spec : {};
  const status = isObject(rollout.status) ? rollout.status : undefined;
  const waiting: Health = { status: "Progressing", message: "Waiting for rollout spec update to be observed" };
  if (!status) return waiting;
  // A missing/unparsable observedGeneration, or one above generation (v0.9 semantics), counts as observed.
  const observed = status.observedGeneration === undefined ? NaN : Number(status.observedGeneration);
  if (!Number.isNaN(observed) && observed < num(metadata.generation, 0)) return waiting;
  const annotations = isObject(metadata.annotations) ? metadata.annotations : undefined;
  if (spec.workloadRef !== undefined && annotations) {
    if (Number(annotations["rollout.argoproj.io/workload-generation"]) !== Number(status.workloadObservedGeneration))
      return waiting;
  }
  if (typeof status.phase === "string") {
    const mapped = status.phase === "Paused" ? "Suspended" : status.phase;
    const known = (HEALTH_ORDER as readonly string[]).includes(mapped) ? (mapped as HealthStatus) : "Unknown";
    return typeof status.message === "string" && status.message !== ""
      ? { status: known, message: status.message }
      : { status: known };
  }
  for (const c of Array.isArray(status.conditions) ? status.conditions.filter(isObject) : []) {
    const degraded =
      c.type === "InvalidSpec" ||
      (c.type === "Progressing" && (c.reason === "RolloutAborted" || c.reason === "ProgressDeadlineExceeded"));
    if (degraded) return { status: "Degraded", message: String(c.message ?? "") };
  }
  if ((Array.isArray(status.pauseConditions) && status.pauseConditions.length > 0) || spec.paused === true) {
    return { status: "Suspended", message: "Rollout is paused" };
  }
  if (typeof status.currentPodHash !== "string")
    return { status: "Progressing", message: "Waiting for rollout to finish: status has not been reconciled." };
  const desired = num(spec.replicas, 1);
  const replicas = num(status.replicas, 0);
  const updated = num(status.updatedReplicas, 0);
  const availableReplicas = num(status.availableReplicas, 0);
  if (updated < desired)
    return { status: "Progressing", message: "Waiting for roll out to finish: More replicas need to be updated" };
  if (availableReplicas < updated)
    return {
      status: "Progressing",
      message: "Waiting for roll out to finish: updated replicas are still becoming available",
    };
  const canaryStatus = isObject(status.canary) ? status.canary : {};
  const stable =
    typeof status.stableRS === "string"
      ? status.stableRS
      : typeof canaryStatus.stableRS === "string"
        ? canaryStatus.stableRS
        : "";
  const strategy = isObject(spec.strategy) ? spec.strategy : {};
  if (strategy.blueGreen !== undefined) {
    const blueGreen = isObject(status.blueGreen) ? status.blueGreen : undefined;
    if (!blueGreen || blueGreen.activeSelector !== status.currentPodHash)
      return { status: "Progressing", message: "active service cutover pending" };
    if (stable !== "" && stable !== status.currentPodHash)
      return { status: "Progressing", message: "waiting for analysis to complete" };
  } else if (strategy.canary !== undefined) {
    if (replicas > updated)
      return { status: "Progressing", message: "Waiting for roll out to finish: old replicas are pending termination" };
    if (stable === "" || stable !== status.currentPodHash)
      return { status: "Progressing", message: "Waiting for rollout to finish steps" };
  }
  return { status: "Healthy" };
}
