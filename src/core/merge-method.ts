// How Conveyor lands a PR on GitHub: which merge method (from the repository's settings or the
// config), and what GitHub's refusal of a merge means. Pure: what GitHub said comes in as data.
import { markerTag } from "./markers.js";

export const MERGE_METHODS = ["merge", "squash", "rebase"] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];

/**
 * What the repository allows (`allow_merge_commit`, `allow_squash_merge`, `allow_rebase_merge`);
 * a method is undefined when GitHub did not say (it leaves these fields out for a token that
 * cannot push).
 */
export type AllowedMethods = Partial<Record<MergeMethod, boolean>>;

export type MethodChoice =
  | {
      kind: "method";
      method: MergeMethod;
      /** config: `merge.method`; settings: the repository allows it; guess: nothing known says no. */
      source: "config" | "settings" | "guess";
    }
  | { kind: "none"; reason: string };

/** Preference when several are allowed: a merge commit keeps the checked head in history; squash keeps one commit per change. */
const PREFERENCE: readonly MergeMethod[] = ["merge", "squash", "rebase"];

const NAMES: Record<MergeMethod, string> = {
  merge: "merge commits",
  squash: "squash merges",
  rebase: "rebase merges",
};

/** Does what GitHub said (or nothing) tell anything about the methods? */
export function knowsMethods(allowed: AllowedMethods | undefined): allowed is AllowedMethods {
  return allowed !== undefined && MERGE_METHODS.some((m) => allowed[m] !== undefined);
}

/**
 * The method to merge with: `merge.method` from the config when the repository does not forbid it,
 * else the first of merge, squash, rebase that the repository allows; with nothing known, the
 * first not known to be forbidden (GitHub's own default, a merge commit, when nothing is known).
 */
export function chooseMergeMethod(input: { configured?: MergeMethod; allowed?: AllowedMethods }): MethodChoice {
  const allowed = input.allowed ?? {};
  const permitted = PREFERENCE.filter((m) => allowed[m] === true);
  if (input.configured !== undefined) {
    if (allowed[input.configured] !== false) return { kind: "method", method: input.configured, source: "config" };
    return {
      kind: "none",
      reason: `\`merge.method\` in .github/conveyor.yml is ${input.configured}, but this repository does not allow ${NAMES[input.configured]} (${permitted.length ? `it allows ${permitted.map((m) => NAMES[m]).join(" and ")}` : "it allows no merge method"})`,
    };
  }
  const known = permitted[0];
  if (known !== undefined) return { kind: "method", method: known, source: "settings" };
  const possible = PREFERENCE.find((m) => allowed[m] !== false);
  if (possible !== undefined) return { kind: "method", method: possible, source: "guess" };
  return { kind: "none", reason: "this repository allows no merge method" };
}

/** GitHub's GraphQL name of a merge method (`PullRequestMergeMethod`). */
export function graphqlMergeMethod(method: MergeMethod): "MERGE" | "SQUASH" | "REBASE" {
  return method === "merge" ? "MERGE" : method === "squash" ? "SQUASH" : "REBASE";
}

// --- GitHub's refusals ---------------------------------------------------------------------------

export type RefusalKind =
  /** The repository does not allow the merge method asked for. */
  | "method-not-allowed"
  /** The branch takes changes only through a merge queue. */
  | "merge-queue"
  /** Enqueuing a PR that is already in the queue. */
  | "already-queued"
  /** Auto-merge cannot be enabled on a PR that can merge right now ("clean status"). */
  | "clean"
  /** The head or the base moved since the check, or GitHub has not computed mergeability yet. */
  | "moved"
  /** Anything else: branch protection, rulesets, reviews, conflicts GitHub reports as such. */
  | "blocked";

export interface Refusal {
  /** HTTP status of a REST refusal; undefined for GraphQL. */
  status?: number;
  message: string;
}

export function classifyRefusal(refusal: Refusal): RefusalKind {
  const text = refusal.message;
  if (/already (?:queued|enqueued|in (?:the|a) merge queue)/i.test(text)) return "already-queued";
  if (/merge queue/i.test(text)) return "merge-queue";
  if (/not allowed/i.test(text) && /merge commit|squash|rebase|merge method/i.test(text)) return "method-not-allowed";
  if (/clean status/i.test(text)) return "clean";
  if (
    refusal.status === 409 ||
    /(?:head|base) branch was modified/i.test(text) ||
    /^pull request is not mergeable\.?$/i.test(text.trim())
  )
    return "moved";
  return "blocked";
}

/**
 * Refusals that may pass by themselves (GitHub still computing mergeability, a branch that moved):
 * the next event tries once more, and only a second refusal of the same head is explained.
 */
export function isTransient(kind: RefusalKind): boolean {
  return kind === "moved";
}

// --- Saying it once ------------------------------------------------------------------------------

/** On a PR GitHub refused to merge: Conveyor said why (in a comment carrying the marker below). */
export const MERGE_REFUSED_LABEL = "conveyor:merge-refused";

/** The marker of the comment that explains a refusal of one head commit. */
export const mergeRefusedMarker = (head: string) => `conveyor:merge-refused:${head}`;

/** Text from GitHub on one line, without anything that could open an HTML comment, clipped. */
function quoted(text: string, max = 300): string {
  const line = text
    .replace(/[\r\n\u2028\u2029\u0085\v\f]+/g, " ")
    .replace(/</g, "&lt;")
    .replace(/`/g, "'")
    .trim();
  const points = Array.from(line);
  return points.length > max ? `${points.slice(0, max).join("")}…` : line;
}

const HINTS: Record<RefusalKind, string> = {
  "method-not-allowed":
    "The repository does not allow that merge method: allow it in the repository's settings, or set `merge.method` in `.github/conveyor.yml` to one it allows.",
  "merge-queue":
    "The branch takes changes only through its merge queue: set `merge.queue: true` in `.github/conveyor.yml`, or add this pull request to the queue yourself.",
  "already-queued": "",
  clean: "",
  moved: "The pull request or its base branch changed after Conveyor checked it, or it has conflicts.",
  blocked:
    "Branch protection or a ruleset may ask for something Conveyor cannot give (a review, another check, a signed commit, a merge queue), or the pull request has conflicts.",
};

/** The comment that explains, once per head commit, why Conveyor did not merge a PR. */
export function mergeRefusedComment(input: {
  head: string;
  /** What Conveyor asked GitHub for ("squash-merge it", "enable auto-merge"); undefined: Conveyor itself declined. */
  action?: string;
  refusal: Refusal;
  kind: RefusalKind;
}): string {
  const status = input.refusal.status !== undefined ? ` (${input.refusal.status})` : "";
  const hint = HINTS[input.kind];
  const why =
    input.action === undefined
      ? `${input.refusal.message}.`
      : `GitHub refused to ${input.action}${status}: \`${quoted(input.refusal.message)}\``;
  return [
    `Conveyor did not merge this pull request: ${why}`,
    "",
    ...(hint ? [hint, ""] : []),
    `Conveyor will not try this commit (${input.head.slice(0, 12)}) again by itself. Merge it yourself once that is resolved, or remove the \`${MERGE_REFUSED_LABEL}\` label and comment \`/retry\` to have Conveyor try again. A newer commit on the branch is tried as usual.`,
    "",
    markerTag(mergeRefusedMarker(input.head)),
  ].join("\n");
}
