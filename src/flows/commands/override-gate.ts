// `/unhold` of a hold that a failed E2E gate made: the approver overrides the gate, and the
// promotion it stopped is opened, saying so. The hold issue only names the Deployment; GitHub's
// record of it decides (the newest of its service and environment, failed by its gate).
import { nextEnvironment } from "../../core/config.js";
import { isGateFailure, parseGateHold } from "../../core/gates.js";
import type { IssueSummary } from "../../adapters/github/issues.js";
import type { CommandRun } from "./execute.js";
import { promote } from "./promote.js";

/** The reply's sentence about the override, or undefined when no lifted hold was a gate's (2 calls then). */
export async function overrideGate(
  run: CommandRun,
  service: string,
  env: string,
  lifted: IssueSummary[],
): Promise<string | undefined> {
  const deploymentId = lifted.map((issue) => parseGateHold(issue.body)).find((id) => id !== undefined);
  const next = nextEnvironment(run.config, env);
  if (deploymentId === undefined || !next) return undefined;
  const [latest] = await run.scope.gh.deployments.history({ env, service }, { statusLimit: 1 });
  if (!latest || latest.id !== deploymentId || latest.state !== "failure" || !isGateFailure(latest.description))
    return `The E2E gate is not overridden: deployment ${deploymentId} is no longer the newest of ${service} in ${env} with a failed gate.`;
  if (!latest.to) return undefined;
  const outcome = await promote(run, {
    kind: "promote",
    service,
    env: next.name,
    image: latest.to,
    force: false,
    evidence: `Verified in **${env}** (deployment ${latest.id}${latest.pr ? `, #${latest.pr}` : ""}); its E2E gate failed (${latest.description ?? ""}) and @${run.user} overrode it with /unhold.`,
    ...(latest.source ? { source: latest.source } : {}),
  });
  return `E2E gate overridden: ${outcome.text}`;
}
