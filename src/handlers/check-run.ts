// check_run / check_suite completed -> Conveyor PRs that were waiting for green checks may merge.
// PRs into environments that never merge automatically are not read.
import type { Context } from "probot";
import { eventRepo } from "../adapters/github/event.js";
import { parseBranch } from "../core/pr-text.js";
import { readConfig } from "../flows/load-config.js";
import type { Services } from "../flows/services.js";
import { branchAutoMerges, mergeIfReady } from "../flows/try-auto-merge.js";

type CheckContext = Context<"check_run.completed"> | Context<"check_suite.completed">;

export async function handleCheckCompleted(context: CheckContext, services: Services): Promise<void> {
  const payload = context.payload;
  const pulls = "check_run" in payload ? payload.check_run.pull_requests : payload.check_suite.pull_requests;
  if (!pulls.some((pr) => parseBranch(pr.head.ref))) return;
  const { gh } = eventRepo(context);
  const config = await readConfig(gh);
  if (!config) return;
  const candidates = pulls.filter((pr) => branchAutoMerges(config, pr.head.ref)).map((pr) => pr.number);
  for (const number of candidates) await mergeIfReady(services, gh, config, number, context.log);
}
