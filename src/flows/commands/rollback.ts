// `/rollback`: open a revert PR for a deployed change (a blue-green service's is the switch back).
import type { Action } from "../../core/command-plan.js";
import type { Command } from "../../core/commands.js";
import { proposeRevert } from "../propose-revert.js";
import { prLink, type CommandOutcome, type CommandRun } from "./execute.js";

export async function rollback(
  run: CommandRun,
  action: Extract<Action, { kind: "revert" }>,
  command: Command,
): Promise<CommandOutcome> {
  const d = action.deployment;
  if (!d.file) return { ok: false, text: `Failed: deployment ${d.id} does not record which overlay it changed.` };
  const outcome = await proposeRevert(run.services, run.scope, {
    service: action.service,
    env: action.env,
    file: d.file,
    revision: d.sha,
    base: d.base ?? undefined,
    from: action.target ?? undefined,
    to: d.to ?? undefined,
    reason: `\`${command.line.slice(0, 100).replace(/`/g, "'")}\``,
    requestedBy: run.user,
    originalPr: action.originalPr,
    deploymentId: d.id,
    ...(action.targetSource ? { source: action.targetSource } : {}),
    config: run.config,
  });
  if ("headSha" in outcome) {
    return {
      ok: true,
      text: `${outcome.kind === "opened" ? "Opened" : "Updated"} revert ${prLink(run, outcome.pr)}: ${action.service} in **${action.env}** back to \`${action.target ?? "its previous overlay"}\`.`,
    };
  }
  return {
    ok: outcome.kind === "noop",
    text: `${outcome.kind === "noop" ? "Nothing to do" : "Cannot roll back"}: ${outcome.reason}.`,
  };
}
