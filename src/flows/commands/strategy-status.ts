// What /status adds for services released by blue-green or canary: the live slot and what the
// idle one holds, or what the canary runs beside stable, read from the overlay's patch files on
// the default branch.
import { describeSlots, readBlueGreenLayout } from "../../core/blue-green.js";
import { describeCanary, readCanaryLayout } from "../../core/canary.js";
import { overlayDir, type Config } from "../../core/config.js";
import { strategyFor } from "../../core/strategy.js";
import type { GitWorkspace } from "../../adapters/git-workspace.js";
import { overlayPatches } from "../overlay-patches.js";

export async function strategyLines(
  workspace: GitWorkspace,
  head: string | undefined,
  config: Config,
  services: string[],
): Promise<string[]> {
  const lines: string[] = [];
  if (!head) return lines;
  for (const service of services)
    for (const env of config.environments) {
      const strategy = strategyFor(config, service, env.name);
      if (strategy.kind === "image") continue;
      const dir = overlayDir(config, service, env);
      const files = await overlayPatches(workspace, head, dir);
      const what =
        strategy.kind === "blueGreen"
          ? ((read) => (read.ok ? describeSlots(read.value) : read.reason))(readBlueGreenLayout(strategy, dir, files))
          : ((read) => (read.ok ? describeCanary(strategy, read.value) : read.reason))(
              readCanaryLayout(strategy, dir, files),
            );
      lines.push(`- ${service} in ${env.name} (${strategy.kind}): ${what}`);
    }
  return lines;
}
