// The verdict's vocabulary: what goes in, what comes out, and the compact observations the
// caller keeps between calls. Shared by every part so none of them imports the decision.

import type { Application, Rollout } from "../argo-types.js";
import type { SyncWindowState } from "../sync-windows.js";

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
  | "sync-window"
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
  /**
   * Whether the app's AppProject sync windows hold its sync now (core/sync-windows.ts), asked
   * with `since` = the later of startedAt and now - 2 × syncMs. Absent: no windows are known.
   */
  syncWindow?: SyncWindowState;
}

export type ObserveInput = Pick<VerdictInput, "app" | "rollouts" | "target" | "isAncestor" | "now">;
