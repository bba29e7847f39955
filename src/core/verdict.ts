// Decides whether a merged manifests revision is running healthy in one Argo CD application.
// Pure: every fact (objects, git ancestry, clock, past observations) comes in through the input,
// and the answer is data the caller turns into Deployment statuses, comments and revert PRs.

import type {
  Application,
  ApplicationCondition,
  HealthStatusCode,
  Rollout,
  RolloutAnalysisRunStatus,
} from "./argo-types.js";

export type FailureCode =
  | "sync-failed"
  | "sync-error"
  | "comparison-error"
  | "invalid-spec"
  | "rollout-aborted"
  | "analysis-failed"
  | "degraded"
  | "flapping"
  | "sync-deadline"
  | "manual-sync-deadline"
  | "health-deadline"
  | "suspended-deadline";

export type WaitCode =
  | "revision-unknown"
  | "awaiting-revision"
  | "manual-sync-needed"
  | "awaiting-sync"
  | "syncing"
  | "out-of-sync"
  | "error-condition"
  | "stale-health"
  | "progressing"
  | "degraded"
  | "suspended"
  | "awaiting-images"
  | "soaking";

export interface RolloutEvidence {
  name: string;
  /** Effective status: Argo CD's Rollout health, tightened by abort and stable-ReplicaSet checks. */
  status: string;
  message: string;
  stableRS?: string;
  currentPodHash?: string;
  /** "rollout" when read from the Rollout object, "resource" when from app.status.resources[]. */
  source: "rollout" | "resource";
}

export interface Evidence {
  app: string;
  observedAt: string;
  syncStatus?: string;
  syncRevisions: string[];
  operationPhase?: string;
  operationMessage?: string;
  operationRevisions: string[];
  operationFinishedAt?: string;
  reconciledAt?: string;
  health?: string;
  healthMessage?: string;
  rollouts: RolloutEvidence[];
  conditions: { type: string; message: string }[];
  images: string[];
  /** Start of the current unbroken run of healthy observations. */
  healthySince?: string;
}

export type Verdict =
  | { kind: "verified"; at: string; evidence: Evidence }
  | { kind: "failed"; reason: string; code: FailureCode; evidence: Evidence }
  | { kind: "waiting"; reason: string; code: WaitCode; deadline?: string; evidence: Evidence }
  | { kind: "superseded"; by: string };

/** One compact sample of an application's state, kept by the caller for soak and flap tracking. */
export interface Observation {
  at: string;
  /** Synced to the target (or a descendant), no operation in flight, last operation succeeded. */
  synced: boolean;
  /** The target's manifests are live, so health from now on belongs to the target. */
  applied: boolean;
  /** `status.reconciledAt` is not older than the last operation's `finishedAt`. */
  fresh: boolean;
  health?: string;
  /** Worst effective status over the Rollouts involved; absent when there are none. */
  rolloutHealth?: string;
  /** Error condition types that block the target (ComparisonError, InvalidSpecError). */
  errors?: string[];
}

export interface VerdictInput {
  app: Application;
  rollouts: Rollout[];
  target: { revision: string; images?: string[] };
  /** undefined = not known yet; the caller resolves it via git and asks again. */
  isAncestor: (ancestor: string, descendant: string) => boolean | undefined;
  supersededBy?: string;
  startedAt: string;
  now: string;
  deadlines: { syncMs: number; healthMs: number; suspendedMs: number };
  soakMs: number;
  history: Observation[];
  degradedGraceMs: number;
}

export type ObserveInput = Pick<VerdictInput, "app" | "rollouts" | "target" | "isAncestor" | "now">;

/** Changes between Healthy and Degraded within the soak window that count as flapping. */
export const FLAP_TRANSITIONS = 3;

// ---------------------------------------------------------------------------------------------
// Argo CD's Rollout health check (resource_customizations/argoproj.io/Rollout/health.lua), ported.

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

function isGenerationObserved(rollout: Rollout): boolean {
  if (rollout.status == null) return false;
  const observed = luaNumber(rollout.status.observedGeneration);
  const generation = rollout.metadata?.generation;
  // A non-numeric observedGeneration (a pod-template hash) means a v0.9 controller, which never
  // recorded generations; so does a number larger than the generation.
  if (observed === undefined || generation === undefined || observed > generation) return true;
  return observed === generation;
}

