// Merges a Conveyor PR when its environment's policy allows it, nothing holds it, and its checks
// passed, with the exact head sha that was checked. The decision is core/merge-policy.ts.
import type { GitHubRepo } from "../adapters/github/repo.js";
import type { Config } from "../core/config.js";
import { ownership, type MergeCandidate, type Ownership } from "../core/conveyor-pr.js";
import { compareSemver } from "../core/image-ref.js";
import { parseFreezeIssue, parseHoldIssue } from "../core/markers.js";
import { mergeDecision, type MergeDecision } from "../core/merge-policy.js";
import { FREEZE_LABEL, HOLD_LABEL, UNTRUSTED_LABEL } from "../core/pr-text.js";
import type { PullRequestSummary } from "../adapters/github/pull-requests.js";
import { prTrust } from "./pr-state.js";
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
  if (holdIssue && heldImage !== undefined && pr.image !== undefined && supersedes(pr.image, heldImage)) {
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

/**
 * Does `image` replace the held one? A higher version does; a lower one does not (the hold stays
 * for the image that failed). Tags that are not versions (commit shas) cannot be ordered: any
 * other image counts as newer.
 */
function supersedes(image: string, held: string): boolean {
  if (image === held) return false;
  const tag = (ref: string) =>
    ref
      .slice(ref.lastIndexOf("/") + 1)
      .split("@")[0]
      ?.split(":")[1];
  const [a, b] = [tag(image), tag(held)];
  const order = a !== undefined && b !== undefined ? compareSemver(a, b) : undefined;
  return order === undefined ? true : order > 0;
}

/** Who a PR belongs to, from its author, its branch and its signed state marker. */
export async function ownershipOf(services: Services, gh: GitHubRepo, pr: PullRequestSummary): Promise<Ownership> {
  return ownership(pr, {
    repo: gh.fullName,
    botLogin: await services.github.botLogin(),
    trust: prTrust(services, gh.fullName, pr),
  });
}

/**
 * Reads a PR and merges it if it is one of Conveyor's open PRs and may merge; undefined when it
 * is not Conveyor's. A Conveyor PR someone else changed is never merged automatically, and says
 * so once (a label marks that it did).
 */
export async function mergeIfReady(
  services: Services,
  gh: GitHubRepo,
  config: Config,
  number: number,
  log: Pick<Log, "info">,
): Promise<MergeOutcome | undefined> {
  const pr = await gh.pulls.get(number);
  const owner = await ownershipOf(services, gh, pr);
  if (owner.kind === "other") return undefined;
  if (owner.kind === "tampered") {
    if (!pr.labels.includes(UNTRUSTED_LABEL)) {
      await gh.issues.addLabels(number, [UNTRUSTED_LABEL]);
      await gh.issues.comment(number, untrustedComment(owner.reason));
    }
    log.info({ pr: number }, `not merging #${number}: ${owner.reason}`);
    return { kind: "skip", reason: owner.reason };
  }
  return tryAutoMerge(services, gh, config, owner.candidate, log);
}

export function untrustedComment(reason: string): string {
  return [
    `Conveyor will not merge this pull request automatically: ${reason}.`,
    "",
    "Review it and merge it yourself, or comment `/retry` to have Conveyor plan it again from the default branch (commits others pushed to its branch are replaced).",
  ].join("\n");
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
    const owner = await ownershipOf(services, gh, pr);
    if (owner.kind !== "conveyor" || owner.candidate.env !== env) continue;
    const outcome = await tryAutoMerge(services, gh, config, owner.candidate, log);
    if (outcome.kind === "merged") merged.push(pr.number);
  }
  return merged;
}
