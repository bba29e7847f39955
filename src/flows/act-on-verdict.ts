// Acting on a verdict: what to do is core/plan-outcome.ts; this carries it out in the planned
// order (Deployment status, promotion or revert, hold, PR comment) and fills in what only GitHub
// can answer, such as the number of the PR it opened.
import { nextEnvironment } from "../core/config.js";
import { parseFreezeIssue } from "../core/markers.js";
import { planFailed, planSuperseded, planVerified } from "../core/plan-outcome.js";
import { FREEZE_LABEL, HOLD_LABEL } from "../core/pr-text.js";
import type { Verdict } from "../core/verdict/index.js";
import type { Verification } from "../core/verification.js";
import { failedComment, verifiedComment } from "../core/verification-text.js";
import type { VerificationOutcomes } from "../runtime/verifier.js";
import { readConfig } from "./load-config.js";
import { proposeDeploy } from "./propose-deploy.js";
import { proposeRevert } from "./propose-revert.js";
import { scopeOfRepo, type RepoScope } from "./repo-scope.js";
import type { Log, Services } from "./services.js";

type Verified = Extract<Verdict, { kind: "verified" }>;
type Failed = Extract<Verdict, { kind: "failed" }>;

export function verdictActions(services: Services, log: Log): VerificationOutcomes {
  const scopeOf = (v: Verification) =>
    scopeOfRepo(
      services,
      v.repo,
      log.child({ repo: `${v.repo.owner}/${v.repo.repo}`, service: v.service, env: v.env, deployment: v.deploymentId }),
    );
  return {
    verified: async (v, verdict) => actOnVerified(services, await scopeOf(v), v, verdict),
    failed: async (v, verdict) => actOnFailed(services, await scopeOf(v), v, verdict),
    superseded: async (v, by) => {
      const scope = await scopeOf(v);
      const plan = planSuperseded(by);
      await scope.gh.deployments.setStatus(v.deploymentId, plan.status.state, plan.status.description);
    },
  };
}

async function actOnVerified(services: Services, scope: RepoScope, v: Verification, verdict: Verified): Promise<void> {
  const { gh } = scope;
  const config = await readConfig(gh);
  // Freezes only matter when there is an environment to promote into.
  const frozen: Record<string, number> = {};
  if (config && nextEnvironment(config, v.env)) {
    for (const issue of await gh.issues.listOpen(FREEZE_LABEL)) {
      const env = parseFreezeIssue(issue.body);
      if (env !== undefined) frozen[env] ??= issue.number;
    }
  }
  const plan = planVerified({ v, config, frozen });
  // The Deployment status first of the writes: it is what people and tools watch.
  await gh.deployments.setStatus(v.deploymentId, plan.status.state, plan.status.description);
  let next: { env: string; pr?: number; note?: string } | undefined;
  if (plan.next?.kind === "note") next = { env: plan.next.env, note: plan.next.note };
  if (plan.next?.kind === "promote" && config) {
    const outcome = await proposeDeploy(services, scope, {
      config,
      request: { service: v.service, environment: plan.next.env, image: plan.next.image, source: {} },
      mode: "promotion",
      evidence: [plan.next.evidence],
    });
    // Merging, where policy allows, follows from the PR's own pull_request event.
    next =
      outcome.kind === "reject" || outcome.kind === "noop"
        ? { env: plan.next.env, note: outcome.reason }
        : { env: plan.next.env, pr: outcome.pr };
  }
  if (plan.commentOn !== undefined) {
    await gh.issues.comment(
      plan.commentOn,
      verifiedComment({
        service: v.service,
        env: v.env,
        app: v.app.name,
        image: v.to,
        timeline: {
          merged: v.startedAt,
          synced: verdict.evidence.operationFinishedAt,
          healthy: verdict.evidence.healthySince,
          verified: verdict.at,
        },
        next,
      }),
    );
  }
}

async function actOnFailed(services: Services, scope: RepoScope, v: Verification, verdict: Failed): Promise<void> {
  const { gh } = scope;
  const config = await readConfig(gh);
  const plan = planFailed({ v, config, reason: verdict.reason });
  await gh.deployments.setStatus(v.deploymentId, plan.status.state, plan.status.description);
  let revert: { pr?: number; note?: string } = { note: plan.revert.kind === "note" ? plan.revert.note : undefined };
  if (plan.revert.kind === "revert") {
    const outcome = await proposeRevert(services, scope, {
      service: v.service,
      env: v.env,
      file: v.file,
      revision: v.revision,
      base: v.base,
      from: v.from,
      to: v.to,
      reason: plan.revert.reason,
      originalPr: v.pr?.number,
      deploymentId: v.deploymentId,
    });
    revert = "pr" in outcome ? { pr: outcome.pr } : { note: `No revert PR: ${outcome.reason}.` };
  }
  const hold = plan.hold ? await gh.issues.upsert({ label: HOLD_LABEL, ...plan.hold }) : undefined;
  if (plan.commentOn !== undefined && v.pr) {
    await gh.issues.comment(
      plan.commentOn,
      failedComment({
        service: v.service,
        env: v.env,
        app: v.app.name,
        author: v.pr.author,
        reason: verdict.reason,
        revert,
        holdIssue: hold?.number,
      }),
    );
  }
}
