// Merges a Conveyor PR when its environment's policy allows it, nothing holds it, and its checks
// passed, with the exact head sha that was checked. The decision is core/merge-policy.ts.
import type { Config } from "../core/config.js";
import { mergeDecision, type MergeDecision } from "../core/merge-policy.js";
import { FREEZE_LABEL, HOLD_LABEL } from "../core/pr-text.js";
import { statusOf, type Octokit, type RepoRef } from "../adapters/github.js";
import { sharedRenderer } from "./render-changes.js";
import { RENDER_CHECK } from "./render-check.js";

export interface MergeCandidate {
  number: number;
  headSha: string;
  labels: string[];
  service: string;
  env: string;
  kind: "deploy" | "revert";
  image?: string;
  /** The PR's GraphQL id and whether the repo allows GitHub's auto-merge: then GitHub merges. */
  nodeId?: string;
  nativeAutoMerge?: boolean;
}

export const freezeMarker = (env: string) => `conveyor:freeze:${env}`;
export const holdMarker = (service: string, env: string) => `conveyor:hold:${service}:${env}`;

export async function tryAutoMerge(octokit: Octokit, ref: RepoRef, config: Config, pr: MergeCandidate, log: { info: (obj: object, msg?: string) => void }): Promise<MergeDecision | { kind: "merged" | "auto-merge-enabled" }> {
  const env = config.environments.find((e) => e.name === pr.env);
  const allowed = pr.kind === "revert" ? config.rollback.autoMerge && env?.autoMerge : env?.autoMerge;
  if (!allowed) return { kind: "skip", reason: `${pr.env} does not auto-merge` };

  const [freezes, holds] = await Promise.all([
    octokit.rest.issues.listForRepo({ ...ref, state: "open", labels: FREEZE_LABEL, per_page: 100 }),
    pr.kind === "deploy" ? octokit.rest.issues.listForRepo({ ...ref, state: "open", labels: HOLD_LABEL, per_page: 100 }) : Promise.resolve({ data: [] }),
  ]);
  const frozen = freezes.data.some((i) => (i.body ?? "").includes(`<!-- ${freezeMarker(pr.env)} -->`));
  const hold = holds.data.find((i) => (i.body ?? "").includes(`<!-- ${holdMarker(pr.service, pr.env)} -->`));
  const heldImage = hold ? /held image: `([^`]+)`/.exec(hold.body ?? "")?.[1] : undefined;
  if (hold && heldImage !== undefined && pr.image !== undefined && heldImage !== pr.image) {
    // A newer image arrived: that lifts the hold the failed rollout put in place.
    await octokit.rest.issues.createComment({ ...ref, issue_number: hold.number, body: `Lifted: a newer image (\`${pr.image}\`) arrived in #${pr.number}.` });
    await octokit.rest.issues.update({ ...ref, issue_number: hold.number, state: "closed", state_reason: "completed" });
  }

  const [runs, combined] = await Promise.all([
    octokit.rest.checks.listForRef({ ...ref, ref: pr.headSha, per_page: 100 }),
    octokit.rest.repos.getCombinedStatusForRef({ ...ref, ref: pr.headSha, per_page: 100 }),
  ]);
  const renderer = await sharedRenderer.locate();
  const decision = mergeDecision({
    requiredChecks: renderer.found ? [RENDER_CHECK] : [],
    config,
    env: pr.env,
    kind: pr.kind,
    prLabels: pr.labels,
    frozen,
    heldImage: heldImage === pr.image ? heldImage : undefined,
    image: pr.image,
    checks: {
      runs: runs.data.check_runs.map((r) => ({ name: r.name, status: r.status, conclusion: r.conclusion })),
      statuses: combined.data.statuses.map((s) => ({ context: s.context, state: s.state })),
    },
  });
  if (decision.kind !== "merge") {
    log.info({ pr: pr.number, decision: decision.kind }, `not merging #${pr.number}: ${decision.reason}`);
    return decision;
  }
  if (pr.nativeAutoMerge && pr.nodeId) {
    // The repo has GitHub's auto-merge: GitHub merges once branch protection is satisfied, and
    // only if the head is still the sha checked here.
    await octokit.graphql(
      `mutation($id: ID!, $head: GitObjectID!) { enablePullRequestAutoMerge(input: { pullRequestId: $id, expectedHeadOid: $head, mergeMethod: MERGE }) { clientMutationId } }`,
      { id: pr.nodeId, head: pr.headSha },
    );
    log.info({ pr: pr.number, sha: pr.headSha }, `enabled GitHub auto-merge on #${pr.number}`);
    return { kind: "auto-merge-enabled" };
  }
  try {
    await octokit.rest.pulls.merge({ ...ref, pull_number: pr.number, sha: pr.headSha, merge_method: "merge" });
  } catch (error) {
    const status = statusOf(error);
    // 405: not mergeable (conflict, branch protection); 409: the head moved since it was checked.
    if (status === 405 || status === 409) return { kind: "wait", reason: `GitHub refused the merge (${status})` };
    throw error;
  }
  log.info({ pr: pr.number, sha: pr.headSha }, `merged #${pr.number}`);
  return { kind: "merged" };
}
