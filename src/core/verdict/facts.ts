// Facts: everything the decision needs, read once from the input, so the decision and the
// observations the caller stores agree on what was seen.

import type { Application, ApplicationCondition, Rollout, RolloutAnalysisRunStatus } from "../argo-types.js";
import {
  isGenerationObserved,
  isWorkloadGenerationObserved,
  rolloutHealth,
  stableReplicaSet,
} from "./rollout-health.js";
import { time } from "./time.js";
import type { Observation, ObserveInput, RolloutEvidence } from "./types.js";

type Match = boolean | undefined;

interface RolloutFacts extends RolloutEvidence {
  aborted: boolean;
  failedAnalysis?: RolloutAnalysisRunStatus;
}

interface Facts {
  name: string;
  automated: boolean;
  syncStatus?: string;
  syncRevisions: string[];
  syncMatch: Match;
  operationPhase?: string;
  operationMessage?: string;
  operationRevisions: string[];
  operationMatch: Match;
  operationRunning: boolean;
  operationFinishedAt?: string;
  reconciledAt?: string;
  applied: boolean;
  synced: boolean;
  fresh: boolean;
  health?: string;
  healthMessage?: string;
  rollouts: RolloutFacts[];
  conditions: { type: string; message: string }[];
  /** Error conditions that block the target. */
  errors: { type: string; message: string }[];
  images: string[];
}

const ERROR_CONDITIONS = ["ComparisonError", "InvalidSpecError", "SyncError"];

function isCommitSha(revision: string): boolean {
  return /^[0-9a-f]{7,64}$/i.test(revision);
}

export function nonEmpty(values: (string | undefined)[] | undefined): string[] {
  return (values ?? []).filter((v): v is string => typeof v === "string" && v !== "");
}

/**
 * Whether any of `revisions` is the target or a commit that contains it. Multi-source apps list
 * one revision per source (other repos, Helm chart versions); one of them carrying the target is
 * enough. Non-SHA revisions (branch names, chart versions) are never passed to git.
 */
function containsTarget(revisions: string[], input: ObserveInput): Match {
  const target = input.target.revision.toLowerCase();
  let unknown = false;
  for (const revision of revisions) {
    if (revision.toLowerCase() === target) return true;
    if (!isCommitSha(revision)) continue;
    const answer = input.isAncestor(input.target.revision, revision);
    if (answer === true) return true;
    if (answer === undefined) unknown = true;
  }
  return unknown ? undefined : false;
}

function failedAnalysisOf(rollout: Rollout): RolloutAnalysisRunStatus | undefined {
  const runs = [
    rollout.status?.canary?.currentStepAnalysisRunStatus,
    rollout.status?.canary?.currentBackgroundAnalysisRunStatus,
    rollout.status?.blueGreen?.prePromotionAnalysisRunStatus,
    rollout.status?.blueGreen?.postPromotionAnalysisRunStatus,
  ];
  return runs.find((run) => run?.status === "Failed" || run?.status === "Error");
}

function rolloutFacts(rollout: Rollout): RolloutFacts {
  const name = rollout.metadata?.name ?? "(unnamed)";
  const health = rolloutHealth(rollout);
  const stableRS = stableReplicaSet(rollout) || undefined;
  const currentPodHash = rollout.status?.currentPodHash;
  // Before the controller has seen the new spec, abort flags and analysis runs are the previous
  // revision's; the new pod template clears them.
  const observed = isGenerationObserved(rollout) && isWorkloadGenerationObserved(rollout);
  const failedAnalysis = observed ? failedAnalysisOf(rollout) : undefined;
  const aborted = observed && rollout.status?.abort === true;
  let status: string = health.status;
  let message = health.message;
  if (aborted || failedAnalysis !== undefined) {
    status = "Degraded";
    message = failedAnalysis?.message ?? abortMessage(rollout) ?? health.message;
  } else if (health.status === "Healthy" && (stableRS === undefined || stableRS !== currentPodHash)) {
    status = "Progressing";
    message = `stable ReplicaSet ${stableRS ?? "(none)"} is not yet the current pod hash ${currentPodHash ?? "(none)"}`;
  }
  return { name, status, message, stableRS, currentPodHash, source: "rollout", aborted, failedAnalysis };
}

function abortMessage(rollout: Rollout): string | undefined {
  const condition = rollout.status?.conditions?.find((c) => c.type === "Progressing" && c.reason === "RolloutAborted");
  return condition?.message ?? rollout.status?.message;
}

/** Rollouts as Argo CD reports them in the application tree, for when the objects were not read. */
function rolloutResourceFacts(app: Application): RolloutFacts[] {
  return (app.status?.resources ?? [])
    .filter((r) => r.kind === "Rollout" && (r.group === undefined || r.group === "argoproj.io"))
    .map((r) => {
      const status = r.health?.status ?? "Unknown";
      const message = r.health?.message ?? "";
      // Rollouts v1 reports an abort as phase Degraded, message "RolloutAborted: ..."; older
      // controllers as the condition message "Rollout is aborted" or the analysis message.
      const failedAnalysis = status === "Degraded" && /assessed (Failed|Error)/i.test(message);
      const aborted = status === "Degraded" && (failedAnalysis || /abort/i.test(message));
      return {
        name: r.name ?? "(unnamed)",
        status,
        message,
        source: "resource" as const,
        aborted,
        failedAnalysis: failedAnalysis ? { message } : undefined,
      };
    });
}

