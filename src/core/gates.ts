// E2E gates as plain decisions. After an environment is verified, each of its `gates` is a
// workflow run that must pass before the next environment's PR is opened: what to dispatch
// (inputs that say what was verified, and a correlation id to find the run again), and what a
// run, or its absence past the timeout, means.
import type { GateConfig } from "./strategy-config.js";

export interface GateContext {
  service: string;
  env: string;
  image: string;
  /** The manifests commit that was verified. */
  manifestsCommit: string;
  /** The repository the deploy event came from (`{source}`), when it said. */
  sourceRepository?: string;
  /** The verification's GitHub Deployment id: with the gate's index, a unique correlation id. */
  deploymentId: number;
}

export interface GateDispatch {
  /** owner/repo */
  repository: string;
  workflow: string;
  ref: string;
  inputs: Record<string, string>;
  correlationId: string;
}

export type GatePlan = { kind: "dispatch"; dispatch: GateDispatch } | { kind: "refuse"; reason: string };

/** A unique, guessable-by-nobody-else-needed id: it only tells Conveyor's runs apart. */
export function correlationId(ctx: Pick<GateContext, "deploymentId" | "env">, index: number): string {
  return `conveyor-${ctx.env}-${ctx.deploymentId}-${index + 1}`;
}

export function planGateDispatch(gate: GateConfig, index: number, ctx: GateContext): GatePlan {
  const repository = gate.repository === "{source}" ? ctx.sourceRepository : gate.repository;
  if (!repository)
    return {
      kind: "refuse",
      reason: `gate ${gate.workflow} runs in the deploy event's repository ({source}), but the event did not name one (send source.repository)`,
    };
  const id = correlationId(ctx, index);
  return {
    kind: "dispatch",
    dispatch: {
      repository,
      workflow: gate.workflow,
      ref: gate.ref,
      correlationId: id,
      inputs: {
        image: ctx.image,
        environment: ctx.env,
        service: ctx.service,
        manifests_commit: ctx.manifestsCommit,
        correlation_id: id,
      },
    },
  };
}

/** What Conveyor knows of a gate's run: GitHub's fields, as the API and webhooks give them. */
export interface GateRun {
  id: number;
  status: string;
  conclusion: string | null;
  htmlUrl: string;
}

export type GateOutcome =
  | { kind: "passed"; run: GateRun }
  | { kind: "failed"; run: GateRun; reason: string }
  | { kind: "timed-out"; reason: string; run?: GateRun }
  | { kind: "waiting"; deadline: string; run?: GateRun };

/** A run's meaning at `now`: passed, failed, timed out (after `timeoutMs` from `startedAt`) or waiting. */
export function gateOutcome(gate: GateConfig, run: GateRun | undefined, startedAt: string, now: string): GateOutcome {
  const deadlineMs = Date.parse(startedAt) + gate.timeout;
  const deadline = new Date(deadlineMs).toISOString();
  if (run?.status === "completed") {
    if (run.conclusion === "success") return { kind: "passed", run };
    return {
      kind: "failed",
      run,
      reason: `${gate.workflow} ended ${run.conclusion ?? "without a conclusion"} (${run.htmlUrl})`,
    };
  }
  if (Date.parse(now) > deadlineMs)
    return {
      kind: "timed-out",
      ...(run ? { run } : {}),
      reason: `${gate.workflow} did not finish within ${Math.round(gate.timeout / 60_000)}m${run ? ` (${run.htmlUrl}, ${run.status})` : " (no run started)"}`,
    };
  return { kind: "waiting", deadline, ...(run ? { run } : {}) };
}

/** The evidence line a promotion PR carries for a passed gate. */
export function gateEvidence(gate: GateConfig, env: string, run: GateRun): string {
  const link = /^https?:\/\//.test(run.htmlUrl) ? `[run ${run.id}](${run.htmlUrl})` : `run ${run.id}`;
  return `E2E gate \`${gate.workflow}\` passed in ${env}: ${run.conclusion ?? "?"}, ${link}`;
}