function isWorkloadGenerationObserved(rollout: Rollout): boolean {
  const annotations = rollout.metadata?.annotations;
  if (rollout.spec?.workloadRef == null || annotations == null) return true;
  const wanted = luaNumber(annotations["rollout.argoproj.io/workload-generation"]);
  const observed = luaNumber(rollout.status?.workloadObservedGeneration);
  return wanted === observed;
}

function stableReplicaSet(rollout: Rollout): string {
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
    return { status: status.phase === "Paused" ? "Suspended" : knownHealth(status.phase), message: status.message ?? "" };
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

// ---------------------------------------------------------------------------------------------
// Facts: everything the decision needs, read once from the input.

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

function nonEmpty(values: (string | undefined)[] | undefined): string[] {
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

function time(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
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
  const condition = rollout.status?.conditions?.find(
    (c) => c.type === "Progressing" && c.reason === "RolloutAborted",
  );
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

function factsOf(input: ObserveInput): Facts {
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
  return resource === undefined ? undefined : `${resource.kind ?? "resource"} ${resource.name ?? ""}: ${resource.health?.message ?? ""}`;
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
    return containsTarget(named.split(/[\s,]+/).filter((r) => r !== ""), input) === true;
  }
  return syncMatch === true || syncRevisions.length === 0;
}

const HEALTH_RANK: Record<string, number> = { Healthy: 0, Suspended: 1, Progressing: 2, Missing: 3, Unknown: 4, Degraded: 5 };

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

function observationOf(facts: Facts, at: string): Observation {
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

// ---------------------------------------------------------------------------------------------
// Timeline: the caller's history plus the current observation.

type Phase = "pending" | "healthy" | "degraded" | "suspended" | "progressing";

function phaseOf(o: Observation): Phase {
  if (!o.applied || !o.fresh) return "pending";
  const statuses = [o.health, o.rolloutHealth].filter((s): s is string => s !== undefined);
  if (statuses.includes("Degraded")) return "degraded";
  if (statuses.includes("Suspended")) return "suspended";
  if (o.synced && o.health === "Healthy" && (o.rolloutHealth === undefined || o.rolloutHealth === "Healthy")) {
    return "healthy";
  }
  return "progressing";
}

interface Sample {
  at: number;
  iso: string;
  observation: Observation;
}

function timelineOf(history: Observation[], current: Observation, now: number): Sample[] {
  const past = history
    .map((observation) => ({ at: time(observation.at), iso: observation.at, observation }))
    .filter((s): s is Sample => s.at !== undefined && s.at < now)
    .sort((a, b) => a.at - b.at);
  return [...past, { at: now, iso: current.at, observation: current }];
}

/** When the unbroken run of samples matching `test` that ends with the current sample began. */
function runStart(timeline: Sample[], test: (o: Observation) => boolean): Sample | undefined {
  let start: Sample | undefined;
  for (let i = timeline.length - 1; i >= 0; i--) {
    const sample = timeline[i];
    if (sample === undefined || !test(sample.observation)) break;
    start = sample;
  }
  return start;
}

function flapCount(timeline: Sample[], now: number, windowMs: number): number {
  const from = now - windowMs;
  const states: Phase[] = [];
  for (let i = 0; i < timeline.length; i++) {
    const sample = timeline[i];
    const next = timeline[i + 1];
    if (sample === undefined) continue;
    // The last sample before the window tells what state the window opened in.
    if (sample.at < from && next !== undefined && next.at <= from) continue;
    const phase = phaseOf(sample.observation);
    if (phase !== "healthy" && phase !== "degraded") continue;
    if (states[states.length - 1] !== phase) states.push(phase);
  }
  return Math.max(0, states.length - 1);
}

/** Time spent suspended since `from`: paused canaries have their own deadline. */
function suspendedTime(timeline: Sample[], from: number): number {
  let total = 0;
  for (let i = 0; i + 1 < timeline.length; i++) {
    const sample = timeline[i];
    const next = timeline[i + 1];
    if (sample === undefined || next === undefined || next.at <= from) continue;
    if (phaseOf(sample.observation) === "suspended") total += next.at - Math.max(sample.at, from);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Wording.

export function formatDuration(ms: number): string {
  let seconds = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const parts: string[] = [];
  if (hours > 0) parts.push(`${hours}h`);
  if (minutes > 0) parts.push(`${minutes}m`);
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join("");
}

function short(revision: string): string {
  return /^[0-9a-f]{40,64}$/i.test(revision) ? revision.slice(0, 7) : revision;
}

function revisionList(revisions: string[]): string {
  return revisions.length === 0 ? "no revision" : revisions.map(short).join(", ");
}

function quoted(message: string | undefined): string {
  return message === undefined || message === "" ? "" : `: "${message}"`;
}

/** " for 2m10s", or nothing for a state first seen just now. */
function lasting(ms: number): string {
  return ms < 1000 ? "" : ` for ${formatDuration(ms)}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------------
// The decision.

export function verdictFor(input: VerdictInput): Verdict {
  if (input.supersededBy !== undefined) return { kind: "superseded", by: input.supersededBy };

  const now = time(input.now);
  const startedAt = time(input.startedAt);
  if (now === undefined || startedAt === undefined) {
    throw new Error(`verdictFor: unparseable time (now=${input.now}, startedAt=${input.startedAt})`);
  }
  const facts = factsOf(input);
  const current = observationOf(facts, input.now);
  const timeline = timelineOf(input.history, current, now);
  const healthyRun = runStart(timeline, (o) => phaseOf(o) === "healthy");
  const evidence: Evidence = {
    app: facts.name,
    observedAt: input.now,
    syncStatus: facts.syncStatus,
    syncRevisions: facts.syncRevisions,
    operationPhase: facts.operationPhase,
    operationMessage: facts.operationMessage,
    operationRevisions: facts.operationRevisions,
    operationFinishedAt: facts.operationFinishedAt,
    reconciledAt: facts.reconciledAt,
    health: facts.health,
    healthMessage: facts.healthMessage,
    rollouts: facts.rollouts.map(({ name, status, message, stableRS, currentPodHash, source }) => ({
      name,
      status,
      message,
      stableRS,
      currentPodHash,
      source,
    })),
    conditions: facts.conditions,
    images: facts.images,
    healthySince: healthyRun?.iso,
  };
  const app = `Argo CD application ${facts.name}`;
  const target = short(input.target.revision);
  const failed = (code: FailureCode, reason: string): Verdict => ({ kind: "failed", code, reason, evidence });
  const waiting = (code: WaitCode, reason: string, deadline?: number): Verdict =>
    deadline === undefined
      ? { kind: "waiting", code, reason, evidence }
      : { kind: "waiting", code, reason, deadline: iso(deadline), evidence };

  // 1. Argo CD gave up on the target's sync.
  if (
    !facts.operationRunning &&
    (facts.operationPhase === "Failed" || facts.operationPhase === "Error") &&
    facts.operationMatch === true
  ) {
    return failed(
      "sync-failed",
      `${app} failed to sync ${target} (operation ${facts.operationPhase})${quoted(facts.operationMessage)}${failedResources(input.app)}`,
    );
  }

  // 2. Getting the target synced and comparable.
  const syncDeadline = startedAt + input.deadlines.syncMs;
  const syncOverdue = now >= syncDeadline;
  const sinceMerge = formatDuration(now - startedAt);
  if (facts.operationRunning) {
    // app.operation alone is a requested sync; operationState still describes the previous one.
    const inFlight = facts.operationPhase === "Running" || facts.operationPhase === "Terminating";
    const revisions = inFlight
      ? facts.operationRevisions
      : nonEmpty(input.app.operation?.sync?.revisions ?? [input.app.operation?.sync?.revision]);
    const toward = revisions.length > 0 ? ` to ${revisionList(revisions)}` : "";
    const state = inFlight ? `is syncing${toward}${quoted(facts.operationMessage)}` : `has a sync${toward} requested`;
    if (syncOverdue) {
      return failed("sync-deadline", `${app} ${state}, still ${sinceMerge} after the merge of ${target}`);
    }
    return waiting("syncing", `${app} ${state}`, syncDeadline);
  }
  // Argo CD cannot render, accept or sync the target. Repo-server hiccups clear up, so these
  // get the same grace as Degraded before they count.
  const firstError = facts.errors[0];
  if (firstError !== undefined) {
    const since = runStart(timeline, (o) => (o.errors ?? []).length > 0)?.at ?? now;
    const code: FailureCode =
      firstError.type === "InvalidSpecError" ? "invalid-spec" : firstError.type === "SyncError" ? "sync-error" : "comparison-error";
    const what = `${app} reports ${firstError.type} for ${target}${quoted(firstError.message)}`;
    if (now - since >= input.degradedGraceMs) {
      return failed(code, `${what}${lasting(now - since) && ` (${lasting(now - since).trim()})`}`);
    }
    return waiting("error-condition", `${what}; waiting to see whether it clears`, since + input.degradedGraceMs);
  }

  if (facts.syncMatch === undefined) {
    return waiting(
      "revision-unknown",
      `Checking whether ${revisionList(facts.syncRevisions)}, the revision ${app} is at, includes ${target}`,
    );
  }
  const manual = `auto-sync is disabled for ${app}, so a manual sync to ${target} is needed`;
  const manualOverdue = `; nobody synced it within ${formatDuration(input.deadlines.syncMs)} of the merge`;
  if (facts.syncMatch === false) {
    const where =
      facts.syncRevisions.length === 0
        ? `has not reported a revision that includes ${target}`
        : `is at ${revisionList(facts.syncRevisions)}, which does not include ${target}`;
    if (!facts.automated) {
      const reason = `${capitalize(manual)} (it ${where})`;
      return syncOverdue
        ? failed("manual-sync-deadline", `${reason}${manualOverdue}`)
        : waiting("manual-sync-needed", reason, syncDeadline);
    }
    return syncOverdue
      ? failed("sync-deadline", `${app} ${where}, ${sinceMerge} after the merge`)
      : waiting("awaiting-revision", `${app} ${where} yet`, syncDeadline);
  }
  if (!facts.applied) {
    const state = `${app} is ${facts.syncStatus ?? "not synced"} at ${target}`;
    if (!facts.automated) {
      const reason = `${capitalize(manual)} (it is ${facts.syncStatus ?? "not synced"} at ${target})`;
      return syncOverdue
        ? failed("manual-sync-deadline", `${reason}${manualOverdue}`)
        : waiting("manual-sync-needed", reason, syncDeadline);
    }
    return syncOverdue
      ? failed("sync-deadline", `${state} and auto-sync has not applied it, ${sinceMerge} after the merge`)
      : waiting("awaiting-sync", `${state}; waiting for auto-sync to apply it`, syncDeadline);
  }

  // 3. The target is live: its health decides, measured from when it went live.
  const finished = facts.operationMatch === true ? time(facts.operationFinishedAt) : undefined;
  const appliedAt = Math.max(
    startedAt,
    finished ?? runStart(timeline, (o) => o.applied)?.at ?? now,
  );
  const healthDeadline = appliedAt + input.deadlines.healthMs + suspendedTime(timeline, appliedAt);
  const healthOverdue = now >= healthDeadline;
  const sinceApplied = formatDuration(now - appliedAt);

  for (const rollout of facts.rollouts) {
    if (rollout.failedAnalysis !== undefined) {
      const run = rollout.failedAnalysis.name === undefined ? "An analysis run" : `Analysis run ${rollout.failedAnalysis.name}`;
      const aborted = rollout.aborted ? " and the rollout was aborted" : "";
      return failed("analysis-failed", `${run} for Rollout ${rollout.name} of ${app} failed${aborted}${quoted(rollout.failedAnalysis.message)}`);
    }
    if (rollout.aborted) {
      return failed("rollout-aborted", `Rollout ${rollout.name} of ${app} was aborted${quoted(rollout.message)}`);
    }
  }

  if (!facts.fresh) {
    const reason = `${app} synced ${target} but its health has not yet been reconciled after the sync`;
    return healthOverdue
      ? failed("health-deadline", `${reason}, ${sinceApplied} later`)
      : waiting("stale-health", reason, healthDeadline);
  }

  const flaps = flapCount(timeline, now, input.soakMs);
  if (flaps >= FLAP_TRANSITIONS) {
    return failed(
      "flapping",
      `${app}'s health is flapping: it changed between Healthy and Degraded ${flaps} times in the last ${formatDuration(input.soakMs)}`,
    );
  }

  const phase = phaseOf(current);
  if (phase === "degraded") {
    const since = runStart(timeline, (o) => phaseOf(o) === "degraded")?.at ?? now;
    const duration = lasting(now - since);
    const degradedRollout = facts.rollouts.find((r) => r.status === "Degraded");
    const what =
      facts.health === "Degraded" || degradedRollout === undefined
        ? `${app} is Degraded${duration}${quoted(facts.healthMessage)}`
        : `Rollout ${degradedRollout.name} of ${app} is Degraded${duration}${quoted(degradedRollout.message)}`;
    if (now - since >= input.degradedGraceMs) return failed("degraded", what);
    return waiting("degraded", `${what}; waiting up to ${formatDuration(input.degradedGraceMs)} for it to recover`, since + input.degradedGraceMs);
  }

  if (phase === "suspended") {
    const since = runStart(timeline, (o) => phaseOf(o) === "suspended")?.at ?? now;
    const deadline = since + input.deadlines.suspendedMs;
    const paused = facts.rollouts.find((r) => r.status === "Suspended");
    const what = paused === undefined
      ? `${app} is Suspended${quoted(facts.healthMessage)}`
      : `Rollout ${paused.name} of ${app} is paused${quoted(paused.message)}`;
    if (now >= deadline) {
      return failed("suspended-deadline", `${what} and has not resumed within ${formatDuration(input.deadlines.suspendedMs)}`);
    }
    return waiting("suspended", `${what}; waiting for it to be promoted`, deadline);
  }

  if (facts.syncStatus !== "Synced") {
    const reason = `${app} synced ${target} but is ${facts.syncStatus ?? "Unknown"} afterwards`;
    return syncOverdue
      ? failed("sync-deadline", `${reason}, still ${sinceMerge} after the merge`)
      : waiting("out-of-sync", reason, syncDeadline);
  }

  if (phase !== "healthy") {
    const progressing = facts.rollouts.find((r) => r.status !== "Healthy");
    const rolloutState = progressing && `Rollout ${progressing.name} is ${progressing.status}${quoted(progressing.message)}`;
    const what =
      facts.health === "Healthy" && rolloutState !== undefined
        ? `${rolloutState} in ${app}`
        : `${app} is ${facts.health ?? "without health status"}${quoted(facts.healthMessage)}${rolloutState ? `; ${rolloutState}` : ""}`;
    return healthOverdue
      ? failed("health-deadline", `${what}, not Healthy ${sinceApplied} after ${target} was synced`)
      : waiting("progressing", `${what}; waiting for it to become Healthy`, healthDeadline);
  }

  const missing = (input.target.images ?? []).filter((image) => !facts.images.includes(image));
  if (missing.length > 0) {
    const reason = `${app} is Healthy but does not report running ${missing.join(", ")}`;
    return healthOverdue
      ? failed("health-deadline", `${reason} ${sinceApplied} after ${target} was synced`)
      : waiting("awaiting-images", reason, healthDeadline);
  }

  const healthySince = healthyRun?.at ?? now;
  if (now - healthySince < input.soakMs) {
    return waiting(
      "soaking",
      `${app} is Healthy at ${target}${lasting(now - healthySince)}; verifying after ${formatDuration(input.soakMs)} of steady health`,
      healthySince + input.soakMs,
    );
  }
  return { kind: "verified", at: input.now, evidence };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function failedResources(app: Application): string {
  const failures = (app.status?.operationState?.syncResult?.resources ?? []).filter(
    (r) => r.status === "SyncFailed" || r.hookPhase === "Failed" || r.hookPhase === "Error",
  );
  if (failures.length === 0) return "";
  const listed = failures
    .slice(0, 3)
    .map((r) => `${r.kind ?? "resource"} ${r.name ?? ""}${r.message ? ` (${r.message})` : ""}`)
    .join("; ");
  const more = failures.length > 3 ? ` and ${failures.length - 3} more` : "";
  return `. Failed: ${listed}${more}`;
}
