// `/retry`: re-run what failed last on a PR: the edit and its render check (an open PR), or the
// verification (a merged PR whose Deployment failed).
import type { Action, DeploymentFact } from "../../core/command-plan.js";
import { findEnvironment } from "../../core/config.js";
import { runRenderCheck } from "../run-render-check.js";
import { startVerification } from "../start-verification.js";
import type { CommandOutcome, CommandRun } from "./execute.js";
import { promote } from "./promote.js";
import { mergeNow } from "./unhold.js";

export async function retryEdit(
  run: CommandRun,
  action: Extract<Action, { kind: "retry-edit" }>,
): Promise<CommandOutcome> {
  const promoted = await promote(run, {
    kind: "promote",
    service: action.service,
    env: action.env,
    image: action.image,
    force: false,
  });
  if (!promoted.ok) return promoted;
  await rerunRender(run, action.pr);
  const merge = await mergeNow(run, action.pr);
  return {
    ok: true,
    text: `Re-ran the edit and the \`conveyor/render\` check. ${promoted.text}${merge ? ` ${merge}` : ""}`,
  };
}

/** Renders the PR's head again and publishes a fresh conveyor/render check. */
async function rerunRender(run: CommandRun, number: number): Promise<void> {
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
}

export async function retryVerification(
  run: CommandRun,
  service: string,
  envName: string,
  failed: DeploymentFact,
): Promise<CommandOutcome> {
  const env = findEnvironment(run.config, envName);
  if (!run.services.verifier || !env || !failed.file)
    return { ok: false, text: "Cannot re-run the verification: no Argo CD source is configured." };
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
      pr: failed.pr ?? undefined,
      retryOf: failed.id,
    },
    pr: failed.pr ? { number: failed.pr, author: undefined, labels: [] } : undefined,
    announce: false,
  });
  return {
    ok: true,
    text: `Verifying ${service} in **${envName}** again (deployment ${deploymentId}, Argo CD application \`${app}\`).`,
  };
}