export function factsOf(input: ObserveInput): Facts {
  const { app } = input;
  const status = app.status ?? {};
  const op = status.operationState;
  const automated = app.spec?.syncPolicy?.automated;
  const syncRevisions = nonEmpty(status.sync?.revisions ?? [status.sync?.revision]);
  const resultRevisions = nonEmpty(op?.syncResult?.revisions ?? [op?.syncResult?.revision]);
  const operationRevisions =
    resultRevisions.length > 0
      ? resultRevisions
      : nonEmpty(op?.operation?.sync?.revisions ?? [op?.operation?.sync?.revision]);
  const syncMatch = syncRevisions.length > 0 ? containsTarget(syncRevisions, input) : false;
  const operationMatch = operationRevisions.length > 0 ? containsTarget(operationRevisions, input) : false;
  const operationRunning = app.operation != null || op?.phase === "Running" || op?.phase === "Terminating";
  const synced = status.sync?.status === "Synced" && syncMatch === true;
  // The target is live when its sync succeeded, or when Argo CD compared the target and found
  // nothing to change (a commit that renders the same manifests needs no operation).
  const applied =
    !operationRunning &&
    syncMatch !== false &&
    ((op?.phase === "Succeeded" && operationMatch === true) ||
      (synced && (op === undefined || op.phase === "Succeeded")));
  const reconciled = time(status.reconciledAt);
  const finished = time(op?.finishedAt);
  const fresh = reconciled !== undefined && (finished === undefined || reconciled >= finished);
  const rollouts = input.rollouts.length > 0 ? input.rollouts.map(rolloutFacts) : rolloutResourceFacts(app);
  const conditions = (status.conditions ?? []).map((c: ApplicationCondition) => ({
    type: c.type ?? "",
    message: c.message ?? "",
  }));
  return {
    name: app.metadata?.name ?? "(unnamed)",
    automated: automated != null && automated.enabled !== false,
    syncStatus: status.sync?.status,
    syncRevisions,
    syncMatch,
    operationPhase: op?.phase,
    operationMessage: op?.message,
    operationRevisions,
    operationMatch,
    operationRunning,
    operationFinishedAt: op?.finishedAt,
    reconciledAt: status.reconciledAt,
    applied,
    synced: applied && synced,
    fresh,
    health: status.health?.status,
    healthMessage: status.health?.message ?? degradedResourceMessage(app),
    rollouts,
    conditions,
    errors: conditions.filter((c) => blocksTarget(c, syncRevisions, syncMatch, input)),
    images: nonEmpty(status.summary?.images),
  };
}

/** Argo CD 3 no longer sets an app-level health message; the degraded resource carries it. */
function degradedResourceMessage(app: Application): string | undefined {
  const resource = (app.status?.resources ?? []).find(
    (r) => r.health?.status === "Degraded" && r.health.message !== undefined,
  );
  return resource === undefined
    ? undefined
    : `${resource.kind ?? "resource"} ${resource.name ?? ""}: ${resource.health?.message ?? ""}`;
}

/**
 * Whether an error condition is about the target. SyncError names its revisions
 * ("Failed last sync attempt to [sha...]: ..."); the others are raised while Argo CD compares the
 * revision it is at, which may be none when manifest generation failed.
 */
function blocksTarget(
  condition: { type: string; message: string },
  syncRevisions: string[],
  syncMatch: Match,
  input: ObserveInput,
): boolean {
  if (!ERROR_CONDITIONS.includes(condition.type)) return false;
  const named = /\[([^\]]*)\]/.exec(condition.message)?.[1];
  if (condition.type === "SyncError" && named !== undefined) {
    return (
      containsTarget(
        named.split(/[\s,]+/).filter((r) => r !== ""),
        input,
      ) === true
    );
  }
  return syncMatch === true || syncRevisions.length === 0;
}

export const HEALTH_RANK: Record<string, number> = {
  Healthy: 0,
  Suspended: 1,
  Progressing: 2,
  Missing: 3,
  Unknown: 4,
  Degraded: 5,
};

function worstRolloutStatus(rollouts: RolloutFacts[]): string | undefined {
  let worst: string | undefined;
  for (const r of rollouts) {
    if (worst === undefined || (HEALTH_RANK[r.status] ?? 4) > (HEALTH_RANK[worst] ?? 4)) worst = r.status;
  }
  return worst;
}

export function observe(input: ObserveInput): Observation {
  return observationOf(factsOf(input), input.now);
}

export function observationOf(facts: Facts, at: string): Observation {
  const observation: Observation = {
    at,
    synced: facts.synced,
    applied: facts.applied,
    fresh: facts.fresh,
  };
  if (facts.health !== undefined) observation.health = facts.health;
  const rolloutStatus = worstRolloutStatus(facts.rollouts);
  if (rolloutStatus !== undefined) observation.rolloutHealth = rolloutStatus;
  const errors = facts.errors.map((c) => c.type);
  if (errors.length > 0) observation.errors = errors;
  return observation;
}
