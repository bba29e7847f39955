// "What is in this promotion?" Between the commit an environment runs now and the one a PR brings,
// the source repository's commits, as GitHub's compare lists them. Decisions and text only: the
// flow asks GitHub (flows/source-history.ts) and hands the answers in. Where a side has no source
// the text says so and never invents a range.
import type { DispatchSource } from "./source.js";

/** At most this many commits are listed; the rest are counted and linked. */
export const CHANGELOG_LIMIT = 50;

export interface ChangelogCommit {
  sha: string;
  /** The first line of the message. */
  subject: string;
  /** The author's GitHub login, else the git author's name. */
  author?: string;
  /** The merged PR the commit came from, when GitHub knows one. */
  pr?: { number: number; title: string };
}

/** GitHub's compare of base...head in the source repository. */
export interface Comparison {
  status: "ahead" | "behind" | "identical" | "diverged";
  aheadBy: number;
  behindBy: number;
  /** Commits from the merge base to head, oldest first, as GitHub lists them (possibly fewer than aheadBy). */
  commits: ChangelogCommit[];
}

/** What can be compared: both sides have a commit of the same repository. */
export type Range = { kind: "range"; repository: string; base: string; head: string } | { kind: "none"; why: string };

/**
 * Whether a commit range exists between the image an environment runs and the one a PR brings.
 * `from` is the image there now (undefined: none), with its recorded source when Conveyor has one.
 */
export function rangeOf(input: {
  env: string;
  from: string | undefined;
  fromSource: DispatchSource | undefined;
  to: string;
  toSource: DispatchSource;
}): Range {
  const { from, fromSource, toSource } = input;
  if (from === undefined) return { kind: "none", why: `nothing ran in ${input.env} before: no earlier commit` };
  if (!toSource.repository || !toSource.sha)
    return {
      kind: "none",
      why: `Conveyor has no source commit for \`${shortImage(input.to)}\` (the deploy event named none)`,
    };
  if (!fromSource?.repository || !fromSource.sha)
    return {
      kind: "none",
      why: `Conveyor has no source commit for \`${shortImage(from)}\`, which ${input.env} runs now (set by hand, or deployed before sources were recorded)`,
    };
  if (fromSource.repository.toLowerCase() !== toSource.repository.toLowerCase())
    return {
      kind: "none",
      why: `the images were built from different repositories (${fromSource.repository} and ${toSource.repository})`,
    };
  return { kind: "range", repository: toSource.repository, base: fromSource.sha, head: toSource.sha };
}

/**
 * An image whose commit is behind the deployed one is refused like an older semver; diverged
 * histories (a hotfix branch) are not. Undefined when the order allows the change.
 */
export function behindReason(input: {
  image: string;
  source: DispatchSource;
  current: string;
  currentSource: DispatchSource;
  where: string;
  comparison: Comparison;
}): string | undefined {
  const { comparison } = input;
  if (comparison.status !== "behind") return undefined;
  const n = comparison.behindBy;
  return `${input.image} was built from ${input.source.repository}@${input.source.sha?.slice(0, 12)}, which is behind by ${n} commit${n === 1 ? "" : "s"} the commit of ${input.current} in ${input.where} (${input.currentSource.sha?.slice(0, 12)}); an older build never replaces a newer one (send a rollback instead)`;
}

export type History = { kind: "compared"; comparison: Comparison } | { kind: "unavailable"; reason: string };

/** The "### Changes" section of a PR body. `web` is the GitHub server's web address. */
export function changelogSection(input: {
  env: string;
  from: string | undefined;
  to: string;
  range: Range;
  history?: History;
  web: string;
}): string {
  const { range, web } = input;
  const heading = "### Changes";
  if (range.kind === "none") {
    const tags = input.from
      ? `\`${shortImage(input.from)}\` → \`${shortImage(input.to)}\``
      : `\`${shortImage(input.to)}\``;
    return [heading, `No commit list: ${range.why}.`, `Images: ${tags}.`].join("\n");
  }
  const repo = range.repository;
  const commitLink = (sha: string) => `[\`${sha.slice(0, 7)}\`](${web}/${repo}/commit/${sha})`;
  const compare = `${web}/${repo}/compare/${range.base}...${range.head}`;
  const span = `${repo} ${commitLink(range.base)} → ${commitLink(range.head)}`;
  if (!input.history || input.history.kind === "unavailable") {
    const why = input.history?.kind === "unavailable" ? input.history.reason : "it was not read";
    return [heading, `${span}: the changelog is unavailable: ${why}.`].join("\n");
  }
  const { comparison } = input.history;
  const lines = [heading];
  if (comparison.status === "identical") {
    lines.push(`${span}: the same commit; the image was rebuilt, no commits in between.`);
    return lines.join("\n");
  }
  const n = comparison.aheadBy;
  const count = `${n} commit${n === 1 ? "" : "s"}`;
  if (comparison.status === "diverged") {
    lines.push(
      `${span}: **diverged** histories (a hotfix branch?): the new commit is ${count} ahead and ${comparison.behindBy} behind what ${input.env} runs. Listed: the ${count} since their common ancestor ([compare](${compare})).`,
    );
  } else if (comparison.status === "behind") {
    lines.push(`${span}: the new commit is **behind** by ${comparison.behindBy} ([compare](${compare})).`);
    return lines.join("\n");
  } else {
    lines.push(`${span}: ${count} ([compare](${compare})).`);
  }
  lines.push("");
  const newestFirst = [...comparison.commits].reverse();
  const shown = newestFirst.slice(0, CHANGELOG_LIMIT);
  for (const c of shown) {
    const by = c.author ? ` (${plain(c.author, 40)})` : "";
    const pr = c.pr ? ` — [#${c.pr.number}](${web}/${repo}/pull/${c.pr.number}) ${plain(c.pr.title, 100)}` : "";
    lines.push(`- ${commitLink(c.sha)} ${plain(c.subject, 100)}${by}${pr}`);
  }
  const more = Math.max(n, comparison.commits.length) - shown.length;
  if (more > 0) lines.push(`- and ${more} more: [compare](${compare})`);
  return lines.join("\n");
}

/**
 * Text from the source repository (commit subjects, PR titles, names) as plain Markdown on one
 * line: no markup, no HTML, no @mention that would notify someone and no #123 that would link an
 * issue of the manifests repository.
 */
export function plain(text: string, max: number): string {
  const line = text.split(/\r?\n|\r|\u2028|\u2029/)[0] ?? "";
  const points = Array.from(line, (c) => (c < " " || c === "\u007f" ? " " : c))
    .join("")
    .trim();
  const chars = Array.from(points);
  const clipped = chars.length > max ? `${chars.slice(0, max).join("")}…` : points;
  return clipped
    .replace(/[\\`*_{}[\]<>|~!]/g, "\\$&")
    .replace(/@/g, "@\u200b")
    .replace(/#(?=\d)/g, "#\u200b")
    .replace(/:\/\//g, ":\u200b//");
}

function shortImage(image: string): string {
  return image.slice(image.lastIndexOf("/") + 1);
}
