// Merges a Conveyor PR when its environment's policy allows it, nothing holds it, and its checks
// passed, with the exact head sha that was checked. The decision is core/merge-policy.ts; how it
// lands (merge method, GitHub's auto-merge, the merge queue, what a refusal means) is
// core/merge-method.ts. A refusal is said once on the PR, and the same head is not tried again.
import type { GitHubRepo } from "../adapters/github/repo.js";
import type { Config } from "../core/config.js";
import { ownership, type MergeCandidate, type Ownership } from "../core/conveyor-pr.js";
import { compareSemver } from "../core/image-ref.js";
import { parseFreezeIssue, parseHoldIssue } from "../core/markers.js";
import {
  chooseMergeMethod,
  classifyRefusal,
  isTransient,
  knowsMethods,
  MERGE_REFUSED_LABEL,
  mergeRefusedComment,
  mergeRefusedMarker,
  type AllowedMethods,
  type MergeMethod,
  type Refusal,
  type RefusalKind,
} from "../core/merge-method.js";
import { mergeDecision, type MergeDecision } from "../core/merge-policy.js";
import { FREEZE_LABEL, HOLD_LABEL, parseBranch, UNTRUSTED_LABEL } from "../core/pr-text.js";
import type { PullRequestSummary } from "../adapters/github/pull-requests.js";
import { prTrust } from "./pr-state.js";
import { RENDER_CHECK } from "./run-render-check.js";
import type { Log, Services } from "./services.js";

export type MergeOutcome =
  | MergeDecision
  | { kind: "merged" | "auto-merge-enabled" }
  /** In the merge queue: GitHub merges it when its turn comes (the reason says so, for replies). */
  | { kind: "enqueued"; reason: string };

/** A PR that may be merged, with the merge methods its base repository allows where the PR said. */
export type Candidate = MergeCandidate & { mergeSettings?: AllowedMethods };

/** Whether Conveyor's PRs of this kind into `envName` merge automatically at all. */
function mayAutoMerge(config: Config, kind: "deploy" | "revert", envName: string): boolean {
  const env = config.environments.find((e) => e.name === envName);
  return Boolean(kind === "revert" ? config.rollback.autoMerge && env?.autoMerge : env?.autoMerge);
}

/**
 * Whether the PR of a Conveyor branch could merge automatically under `config`: a finished check
 * or status need not read the others' PRs (nothing can merge them; a change someone else pushed
 * to one is flagged on its own pull_request event).
 */
export function branchAutoMerges(config: Config, branch: string): boolean {
  const parsed = parseBranch(branch);
  return parsed !== undefined && mayAutoMerge(config, parsed.kind, parsed.env);
}

export async function tryAutoMerge(
  services: Services,
  gh: GitHubRepo,
  config: Config,
  pr: Candidate,
  log: Pick<Log, "info">,
): Promise<MergeOutcome> {
  if (!mayAutoMerge(config, pr.kind, pr.env)) return { kind: "skip", reason: `${pr.env} does not auto-merge` };

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
  return land(gh, config, pr, log);
}

const ACTIONS: Record<MergeMethod, string> = {
  merge: "merge it",
  squash: "squash-merge it",
  rebase: "rebase-merge it",
};

const QUEUED = "it is in the merge queue, which merges it when its turn comes";

/**
 * Lands a PR that may merge: in the merge queue where the branch has one, through GitHub's
 * auto-merge where the repository allows it, else merged here; always pinned to the checked head,
 * with the method the config names or the repository allows. A method GitHub refuses that was
 * only presumed is tried once more with what the repository's settings (read again) allow.
 */
