// "Is this one of Conveyor's own open PRs, is it still only Conveyor's, and what does it move?"
// Asked before every automatic merge and by commands that act on a PR; answered in one place from
// the PR's data and what its signed state marker says (verified by the caller: core does no
// cryptography).
import type { PrState } from "./markers.js";
import { parseBranch } from "./pr-text.js";

export interface PrFacts {
  number: number;
  state: string;
  author: string | undefined;
  headRef: string;
  headSha: string;
  /** full_name of the head's repository (a fork's for fork PRs). */
  headRepo?: string;
  labels: string[];
  nodeId?: string;
  nativeAutoMerge?: boolean;
}

/** What the PR's state marker is worth: signed by Conveyor for this head, for another head, or nothing. */
export type MarkerTrust =
  | { kind: "trusted"; state: PrState & { head: string } }
  | { kind: "foreign-head"; state: PrState & { head: string } }
  | { kind: "untrusted" };

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

export type Ownership =
  /** Conveyor's, unchanged since it pushed: may merge automatically where policy allows. */
  | { kind: "conveyor"; candidate: MergeCandidate }
  /** Conveyor opened it, but it is no longer only Conveyor's work: never merged automatically. */
  | { kind: "tampered"; number: number; reason: string }
  /** Someone else's PR (a person's, another app's, a fork's, or closed). */
  | { kind: "other" };

export function ownership(pr: PrFacts, context: { repo: string; botLogin: string; trust: MarkerTrust }): Ownership {
  const branch = parseBranch(pr.headRef);
  if (pr.state !== "open" || !branch || pr.author !== context.botLogin) return { kind: "other" };
  if (pr.headRepo !== undefined && pr.headRepo !== context.repo) return { kind: "other" };
  const { trust } = context;
  const tampered = (reason: string): Ownership => ({ kind: "tampered", number: pr.number, reason });
  if (trust.kind === "untrusted")
    return tampered("its state marker is missing or was edited, so Conveyor cannot tell what it moves");
  if (trust.state.service !== branch.service || trust.state.env !== branch.env) {
    return tampered(
      `its state marker names ${trust.state.service} in ${trust.state.env}, not its branch's ${branch.service} in ${branch.env}`,
    );
  }
  if (trust.kind === "foreign-head") {
    return tampered(
      `its branch has a commit Conveyor did not make (head ${pr.headSha.slice(0, 12)}; Conveyor pushed ${trust.state.head.slice(0, 12)})`,
    );
  }
  return {
    kind: "conveyor",
    candidate: {
      number: pr.number,
      headSha: pr.headSha,
      labels: pr.labels,
      service: branch.service,
      env: branch.env,
      kind: branch.kind,
      image: trust.state.to,
      nodeId: pr.nodeId,
      nativeAutoMerge: pr.nativeAutoMerge,
    },
  };
}
