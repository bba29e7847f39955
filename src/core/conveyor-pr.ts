// "Is this one of Conveyor's own open PRs, and what does it move?" Asked before every automatic
// merge and by commands that merge; answered in one place from the PR's own data.
import { parseStateMarker } from "./markers.js";
import { parseBranch } from "./pr-text.js";

export interface PrFacts {
  number: number;
  state: string;
  authorType: string | undefined;
  headRef: string;
  headSha: string;
  /** full_name of the head's repository (a fork's for fork PRs). */
  headRepo?: string;
  body: string;
  labels: string[];
  nodeId?: string;
  nativeAutoMerge?: boolean;
}

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

/**
 * The PR as a merge candidate when it is Conveyor's and open: a bot opened it from one of
 * Conveyor's branches in this repository, and its state marker names the same service and
 * environment as the branch.
 */
export function conveyorPr(pr: PrFacts, repoFullName?: string): MergeCandidate | undefined {
  const branch = parseBranch(pr.headRef);
  const marker = parseStateMarker(pr.body);
  if (pr.state !== "open" || pr.authorType !== "Bot" || !branch || !marker) return undefined;
  if (marker.service !== branch.service || marker.env !== branch.env) return undefined;
  if (repoFullName !== undefined && pr.headRepo !== undefined && pr.headRepo !== repoFullName) return undefined;
  return {
    number: pr.number,
    headSha: pr.headSha,
    labels: pr.labels,
    service: branch.service,
    env: branch.env,
    kind: branch.kind,
    image: marker.to,
    nodeId: pr.nodeId,
    nativeAutoMerge: pr.nativeAutoMerge,
  };
}
