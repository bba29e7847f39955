// Carries out one planned command action; each verb lives in its own file.
import type { Action, Facts } from "../../core/command-plan.js";
import type { CommandResult } from "../../core/command-text.js";
import { helpText, type Command } from "../../core/commands.js";
import type { Config } from "../../core/config.js";
import type { RepoScope } from "../repo-scope.js";
import type { Services } from "../services.js";
import { hold, freeze } from "./hold.js";
import { promote } from "./promote.js";
import { retryEdit, retryVerification } from "./retry.js";
import { rollback } from "./rollback.js";
import { status } from "./status.js";
import { unfreeze, unholdImage, unholdPr } from "./unhold.js";

/** Everything a command needs: the repository, its config, who asked and the facts gathered. */
export interface CommandRun {
  services: Services;
  scope: RepoScope;
  config: Config;
  user: string;
  facts: Facts;
  commentUrl: string;
}

export type CommandOutcome = Omit<CommandResult, "line">;

export const prLink = (run: CommandRun, n: number) => `[#${n}](${run.scope.htmlUrl}/pull/${n})`;

export async function executeCommand(run: CommandRun, action: Action, command: Command): Promise<CommandOutcome> {
  switch (action.kind) {
    case "help":
      return {
        ok: true,
        text: "Conveyor's commands (`/conveyor <command>` always works too):",
        details: { summary: "Commands", body: helpText() },
      };
    case "status":
      return status(run, action.service);
    case "promote":
      return promote(run, action);
    case "revert":
      return rollback(run, action, command);
    case "hold-pr":
      return hold(run, action.pr);
    case "freeze":
      return freeze(run, action.env, action.reason);
    case "unhold-pr":
      return unholdPr(run, action);
    case "unhold-image":
      return unholdImage(run, action.service, action.env);
    case "unfreeze":
      return unfreeze(run, action.env);
    case "retry-edit":
      return retryEdit(run, action);
    case "retry-verification":
      return retryVerification(run, action.service, action.env, action.deployment);
  }
}
