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

/** Finds Conveyor's run among a workflow's runs: its title carries the correlation id (run-name). */
export function findGateRun<T extends { display_title?: string; name?: string | null }>(
  runs: T[],
  correlation: string,
): T | undefined {
  return runs.find((run) => (run.display_title ?? "").includes(correlation));
}