/** The correlation ids a run's title carries, whole (`...-77-1` is not found in `...-77-10`). */
export function correlationIdsIn(title: string): string[] {
  return [...title.matchAll(/(?<![\w-])conveyor-[a-z0-9._-]+?-\d+-\d+(?![\w-])/g)].map((m) => m[0]);
}

/**
 * Finds Conveyor's run among a workflow's runs (newest first): its title carries the correlation
 * id (run-name). A run created before the gate was started (`notBefore`) is not it.
 */
export function findGateRun<T extends { display_title?: string; created_at?: string }>(
  runs: T[],
  correlation: string,
  notBefore?: string,
): T | undefined {
  const earliest = notBefore ? Date.parse(notBefore) - CLOCK_SKEW_MS : -Infinity;
  return runs.find(
    (run) =>
      correlationIdsIn(run.display_title ?? "").includes(correlation) && !(Date.parse(run.created_at ?? "") < earliest),
  );
}

/** GitHub's clock and Conveyor's may disagree by this much. */
const CLOCK_SKEW_MS = 60_000;

/** All of an environment's gates, judged together at `now`. */
export type GatesVerdict =
  | { kind: "passed"; evidence: string[] }
  | { kind: "failed"; reason: string; run?: GateRun }
  | { kind: "waiting"; deadline: string };

/**
 * The gates pass when every run passed; the first that failed or timed out fails them all (its
 * reason is what people read); else they wait until the earliest deadline still ahead.
 */
export function gatesVerdict(
  gates: GateConfig[],
  runs: Array<GateRun | undefined>,
  env: string,
  startedAt: string,
  now: string,
): GatesVerdict {
  const evidence: string[] = [];
  const deadlines: string[] = [];
  for (const [index, gate] of gates.entries()) {
    const outcome = gateOutcome(gate, runs[index], startedAt, now);
    if (outcome.kind === "failed" || outcome.kind === "timed-out")
      return { kind: "failed", reason: outcome.reason, ...(outcome.run ? { run: outcome.run } : {}) };
    if (outcome.kind === "passed") evidence.push(gateEvidence(gate, env, outcome.run));
    else deadlines.push(outcome.deadline);
  }
  if (deadlines.length === 0) return { kind: "passed", evidence };
  return { kind: "waiting", deadline: deadlines.sort()[0] as string };
}

/** The final Deployment status of a verified change whose gate failed: parsed back by /unhold. */
const GATE_FAILED = "E2E gate failed: ";
export const gateFailedDescription = (reason: string) => `${GATE_FAILED}${reason}`.slice(0, 140);
export const isGateFailure = (description: string | undefined) => description?.startsWith(GATE_FAILED) ?? false;

/** What the verified PR is told when a gate failed. */
export function gateFailedComment(input: {
  service: string;
  env: string;
  image: string;
  reason: string;
  holdIssue?: number;
  next?: string;
}): string {
  return [
    `❌ **E2E gate failed**: ${input.service} \`${input.image}\` is verified in **${input.env}**, but ${input.reason.replace(/[\r\n]+/g, " ")}.`,
    "",
    `No promotion${input.next ? ` to **${input.next}**` : ""}.${input.holdIssue !== undefined ? ` The image is held (#${input.holdIssue}): \`/unhold\` there (approvers) overrides the gate and opens the promotion.` : ""} \`/retry\` here verifies the change again and re-runs the gates.`,
  ].join("\n");
}

/** The hidden mark of a hold made because a gate failed: which Deployment's gates. */
export const gateHoldMarker = (deploymentId: number) => `conveyor:gate-hold:${deploymentId}`;

/** The Deployment whose failed gate a hold issue's body records, if any (verified against GitHub before use). */
export function parseGateHold(body: string): number | undefined {
  const found = /<!-- conveyor:gate-hold:(\d{1,15}) -->/.exec(body);
  return found ? Number(found[1]) : undefined;
}
