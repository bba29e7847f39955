// "May Conveyor merge this PR now?" Policy, holds and checks in; one decision out.
import type { Config } from "./config.js";
import { HOLD_LABEL } from "./pr-text.js";

export interface CheckSummary {
  /** Check runs and commit statuses on the PR's head commit. */
  runs: Array<{ name: string; status: string; conclusion: string | null }>;
  statuses: Array<{ context: string; state: string }>;
}

export interface MergeInput {
  config: Config;
  env: string;
  kind: "deploy" | "revert";
  prLabels: string[];
  /** Environment frozen by /hold <env> (an open conveyor:freeze issue). */
  frozen: boolean;
  /** The (service, env) is held after a failed rollout of this image. */
  heldImage?: string;
  image?: string;
  checks: CheckSummary;
  /** Check runs that must exist and pass (Conveyor's render check, where a renderer exists). */
  requiredChecks?: string[];
}

export type MergeDecision = { kind: "merge" } | { kind: "wait"; reason: string } | { kind: "skip"; reason: string };

const GOOD = new Set(["success", "neutral", "skipped"]);

export function mergeDecision(input: MergeInput): MergeDecision {
  const env = input.config.environments.find((e) => e.name === input.env);
  if (!env) return { kind: "skip", reason: `${input.env} is not a configured environment` };
  if (input.kind === "revert" ? !(input.config.rollback.autoMerge && env.autoMerge) : !env.autoMerge) {
    return {
      kind: "skip",
      reason: `${input.env} does not auto-merge ${input.kind === "revert" ? "reverts" : "deploys"}; a reviewer merges this PR`,
    };
  }
  if (input.prLabels.includes(HOLD_LABEL)) return { kind: "skip", reason: "this PR is on hold (/unhold to resume)" };
  if (input.frozen) return { kind: "skip", reason: `${input.env} is frozen (/unhold ${input.env} to resume)` };
  if (input.kind === "deploy" && input.heldImage !== undefined && input.heldImage === input.image) {
    return {
      kind: "skip",
      reason: `${input.image} failed in ${input.env} before; it is held there until a newer image arrives or /unhold`,
    };
  }
  for (const name of input.requiredChecks ?? []) {
    if (!input.checks.runs.some((run) => run.name === name))
      return { kind: "wait", reason: `check ${name} has not started` };
  }
  for (const run of input.checks.runs) {
    if (run.status !== "completed") return { kind: "wait", reason: `check ${run.name} has not finished` };
    if (!GOOD.has(run.conclusion ?? ""))
      return { kind: "skip", reason: `check ${run.name} concluded ${run.conclusion}` };
  }
  for (const status of input.checks.statuses) {
    if (status.state === "pending") return { kind: "wait", reason: `status ${status.context} is pending` };
    if (status.state !== "success") return { kind: "skip", reason: `status ${status.context} is ${status.state}` };
  }
  return { kind: "merge" };
}
