// `/unhold`: resume a held PR, lift a failed rollout's hold, or unfreeze an environment; then
// merge what was waiting, where policy allows.
import type { Action } from "../../core/command-plan.js";
import { freezeMarker, holdMarker } from "../../core/markers.js";
import { branchFor, FREEZE_LABEL, HOLD_LABEL } from "../../core/pr-text.js";
import { mergeIfReady, mergeWaiting } from "../try-auto-merge.js";
import { prLink, type CommandOutcome, type CommandRun } from "./execute.js";
import { overrideGate } from "./override-gate.js";

export async function unholdPr(
  run: CommandRun,
  action: Extract<Action, { kind: "unhold-pr" }>,
): Promise<CommandOutcome> {
  const { gh } = run.scope;
  const removed = await gh.issues.removeLabel(action.pr, HOLD_LABEL);
  const closed =
    action.service && action.env
      ? await gh.issues.closeAll({
          label: HOLD_LABEL,
          marker: holdMarker(action.service, action.env),
          comment: `Lifted by @${run.user} with \`/unhold\` on #${action.pr}.`,
        })
      : [];
  const lifted = closed.length;
  const merge = await mergeNow(run, action.pr);
  const override =
    action.service && action.env ? await overrideGate(run, action.service, action.env, closed) : undefined;
  const what =
    [removed ? `removed \`${HOLD_LABEL}\`` : "", lifted ? `lifted the hold on ${action.service} in ${action.env}` : ""]
      .filter(Boolean)
      .join(" and ") || "nothing was holding this pull request";
  return { ok: true, text: `Resumed: ${what}.${merge ? ` ${merge}` : ""}${override ? ` ${override}` : ""}` };
}

export async function unholdImage(run: CommandRun, service: string, env: string): Promise<CommandOutcome> {
  const { gh } = run.scope;
  const closed = await gh.issues.closeAll({
    label: HOLD_LABEL,
    marker: holdMarker(service, env),
    comment: `Lifted by @${run.user} with \`/unhold\`.`,
  });
  const open = await gh.pulls.findOpen(branchFor(env, service));
  const merge = open ? await mergeNow(run, open.number) : undefined;
  const override = await overrideGate(run, service, env, closed);
  const what = closed.length ? `lifted the hold on ${service} in **${env}**` : `${service} was not held in **${env}**`;
  return {
    ok: true,
    text: `Resumed: ${what}.${open ? ` Its open deploy PR is ${prLink(run, open.number)}.${merge ? ` ${merge}` : ""}` : ""}${override ? ` ${override}` : ""}`,
  };
}

export async function unfreeze(run: CommandRun, env: string): Promise<CommandOutcome> {
  const { gh } = run.scope;
  const closed = await gh.issues.close({
    label: FREEZE_LABEL,
    marker: freezeMarker(env),
    comment: `Unfrozen by @${run.user} (${run.commentUrl}).`,
  });
  if (closed === 0) return { ok: true, text: `**${env}** was not frozen.` };
  const merged = await mergeWaiting(run.services, gh, run.config, env, run.scope.log);
  return {
    ok: true,
    text: `**${env}** is unfrozen.${merged.length ? ` Merged ${merged.map((n) => prLink(run, n)).join(", ")}.` : ""}`,
  };
}

/** Tries to merge one of Conveyor's open PRs; what happened, for the reply. */
export async function mergeNow(run: CommandRun, number: number): Promise<string | undefined> {
  const outcome = await mergeIfReady(run.services, run.scope.gh, run.config, number, run.scope.log);
  if (!outcome) return undefined;
  if (outcome.kind === "auto-merge-enabled") return "GitHub merges it once its checks pass.";
  return "reason" in outcome ? `Not merged now: ${outcome.reason}.` : "Merged it.";
}
