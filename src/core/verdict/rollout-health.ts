// Argo CD's Rollout health check (resource_customizations/argoproj.io/Rollout/health.lua), ported.
// Kept to the Lua's branches so a Rollout read directly is judged as Argo CD would judge it.

import type { HealthStatusCode, Rollout } from "../argo-types.js";

export interface RolloutHealth {
  status: HealthStatusCode;
  message: string;
}

/** Lua's tonumber for the values that appear here: numbers and decimal strings, else undefined. */
function luaNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

export function isGenerationObserved(rollout: Rollout): boolean {
  if (rollout.status == null) return false;
  const observed = luaNumber(rollout.status.observedGeneration);
  const generation = rollout.metadata?.generation;
  // A non-numeric observedGeneration (a pod-template hash) means a v0.9 controller, which never
  // recorded generations; so does a number larger than the generation.
  if (observed === undefined || generation === undefined || observed > generation) return true;
  return observed === generation;
}

export function isWorkloadGenerationObserved(rollout: Rollout): boolean {
  const annotations = rollout.metadata?.annotations;
  if (rollout.spec?.workloadRef == null || annotations == null) return true;
  const wanted = luaNumber(annotations["rollout.argoproj.io/workload-generation"]);
  const observed = luaNumber(rollout.status?.workloadObservedGeneration);
  return wanted === observed;
}

export function stableReplicaSet(rollout: Rollout): string {
  return rollout.status?.stableRS ?? rollout.status?.canary?.stableRS ?? "";
}

function knownHealth(status: string | undefined): HealthStatusCode {
  switch (status) {
    case "Healthy":
    case "Progressing":
    case "Suspended":
    case "Degraded":
    case "Missing":
      return status;
    default:
      return "Unknown";
  }
}

export function rolloutHealth(rollout: Rollout): RolloutHealth {
  const status = rollout.status;
  if (status == null || !isGenerationObserved(rollout) || !isWorkloadGenerationObserved(rollout)) {
    return { status: "Progressing", message: "Waiting for rollout spec update to be observed" };
  }
  // Rollouts v1.0+ records its own phase and message, which Argo CD surfaces as they are.
  if (status.phase != null) {
    return {
      status: status.phase === "Paused" ? "Suspended" : knownHealth(status.phase),
      message: status.message ?? "",
    };
  }
  for (const condition of status.conditions ?? []) {
    const degraded =
      condition.type === "InvalidSpec" ||
      (condition.type === "Progressing" &&
        (condition.reason === "RolloutAborted" || condition.reason === "ProgressDeadlineExceeded"));
    if (degraded) return { status: "Degraded", message: condition.message ?? "" };
  }
  if ((status.pauseConditions?.length ?? 0) > 0 || rollout.spec?.paused === true) {
    return { status: "Suspended", message: "Rollout is paused" };
  }
  if (status.currentPodHash == null) {
    return { status: "Progressing", message: "Waiting for rollout to finish: status has not been reconciled." };
  }
  const desired = rollout.spec?.replicas ?? 1;
  const replicas = status.replicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired) {
    return { status: "Progressing", message: "Waiting for roll out to finish: More replicas need to be updated" };
  }
  if (available < updated) {
    return {
      status: "Progressing",
      message: "Waiting for roll out to finish: updated replicas are still becoming available",
    };
  }
  const stable = stableReplicaSet(rollout);
  const strategy = rollout.spec?.strategy;
  if (strategy?.blueGreen != null) {
    if (status.blueGreen == null || status.blueGreen.activeSelector !== status.currentPodHash) {
      return { status: "Progressing", message: "active service cutover pending" };
    }
    if (stable !== "" && stable !== status.currentPodHash) {
      return { status: "Progressing", message: "waiting for analysis to complete" };
    }
  } else if (strategy?.canary != null) {
    if (replicas > updated) {
      return { status: "Progressing", message: "Waiting for roll out to finish: old replicas are pending termination" };
    }
    if (stable === "" || stable !== status.currentPodHash) {
      return { status: "Progressing", message: "Waiting for rollout to finish steps" };
    }
  }
  return { status: "Healthy", message: "" };
}
