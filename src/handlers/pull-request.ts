// pull_request opened, synchronize, reopened -> the conveyor/render check on its head, and, for
// Conveyor's own PRs, an attempt to merge (the check is created first, so the attempt sees it).
import type { Context } from "probot";
import { eventRepo } from "../adapters/github/event.js";
import { parseBranch } from "../core/pr-text.js";
import { readConfig } from "../flows/load-config.js";
import { repoScope } from "../flows/repo-scope.js";
import { startRenderCheck, type RenderCheckOptions } from "../flows/run-render-check.js";
import type { Services } from "../flows/services.js";
import { mergeIfReady } from "../flows/try-auto-merge.js";

type PullRequestContext = Context<"pull_request.opened" | "pull_request.synchronize" | "pull_request.reopened">;

export async function handlePullRequest(
  context: PullRequestContext,
  services: Services,
  options: RenderCheckOptions = {},
): Promise<void> {
  const { payload } = context;
  const pr = payload.pull_request;
  const full = payload.repository.full_name;
  // A PR into another repository (from this one as a fork) is not this repository's business.
  if (pr.base.repo.full_name !== full) return;
  const scope = repoScope(services, { ...eventRepo(context), log: context.log });
  const fromThisRepo = pr.head.repo?.full_name === full;
  // Anyone can open a fork PR: each author gets a bounded number of render checks an hour.
  const author = pr.user?.login ?? "?";
  if (!fromThisRepo && !services.forkRenders.take(`${full}#${author}`)) {
    context.log.info(
      { pr: pr.number, author },
      "render check skipped: this author's fork PRs used up their renders for the hour",
    );
    return;
  }
  await startRenderCheck(
    services,
    {
      gh: scope.gh,
      workspace: scope.workspace,
      log: context.log,
      pr: { number: pr.number, headSha: pr.head.sha, baseSha: pr.base.sha, headRef: pr.head.ref, fromThisRepo },
    },
    options,
  );

  if (!parseBranch(pr.head.ref) || !fromThisRepo) return;
  const config = await readConfig(scope.gh);
  if (config) await mergeIfReady(services, scope.gh, config, pr.number, context.log);
}
