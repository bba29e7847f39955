// `/promote <env>`: open or update the PR that takes an image to an environment.
import type { Action } from "../../core/command-plan.js";
import { parseImageRef } from "../../core/image-ref.js";
import { proposeDeploy } from "../propose-deploy.js";
import { prLink, type CommandOutcome, type CommandRun } from "./execute.js";

export async function promote(run: CommandRun, action: Extract<Action, { kind: "promote" }>): Promise<CommandOutcome> {
  const image = parseImageRef(action.image);
  if (!image.ok) return { ok: false, text: `Failed: ${image.reason}` };
  const outcome = await proposeDeploy(run.services, run.scope, {
    config: run.config,
    request: { service: action.service, environment: action.env, image: image.value, source: action.source ?? {} },
    mode: "promotion",
    evidence: action.evidence ? [action.evidence] : [],
  });
  if (outcome.kind === "reject") return { ok: false, text: `Refused: ${outcome.reason}.` };
  if (outcome.kind === "noop") return { ok: true, text: `Nothing to do: ${outcome.reason}.` };
  return {
    ok: true,
    text: `${outcome.kind === "opened" ? "Opened" : "Updated"} ${prLink(run, outcome.pr)}: \`${outcome.image}\` to **${action.env}**${action.force ? " (forced)" : ""}.`,
  };
}