async function land(gh: GitHubRepo, config: Config, pr: Candidate, log: Pick<Log, "info">): Promise<MergeOutcome> {
  if (
    pr.labels.includes(MERGE_REFUSED_LABEL) &&
    (await gh.issues.hasComment(pr.number, mergeRefusedMarker(pr.headSha)))
  ) {
    const reason = `GitHub refused to merge ${pr.headSha.slice(0, 12)} before (the pull request says why), and Conveyor does not try the same commit again`;
    log.info({ pr: pr.number, sha: pr.headSha }, `not merging #${pr.number}: ${reason}`);
    return { kind: "skip", reason };
  }
  if (pr.nodeId && (config.merge.queue || gh.pulls.mergeQueueRequired())) return enqueue(gh, pr, pr.nodeId, log);

  const known = knowsMethods(pr.mergeSettings) ? pr.mergeSettings : gh.pulls.cachedMergeSettings();
  let choice = chooseMergeMethod({ configured: config.merge.method, allowed: known });
  let native = pr.nativeAutoMerge === true && pr.nodeId !== undefined;
  let relearned = false;
  // Each pass either lands, gives up, or turns one flag: at most three passes.
  for (;;) {
    if (choice.kind === "none")
      return refused(gh, pr, log, { refusal: { message: choice.reason }, kind: "method-not-allowed" });
    const method = choice.method;
    let refusal: Refusal;
    let action: string;
    if (native && pr.nodeId) {
      // The repo has GitHub's auto-merge: GitHub merges once branch protection is satisfied, and
      // only if the head is still the sha checked here.
      const result = await gh.pulls.enableAutoMerge(pr.nodeId, pr.headSha, method);
      if (result.kind === "done") {
        log.info({ pr: pr.number, sha: pr.headSha, method }, `enabled GitHub auto-merge on #${pr.number}`);
        return { kind: "auto-merge-enabled" };
      }
      refusal = { message: result.message };
      action = `enable auto-merge (${method})`;
    } else {
      const result = await gh.pulls.merge(pr.number, pr.headSha, method);
      if (result.kind === "merged") {
        gh.pulls.forgetRefusal(pr.number, pr.headSha);
        log.info({ pr: pr.number, sha: pr.headSha, method }, `merged #${pr.number}`);
        return { kind: "merged" };
      }
      refusal = { status: result.status, message: result.message };
      action = ACTIONS[method];
    }
    const kind = classifyRefusal(refusal);
    log.info(
      { pr: pr.number, sha: pr.headSha, status: refusal.status, refusal: kind },
      `GitHub refused to ${action} (#${pr.number}): ${clip(refusal.message)}`,
    );
    if (kind === "clean" && native) {
      // Auto-merge cannot be enabled on a PR that can merge right now: merge it.
      native = false;
      continue;
    }
    if (kind === "merge-queue" && pr.nodeId) {
      gh.pulls.learnMergeQueue();
      return enqueue(gh, pr, pr.nodeId, log);
    }
    if (kind === "method-not-allowed" && choice.source !== "config" && !relearned) {
      relearned = true;
      const next = chooseMergeMethod({ allowed: await gh.pulls.mergeSettings({ refresh: true }) });
      if (next.kind === "none" || next.method !== method) {
        choice = next;
        continue;
      }
    }
    return refused(gh, pr, log, { refusal, kind, action });
  }
}

async function enqueue(gh: GitHubRepo, pr: Candidate, nodeId: string, log: Pick<Log, "info">): Promise<MergeOutcome> {
  const result = await gh.pulls.enqueue(nodeId, pr.headSha);
  if (result.kind === "done") {
    log.info({ pr: pr.number, sha: pr.headSha }, `added #${pr.number} to the merge queue`);
    return { kind: "enqueued", reason: QUEUED };
  }
  const refusal = { message: result.message };
  const kind = classifyRefusal(refusal);
  if (kind === "already-queued") return { kind: "enqueued", reason: QUEUED };
  log.info({ pr: pr.number, sha: pr.headSha }, `GitHub refused to queue #${pr.number}: ${clip(refusal.message)}`);
  return refused(gh, pr, log, {
    refusal,
    kind: kind === "merge-queue" ? "blocked" : kind,
    action: "add it to the merge queue",
  });
}

/**
 * GitHub (or the config) refused: a refusal that may pass by itself waits for the next event the
 * first time; otherwise it is explained on the PR, once per head, and that head is left alone.
 */
async function refused(
  gh: GitHubRepo,
  pr: Candidate,
  log: Pick<Log, "info">,
  input: { refusal: Refusal; kind: RefusalKind; action?: string },
): Promise<MergeOutcome> {
  const { refusal, action } = input;
  const reason =
    refusal.status !== undefined
      ? `GitHub refused the merge (${refusal.status})`
      : action !== undefined
        ? `GitHub refused to ${action}: ${clip(refusal.message)}`
        : refusal.message;
  if (isTransient(input.kind) && !gh.pulls.refusedBefore(pr.number, pr.headSha)) return { kind: "wait", reason };
  await explainOnce(gh, pr, mergeRefusedComment({ head: pr.headSha, action, refusal, kind: input.kind }));
  log.info({ pr: pr.number, sha: pr.headSha }, `said on #${pr.number} why it is not merged: ${reason}`);
  return { kind: "skip", reason };
}

/** One explanation at a time per PR in this process, so two events refused at once say it once. */
const explaining = new Map<string, Promise<unknown>>();

async function explainOnce(gh: GitHubRepo, pr: Candidate, text: string): Promise<void> {
  const key = `${gh.fullName}#${pr.number}`;
  const run = (explaining.get(key) ?? Promise.resolve()).then(async () => {
    if (!(await gh.issues.hasComment(pr.number, mergeRefusedMarker(pr.headSha))))
      await gh.issues.comment(pr.number, text);
    if (!pr.labels.includes(MERGE_REFUSED_LABEL)) await gh.issues.addLabels(pr.number, [MERGE_REFUSED_LABEL]);
  });
  const tail = run.catch(() => undefined);
  explaining.set(key, tail);
  void tail.then(() => {
    if (explaining.get(key) === tail) explaining.delete(key);
  });
  await run;
}

function clip(text: string, max = 200): string {
  const points = Array.from(text.replace(/\s+/g, " ").trim());
  return points.length > max ? `${points.slice(0, max).join("")}…` : points.join("");
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
  return tryAutoMerge(services, gh, config, { ...owner.candidate, mergeSettings: pr.mergeSettings }, log);
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
    const outcome = await tryAutoMerge(
      services,
      gh,
      config,
      { ...owner.candidate, mergeSettings: pr.mergeSettings },
      log,
    );
    if (outcome.kind === "merged") merged.push(pr.number);
  }
  return merged;
}
