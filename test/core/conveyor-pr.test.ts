// "Is this one of Conveyor's own open PRs, is it still only Conveyor's, and what does it move?"
// Asked before every automatic merge. Only a PR Conveyor's own bot opened from Conveyor's branch in
// this repository, whose signed state marker agrees with the branch and the head, is a merge
// candidate; a Conveyor PR someone changed since is "tampered" (never merged automatically); every
// other PR is someone else's. The marker's signature is checked by the caller (flows/pr-state.ts):
// here its verdict is plain data.
import { describe, expect, it } from "vitest";
import { ownership, type MarkerTrust, type Ownership, type PrFacts } from "../../src/core/conveyor-pr.js";

const REPO = "acme/manifests";
const BOT = "conveyor[bot]";
const FROM = "ghcr.io/acme/api:1.4.0";
const TO = "ghcr.io/acme/api:1.5.0";
const HEAD = "9".repeat(40);

/** Conveyor's deploy PR for api in staging, as GitHub describes it. */
function pr(over: Partial<PrFacts> = {}): PrFacts {
  return {
    number: 14,
    state: "open",
    author: BOT,
    headRef: "conveyor/staging/api",
    headSha: HEAD,
    headRepo: REPO,
    labels: ["conveyor", "env/staging"],
    nodeId: "PR_kwDOA",
    nativeAutoMerge: false,
    ...over,
  };
}

/** A marker that verifies, for `head`. */
const signed = (over: { service?: string; env?: string; to?: string; head?: string } = {}): MarkerTrust => ({
  kind: "trusted",
  state: { service: "api", env: "staging", from: FROM, to: TO, head: HEAD, sig: "s", ...over },
});
const TRUSTED = signed();

const candidate = (over: Record<string, unknown> = {}): Ownership => ({
  kind: "conveyor",
  candidate: {
    number: 14,
    headSha: HEAD,
    labels: ["conveyor", "env/staging"],
    service: "api",
    env: "staging",
    kind: "deploy",
    image: TO,
    nodeId: "PR_kwDOA",
    nativeAutoMerge: false,
    ...over,
  },
});

describe("ownership: Conveyor's own open PRs are merge candidates", () => {
  it.each<[string, PrFacts, MarkerTrust, Ownership]>([
    ["its bot's PR on its own branch, with a signed marker for that head", pr(), TRUSTED, candidate()],
    [
      "a revert PR on the revert branch is a revert, moving to the image it restores",
      pr({ headRef: "conveyor/revert/staging/api", labels: ["conveyor", "env/staging", "conveyor:revert"] }),
      signed({ to: FROM }),
      candidate({ kind: "revert", image: FROM, labels: ["conveyor", "env/staging", "conveyor:revert"] }),
    ],
    [
      "a PR on hold is still Conveyor's (the merge policy, not this, makes it wait)",
      pr({ labels: ["conveyor", "env/staging", "conveyor:hold"] }),
      TRUSTED,
      candidate({ labels: ["conveyor", "env/staging", "conveyor:hold"] }),
    ],
    [
      "a repository with GitHub's auto-merge: the PR's node id and the flag come along",
      pr({ nodeId: "PR_kwDOB", nativeAutoMerge: true }),
      TRUSTED,
      candidate({ nodeId: "PR_kwDOB", nativeAutoMerge: true }),
    ],
  ])("%s", (_title, facts, trust, expected) => {
    expect(ownership(facts, { repo: REPO, botLogin: BOT, trust })).toEqual(expected);
  });
});

describe("ownership: a Conveyor PR someone changed is never merged automatically, and says why", () => {
  it.each<[string, MarkerTrust, string]>([
    [
      "a marker that is missing or does not verify",
      { kind: "untrusted" },
      "its state marker is missing or was edited, so Conveyor cannot tell what it moves",
    ],
    [
      "a marker for another service than the branch",
      signed({ service: "billing" }),
      "its state marker names billing in staging, not its branch's api in staging",
    ],
    [
      "a marker for another environment than the branch",
      signed({ env: "production" }),
      "its state marker names api in production, not its branch's api in staging",
    ],
    [
      "a commit pushed onto the branch after Conveyor's",
      { kind: "foreign-head", state: { service: "api", env: "staging", from: FROM, to: TO, head: "8".repeat(40) } },
      "its branch has a commit Conveyor did not make (head 999999999999; Conveyor pushed 888888888888)",
    ],
  ])("%s", (_title, trust, reason) => {
    expect(ownership(pr(), { repo: REPO, botLogin: BOT, trust })).toEqual({ kind: "tampered", number: 14, reason });
  });
});

describe("ownership: everything else is someone else's PR", () => {
  it.each<[string, PrFacts]>([
    ["a person's PR from a Conveyor-looking branch", pr({ author: "alice" })],
    ["another app's bot on a Conveyor-looking branch", pr({ author: "renovate[bot]" })],
    ["a PR whose author GitHub does not name", pr({ author: undefined })],
    ["a closed PR", pr({ state: "closed" })],
    ["a PR from a fork with the same branch name", pr({ headRepo: "mallory/manifests" })],
    ["a branch that is not Conveyor's", pr({ headRef: "feature/bump-api" })],
    ["a Conveyor branch without its service", pr({ headRef: "conveyor/staging" })],
    ["a Conveyor-like branch in upper case", pr({ headRef: "conveyor/Staging/api" })],
    ["a branch that only starts like Conveyor's", pr({ headRef: "conveyor/staging/api/extra" })],
  ])("%s, even with a signed marker", (_title, facts) => {
    expect(ownership(facts, { repo: REPO, botLogin: BOT, trust: TRUSTED })).toEqual({ kind: "other" });
  });
});
