// A check or commit status finished: Conveyor PRs waiting for green checks may merge now.
import type { Context } from "probot";
import { parseBranch, parseStateMarker } from "../core/pr-text.js";
import { ManifestsRepo } from "../adapters/github.js";
import { tryAutoMerge } from "./auto-merge.js";
import { readConfig } from "./load-config.js";
import type { AppServices } from "./services.js";

type CheckContext = Context<"check_run.completed"> | Context<"check_suite.completed">;

export async function handleCheckCompleted(context: CheckContext, _services: AppServices): Promise<void> {
  const payload = context.payload;
  const pulls = "check_run" in payload ? payload.check_run.pull_requests : payload.check_suite.pull_requests;
  const candidates = pulls.filter((pr) => parseBranch(pr.head.ref)).map((pr) => ({ number: pr.number, ref: pr.head.ref }));
  await retryMerges(context, candidates);
}

export async function handleStatus(context: Context<"status">, _services: AppServices): Promise<void> {
  if (context.payload.state === "pending") return;
  const branches = context.payload.branches.filter((b) => parseBranch(b.name) && b.commit.sha === context.payload.sha);
  if (branches.length === 0) return;
  const repo = new ManifestsRepo(context.octokit, context.repo());
  const candidates: Array<{ number: number; ref: string }> = [];
  for (const branch of branches) {
    const pr = await repo.findOpenPr(branch.name);
    if (pr) candidates.push({ number: pr.number, ref: branch.name });
  }
  await retryMerges(context, candidates);
}

/** A Conveyor PR was opened or moved: merge it if its environment auto-merges and checks allow. */
export async function handleConveyorPullRequest(context: Context<"pull_request.opened" | "pull_request.synchronize" | "pull_request.reopened">, _services: AppServices): Promise<void> {
  const pr = context.payload.pull_request;
  if (!parseBranch(pr.head.ref) || pr.head.repo?.full_name !== context.payload.repository.full_name) return;
  await retryMerges(context, [{ number: pr.number, ref: pr.head.ref }]);
}

async function retryMerges(context: Context, candidates: Array<{ number: number; ref: string }>): Promise<void> {
  if (candidates.length === 0) return;
  const ref = context.repo();
  const config = await readConfig(context.octokit, ref);
  if (!config) return;
  for (const candidate of candidates) {
    const branch = parseBranch(candidate.ref);
    if (!branch) continue;
    const { data: pr } = await context.octokit.rest.pulls.get({ ...ref, pull_number: candidate.number });
    // Only PRs Conveyor itself opened: a bot author, its branch, and its state marker.
    const marker = parseStateMarker(pr.body);
    const labels = pr.labels.map((l) => l.name ?? "");
    if (pr.state !== "open" || pr.user?.type !== "Bot" || !marker || marker.service !== branch.service || marker.env !== branch.env) continue;
    await tryAutoMerge(
      context.octokit,
      ref,
      config,
      {
        number: pr.number,
        headSha: pr.head.sha,
        labels,
        service: branch.service,
        env: branch.env,
        kind: branch.kind,
        image: marker?.to,
        nodeId: pr.node_id,
        nativeAutoMerge: pr.base.repo.allow_auto_merge === true && !pr.auto_merge,
      },
      context.log,
    );
  }
}
