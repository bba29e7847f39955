// Merges a Conveyor PR when its environment's policy allows it, nothing holds it, and its checks
// passed, with the exact head sha that was checked. The decision is core/merge-policy.ts.
import type { GitHubRepo } from "../adapters/github/repo.js";
import type { Config } from "../core/config.js";
import { conveyorPr, type MergeCandidate } from "../core/conveyor-pr.js";
import { parseFreezeIssue, parseHoldIssue } from "../core/markers.js";
import { mergeDecision, type MergeDecision } from "../core/merge-policy.js";
import { FREEZE_LABEL, HOLD_LABEL } from "../core/pr-text.js";
import { RENDER_CHECK } from "./run-render-check.js";
import type { Log, Services } from "./services.js";

export type MergeOutcome = MergeDecision | { kind: "merged" | "auto-merge-enabled" };

export async function tryAutoMerge(
  services: Services,
  gh: GitHubRepo,
  config: Config,
  pr: MergeCandidate,
  log: Pick<Log, "info">,
): Promise<MergeOutcome> {
  const env = config.environments.find((e) => e.name === pr.env);
  const allowed = pr.kind === "revert" ? config.rollback.autoMerge && env?.autoMerge : env?.autoMerge;
  if (!allowed) return { kind: "skip", reason: `${pr.env} does not auto-merge` };

  const [freezes, holds] = await Promise.all([
    gh.issues.listOpen(FREEZE_LABEL),
    pr.kind === "deploy" ? gh.issues.listOpen(HOLD_LABEL) : Promise.resolve([]),
  ]);
  const frozen = freezes.some((i) => parseFreezeIssue(i.body) === pr.env);
  const holdIssue = holds.find((i) => {
    const hold = parseHoldIssue(i.body);
    return hold?.service === pr.service && hold.env === pr.env;
  });
  const heldImage = holdIssue ? parseHoldIssue(holdIssue.body)?.image : undefined;
  if (holdIssue && heldImage !== undefined && pr.image !== undefined && heldImage !== pr.image) {
    // A newer image arrived: that lifts the hold the failed rollout put in place.
    await gh.issues.closeOne(holdIssue.number, `Lifted: a newer image (\`${pr.image}\`) arrived in #${pr.number}.`);
  }

  const checks = await gh.checks.onCommit(pr.headSha);
  const renderer = await services.renderer.locate();
  const decision = mergeDecision({
    requiredChecks: renderer.found ? [RENDER_CHECK] : [],
    config,
    env: pr.env,
    kind: pr.kind,
    prLabels: pr.labels,
    frozen,
    heldImage: heldImage === pr.image ? heldImage : undefined,
    image: pr.image,
    checks,
  });
  if (decision.kind !== "merge") {
    log.info({ pr: pr.number, decision: decision.kind }, `not merging #${pr.number}: ${decision.reason}`);
    return decision;
  }
  if (pr.nativeAutoMerge && pr.nodeId) {
    // The repo has GitHub's auto-merge: GitHub merges once branch protection is satisfied, and
    // only if the head is still the sha checked here.
    await gh.pulls.enableAutoMerge(pr.nodeId, pr.headSha);
    log.info({ pr: pr.number, sha: pr.headSha }, `enabled GitHub auto-merge on #${pr.number}`);
    return { kind: "auto-merge-enabled" };
  }
  const merged = await gh.pulls.merge(pr.number, pr.headSha);
  if (merged.kind === "refused") return { kind: "wait", reason: `GitHub refused the merge (${merged.status})` };
  log.info({ pr: pr.number, sha: pr.headSha }, `merged #${pr.number}`);
  return { kind: "merged" };
}

/** Reads a PR and merges it if it is one of Conveyor's open PRs and may merge; undefined if not Conveyor's. */
export async function mergeIfReady(
  services: Services,
  gh: GitHubRepo,
  config: Config,
  number: number,
  log: Pick<Log, "info">,
): Promise<MergeOutcome | undefined> {
  const candidate = conveyorPr(await gh.pulls.get(number), gh.fullName);
  return candidate ? tryAutoMerge(services, gh, config, candidate, log) : undefined;
}

/** Merges every open Conveyor PR into `env` that may merge now (after an unfreeze); returns their numbers. */
export async function mergeWaiting(
  services: Services,
  gh: GitHubRepo,
  config: Config,
  env: string,
  log: Pick<Log, "info">,
): Promise<number[]> {
  const merged: number[] = [];
  for (const pr of await gh.pulls.listOpen()) {
    const candidate = conveyorPr(pr, gh.fullName);
    if (!candidate || candidate.env !== env) continue;
    const outcome = await tryAutoMerge(services, gh, config, candidate, log);
    if (outcome.kind === "merged") merged.push(pr.number);
  }
  return merged;
}
