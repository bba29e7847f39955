// `/status [<service>]`: a table of environments -> image, health, last change, holds.
import { historyKey } from "../../core/command-plan.js";
import { statusTable, type StatusRow } from "../../core/command-text.js";
import { discoverServices } from "../../core/discover.js";
import { holdMarker, markerTag } from "../../core/markers.js";
import { HOLD_LABEL } from "../../core/pr-text.js";
import { strategyKindFor } from "../../core/strategy.js";
import type { CommandOutcome, CommandRun } from "./execute.js";
import { strategyLines } from "./strategy-status.js";

export async function status(run: CommandRun, service: string | undefined): Promise<CommandOutcome> {
  const { gh, workspace } = run.scope;
  const { config, facts } = run;
  let services: string[];
  let head: string | undefined;
  if (service) services = [service];
  else {
    // Anywhere but a Conveyor PR: every service with an overlay, from the clone Conveyor keeps.
    await workspace.sync();
    head = await workspace.remoteBranch(run.scope.defaultBranch);
    services = head ? [...discoverServices(await workspace.listFiles(head, "."), config)].sort() : [];
    for (const s of services) {
      for (const env of config.environments) {
        facts.histories[historyKey(s, env.name)] ??= await gh.deployments.history(
          { service: s, env: env.name },
          { statusLimit: 1 },
        );
      }
    }
  }
  const holdBodies = (await gh.issues.listOpen(HOLD_LABEL)).map((i) => i.body);
  const inFlight = run.services.verifier?.inFlight() ?? [];
  const rows: StatusRow[] = services.flatMap((s) =>
    config.environments.map((env) => ({
      service: s,
      env: env.name,
      latest: facts.histories[historyKey(s, env.name)]?.[0],
      verifying: inFlight.some((v) => v.service === s && v.env === env.name),
      frozen: facts.frozen.includes(env.name),
      held: holdBodies.some((b) => b.includes(markerTag(holdMarker(s, env.name)))),
    })),
  );
  const slots = await strategyStatus(run, services, head);
  const table =
    statusTable(rows, (n) => `${run.scope.htmlUrl}/pull/${n}`) + (slots.length ? `\n\n${slots.join("\n")}` : "");
  const frozen = facts.frozen.length ? ` Frozen: ${facts.frozen.join(", ")}.` : "";
  return {
    ok: true,
    text: `Status of ${services.length === 1 ? services[0] : `${services.length} services`}.${frozen}`,
    details: { summary: "Environments", body: table },
  };
}

/** Slot and canary lines, only when a listed service has a strategy (no git work otherwise). */
async function strategyStatus(run: CommandRun, services: string[], head: string | undefined): Promise<string[]> {
  const { config } = run;
  const any = services.some((s) => config.environments.some((e) => strategyKindFor(config, s, e.name) !== "image"));
  if (!any) return [];
  const { workspace } = run.scope;
  if (head === undefined) {
    await workspace.sync();
    head = await workspace.remoteBranch(run.scope.defaultBranch);
  }
  return strategyLines(workspace, head, config, services);
}
