// status (a commit status finished) -> Conveyor PRs whose head it is may merge now.
import type { Context } from "probot";
import { eventRepo } from "../adapters/github/event.js";
import { parseBranch } from "../core/pr-text.js";
import { readConfig } from "../flows/load-config.js";
import type { Services } from "../flows/services.js";
import { branchAutoMerges, mergeIfReady } from "../flows/try-auto-merge.js";

export async function handleStatus(context: Context<"status">, services: Services): Promise<void> {
  const { payload } = context;
  if (payload.state === "pending") return;
  const branches = payload.branches.filter((b) => parseBranch(b.name) && b.commit.sha === payload.sha);
  if (branches.length === 0) return;
  const { gh } = eventRepo(context);
  const config = await readConfig(gh);
  if (!config) return;
  // PRs into environments that never merge automatically are not looked up.
  const candidates: number[] = [];
  for (const branch of branches.filter((b) => branchAutoMerges(config, b.name))) {
    const pr = await gh.pulls.findOpen(branch.name);
    if (pr) candidates.push(pr.number);
  }
  for (const number of candidates) await mergeIfReady(services, gh, config, number, context.log);
}
