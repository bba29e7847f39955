// The decision. Checks run in the order a rollout proceeds (sync, then health, then soak), so the
// first one that holds names the stage the rollout is waiting in or failed at.

import type { Application } from "../argo-types.js";
import { syncWindowWait, windowsLabel } from "../sync-windows.js";
import { factsOf, nonEmpty, observationOf } from "./facts.js";
import { iso, time } from "./time.js";
import { FLAP_TRANSITIONS, flapCount, phaseOf, runStart, suspendedTime, timelineOf } from "./timeline.js";
import type { Evidence, FailureCode, Verdict, VerdictInput, WaitCode } from "./types.js";
import { capitalize, formatDuration, lasting, quoted, revisionList, short } from "./wording.js";

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

  // 2. Getting the target synced and comparable. An Argo CD sync window that holds the app is a
  // wait, not a failure: the sync deadline counts from the merge, or from the end of the last
  // window that held the app since, whichever is later.
  const windows = input.syncWindow;
  const held = windows?.denied === true ? windows : undefined;
  const heldUntil = time(held?.until);
  const windowEnded = windows?.denied === false ? time(windows.lastDenial?.endedAt) : undefined;
  const syncFrom = windowEnded !== undefined && windowEnded > startedAt ? windowEnded : startedAt;
  const from =
    syncFrom === startedAt || windows?.denied !== false || windows.lastDenial === undefined
      ? "the merge"
      : `${windowsLabel(windows.lastDenial.windows)} ended`;
  const syncDeadline = syncFrom + input.deadlines.syncMs;
  const syncOverdue = now >= syncDeadline;
  const sinceMerge = formatDuration(now - syncFrom);
  const windowWait = (reason: string): Verdict =>
    waiting("sync-window", reason, heldUntil === undefined ? undefined : heldUntil + input.deadlines.syncMs);
  if (facts.operationRunning) {
    // Argo CD keeps an operation Running while a window blocks it ("Sync operation blocked by sync window").
    if (held) return windowWait(syncWindowWait(held, input.now));
    // app.operation alone is a requested sync; operationState still describes the previous one.
    const inFlight = facts.operationPhase === "Running" || facts.operationPhase === "Terminating";
    const revisions = inFlight
      ? facts.operationRevisions
      : nonEmpty(input.app.operation?.sync?.revisions ?? [input.app.operation?.sync?.revision]);
    const toward = revisions.length > 0 ? ` to ${revisionList(revisions)}` : "";
    const state = inFlight ? `is syncing${toward}${quoted(facts.operationMessage)}` : `has a sync${toward} requested`;
    if (syncOverdue) {
      const after = from === "the merge" ? `the merge of ${target}` : from;
      return failed("sync-deadline", `${app} ${state}, still ${sinceMerge} after ${after}`);
    }
    return waiting("syncing", `${app} ${state}`, syncDeadline);
  }
  // Argo CD cannot render, accept or sync the target. Repo-server hiccups clear up, so these
  // get the same grace as Degraded before they count.
  const firstError = facts.errors[0];
  if (firstError !== undefined) {
    const since = runStart(timeline, (o) => (o.errors ?? []).length > 0)?.at ?? now;
    const code: FailureCode =
      firstError.type === "InvalidSpecError"
        ? "invalid-spec"
        : firstError.type === "SyncError"
          ? "sync-error"
          : "comparison-error";
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
  const manualOverdue = `; nobody synced it within ${formatDuration(input.deadlines.syncMs)} of ${from === "the merge" ? from : `the time ${from}`}`;
  // Argo CD does not start the sync while a window holds the app (auto-sync: "Sync prevented by
  // sync window"; a manual one only where the windows allow manual syncs).
  if (held && (facts.syncMatch === false || !facts.applied)) return windowWait(syncWindowWait(held, input.now));
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
      ? failed("sync-deadline", `${app} ${where}, ${sinceMerge} after ${from}`)
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
      ? failed("sync-deadline", `${state} and auto-sync has not applied it, ${sinceMerge} after ${from}`)
      : waiting("awaiting-sync", `${state}; waiting for auto-sync to apply it`, syncDeadline);
  }

  // 3. The target is live: its health decides, measured from when it went live.
  const finished = facts.operationMatch === true ? time(facts.operationFinishedAt) : undefined;
  const appliedAt = Math.max(startedAt, finished ?? runStart(timeline, (o) => o.applied)?.at ?? now);
  const healthDeadline = appliedAt + input.deadlines.healthMs + suspendedTime(timeline, appliedAt);
  const healthOverdue = now >= healthDeadline;
  const sinceApplied = formatDuration(now - appliedAt);

  for (const rollout of facts.rollouts) {
    if (rollout.failedAnalysis !== undefined) {
      const run =
        rollout.failedAnalysis.name === undefined ? "An analysis run" : `Analysis run ${rollout.failedAnalysis.name}`;
      const aborted = rollout.aborted ? " and the rollout was aborted" : "";
      return failed(
        "analysis-failed",
        `${run} for Rollout ${rollout.name} of ${app} failed${aborted}${quoted(rollout.failedAnalysis.message)}`,
      );
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
    return waiting(
      "degraded",
      `${what}; waiting up to ${formatDuration(input.degradedGraceMs)} for it to recover`,
      since + input.degradedGraceMs,
    );
  }

  if (phase === "suspended") {
    const since = runStart(timeline, (o) => phaseOf(o) === "suspended")?.at ?? now;
    const deadline = since + input.deadlines.suspendedMs;
    const paused = facts.rollouts.find((r) => r.status === "Suspended");
    const what =
      paused === undefined
        ? `${app} is Suspended${quoted(facts.healthMessage)}`
        : `Rollout ${paused.name} of ${app} is paused${quoted(paused.message)}`;
    if (now >= deadline) {
      return failed(
        "suspended-deadline",
        `${what} and has not resumed within ${formatDuration(input.deadlines.suspendedMs)}`,
      );
    }
    return waiting("suspended", `${what}; waiting for it to be promoted`, deadline);
  }

  if (facts.syncStatus !== "Synced") {
    // A window also holds back the sync (self-heal) that would bring it back in line.
    if (held) return windowWait(syncWindowWait(held, input.now));
    const reason = `${app} synced ${target} but is ${facts.syncStatus ?? "Unknown"} afterwards`;
    return syncOverdue
      ? failed("sync-deadline", `${reason}, still ${sinceMerge} after ${from}`)
      : waiting("out-of-sync", reason, syncDeadline);
  }

  if (phase !== "healthy") {
    const progressing = facts.rollouts.find((r) => r.status !== "Healthy");
    const rolloutState =
      progressing && `Rollout ${progressing.name} is ${progressing.status}${quoted(progressing.message)}`;
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
