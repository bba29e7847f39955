// An environment's E2E gates, between its verification and the next environment's PR: each gate's
// workflow is dispatched once (its inputs say what was verified; its correlation id finds the run
// again), the Deployment's in_progress status records when (core/owed.ts), and the runs are read
// back until they pass, fail or time out. Waiting ends this step: a `workflow_run` webhook, a poll
// or the deadline takes it up again (runtime/gate-waits.ts), and after a restart the recorded
// status does. A failed gate holds the image like a failed rollout and tells the verified PR.
import { describeError, statusOf } from "../adapters/github/client.js";
import type { GitHubRepo } from "../adapters/github/repo.js";
import { findEnvironment, type Config } from "../core/config.js";
import {
  gateFailedComment,
  gateFailedDescription,
  gateHoldMarker,
  gatesVerdict,
  planGateDispatch,
  type GateDispatch,
  type GateRun,
} from "../core/gates.js";
import { holdIssueText, holdMarker, markerTag } from "../core/markers.js";
import { owedDescription, type Owed } from "../core/owed.js";
import { HOLD_LABEL } from "../core/pr-text.js";
import type { Verification } from "../core/verification.js";
import { commentOnce } from "./comment-once.js";
import type { RepoScope } from "./repo-scope.js";
import { reportToSource } from "./report-to-source.js";
import type { Services } from "./services.js";
import { sourceRepository } from "./source-history.js";

export type GatesResult = { kind: "passed"; evidence: string[] } | { kind: "waiting" } | { kind: "failed" };

/** GitHub's answers to a dispatch that no retry changes: no such workflow, inputs it does not declare, no access. */
const PERMANENT = new Set([403, 404, 422]);

export async function runGates(
  services: Services,
  scope: RepoScope,
  input: {
    v: Verification;
    config: Config;
    /** Mutated: `gates` is set once they are dispatched, so a retried step does not start them again. */
    owed: Extract<Owed, { kind: "verified" }>;
    /** The environment a pass promotes to (for the texts). */
    next: string;
    now?: () => string;
  },
): Promise<GatesResult> {
  const { v, config, owed } = input;
  const now = input.now ?? (() => new Date().toISOString());
  const gates = findEnvironment(config, v.env)?.gates ?? [];
  if (gates.length === 0) return { kind: "passed", evidence: [] };
  const log = scope.log.child({ step: "gates" });
  const fail = (reason: string) => failGates(services, scope, { ...input, reason });

  const dispatches: GateDispatch[] = [];
  for (const [index, gate] of gates.entries()) {
    const plan = planGateDispatch(gate, index, {
      service: v.service,
      env: v.env,
      image: v.to ?? "",
      manifestsCommit: v.revision,
      sourceRepository: v.source?.repository,
      deploymentId: v.deploymentId,
    });
    if (plan.kind === "refuse") return fail(plan.reason);
    dispatches.push(plan.dispatch);
  }
  // Only repositories of this installation: Conveyor's token reaches nothing else.
  const repos = new Map<string, GitHubRepo>();
  for (const d of dispatches) {
    if (repos.has(d.repository)) continue;
    const found = await sourceRepository(services, scope, d.repository);
    if (found.kind !== "ok") return fail(`gate ${d.workflow} cannot run: ${found.reason}`);
    repos.set(d.repository, found.gh);
  }
  const repoOf = (d: GateDispatch) => repos.get(d.repository) as GitHubRepo;

  if (!owed.gates) {
    const since = now();
    const runs: Record<number, number> = {};
    for (const [index, d] of dispatches.entries()) {
      try {
        const { runId } = await repoOf(d).workflows.dispatch(d);
        if (runId !== undefined) runs[index] = runId;
      } catch (error) {
        if (!PERMANENT.has(statusOf(error) ?? 0)) throw error;
        return fail(`${d.workflow} could not be started in ${d.repository} (${describeError(error)})`);
      }
    }
    owed.gates = { since, runs };
    await scope.gh.deployments.setStatus(v.deploymentId, "in_progress", owedDescription(owed));
    log.info({ gates: dispatches.map((d) => d.correlationId) }, "E2E gates dispatched");
  }

  const { since } = owed.gates;
  const runs: Array<GateRun | undefined> = [];
  for (const [index, d] of dispatches.entries()) {
    const id = owed.gates.runs?.[index];
    runs.push(
      id !== undefined
        ? await repoOf(d).workflows.getRun(id)
        : await repoOf(d).workflows.findRun(d.workflow, d.correlationId, since),
    );
  }
  const verdict = gatesVerdict(gates, runs, v.env, since, now());
  if (verdict.kind === "passed") {
    log.info({ evidence: verdict.evidence }, "E2E gates passed");
    return verdict;
  }
  if (verdict.kind === "failed") return fail(verdict.reason);
  services.gateWaits?.wait({
    key: v.deploymentId,
    runs: dispatches.map((d) => ({ correlationId: d.correlationId, repository: d.repository })),
    deadline: verdict.deadline,
    entry: { v, owed },
  });
  return { kind: "waiting" };
}

/** The failed rollout's hold text, and which Deployment's gate failed (so `/unhold` can override it). */
function gateHoldText(v: Verification, reason: string, image: string): { title: string; body: string } {
  const text = holdIssueText({ service: v.service, env: v.env, reason: `its E2E gate did not pass: ${reason}`, image });
  return { ...text, body: `${text.body}\n\n${markerTag(gateHoldMarker(v.deploymentId))}` };
}

/** No promotion: the image is held, the verified PR is told, and the Deployment fails last. */
async function failGates(
  services: Services,
  scope: RepoScope,
  input: { v: Verification; config: Config; next: string; reason: string },
): Promise<GatesResult> {
  const { v, reason } = input;
  const { gh } = scope;
  scope.log.warn({ reason }, "E2E gate failed: no promotion");
  const hold = v.to
    ? await gh.issues.upsert({
        label: HOLD_LABEL,
        marker: holdMarker(v.service, v.env),
        ...gateHoldText(v, reason, v.to),
      })
    : undefined;
  if (v.pr)
    await commentOnce(
      scope,
      v.pr.number,
      v.deploymentId,
      gateFailedComment({
        service: v.service,
        env: v.env,
        image: v.to ?? "?",
        reason,
        next: input.next,
        ...(hold ? { holdIssue: hold.number } : {}),
      }),
    );
  await reportToSource(services, scope, {
    config: input.config,
    service: v.service,
    env: v.env,
    image: v.to ?? "",
    source: v.source,
    stage: "failed",
    pr: v.pr?.number,
    reason: `E2E gate: ${reason}`,
  });
  await gh.deployments.setStatus(v.deploymentId, "failure", gateFailedDescription(reason));
  return { kind: "failed" };
}
