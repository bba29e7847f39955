// `/retry`: re-run what failed last on a PR: the edit and its render check (an open PR), or the
// verification (a merged PR whose Deployment failed).
import type { Action, DeploymentFact } from "../../core/command-plan.js";
import { findEnvironment } from "../../core/config.js";
import { REVERT_LABEL, UNTRUSTED_LABEL } from "../../core/pr-text.js";
import type { PullRequestSummary } from "../../adapters/github/pull-requests.js";
import { runRenderCheck } from "../run-render-check.js";
import { startVerification } from "../start-verification.js";
import type { CommandOutcome, CommandRun } from "./execute.js";
import { promote } from "./promote.js";
import { mergeNow } from "./unhold.js";

export async function retryEdit(
  run: CommandRun,
  action: Extract<Action, { kind: "retry-edit" }>,
): Promise<CommandOutcome> {
  // Re-planned from the signed state: a branch someone else pushed to is rebuilt from the
  // default branch, and the PR is Conveyor's alone again.
  const promoted = await promote(run, {
    kind: "promote",
    service: action.service,
    env: action.env,
    image: action.image,
    force: false,
  });
  if (!promoted.ok) return promoted;
  const pr = await rerunRender(run, action.pr);
  if (pr.labels.includes(UNTRUSTED_LABEL)) await run.scope.gh.issues.removeLabel(action.pr, UNTRUSTED_LABEL);
  const merge = await mergeNow(run, action.pr);
  return {
    ok: true,
    text: `Re-ran the edit and the \`conveyor/render\` check. ${promoted.text}${merge ? ` ${merge}` : ""}`,
  };
}

/** Renders the PR's head again and publishes a fresh conveyor/render check; returns the PR as it is now. */
async function rerunRender(run: CommandRun, number: number): Promise<PullRequestSummary> {
  const { gh, workspace, log } = run.scope;
  const pr = await gh.pulls.get(number);
  await runRenderCheck(run.services, {
    gh,
    workspace,
    log,
    pr: {
      number,
      headSha: pr.headSha,
      baseSha: pr.baseSha,
      headRef: pr.headRef,
      fromThisRepo: pr.headRepo === gh.fullName,
    },
  });
  return pr;
}

export async function retryVerification(
  run: CommandRun,
  service: string,
  envName: string,
  failed: DeploymentFact,
): Promise<CommandOutcome> {
  const env = findEnvironment(run.config, envName);
  if (!run.services.verifier)
    return { ok: false, text: "Cannot re-run the verification: no Argo CD source is configured." };
  if (!env)
    return { ok: false, text: `Cannot re-run the verification: ${envName} is no longer a configured environment.` };
  if (!failed.file)
    return {
      ok: false,
      text: `Cannot re-run the verification: deployment ${failed.id} does not record which overlay it changed.`,
    };
  const { deploymentId, app } = await startVerification(run.services, run.scope, {
    config: run.config,
    env,
    change: {
      service,
      env: envName,
      file: failed.file,
      revision: failed.sha,
      base: failed.base ?? undefined,
      from: failed.from ?? undefined,
      to: failed.to ?? undefined,
      ...(failed.source ? { source: failed.source } : {}),
      pr: failed.pr ?? undefined,
      retryOf: failed.id,
      revert: failed.revert,
      // A strategy step is judged by its own Deployment again, and goes on to its next step.
      ...(failed.slot ? { slot: failed.slot } : {}),
      ...(failed.track ? { track: failed.track } : {}),
    },
    pr: failed.pr ? { number: failed.pr, author: run.user, labels: failed.revert ? [REVERT_LABEL] : [] } : undefined,
    announce: false,
  });
  return {
    ok: true,
    text: `Verifying ${service} in **${envName}** again (deployment ${deploymentId}, Argo CD application \`${app}\`).`,
  };
}
