// Words Conveyor writes into git and GitHub: branch names, commit messages, PR titles and bodies.
// Pure functions, so golden files can pin them down.
import { nextEnvironment, type Config } from "./config.js";
import type { DispatchSource } from "./dispatch.js";
import { quote } from "./names.js";

export interface ImageMove {
  service: string;
  env: string;
  /** What the environment runs now (undefined when the overlay had no entry for it). */
  from: string | undefined;
  to: string;
  file: string;
  source: DispatchSource;
}

export const LABEL = "conveyor";
export const REVERT_LABEL = "conveyor:revert";
export const HOLD_LABEL = "conveyor:hold";
export const FREEZE_LABEL = "conveyor:freeze";
/** On a Conveyor PR someone else changed: it is never merged automatically (until /retry). */
export const UNTRUSTED_LABEL = "conveyor:untrusted";
export const envLabel = (env: string) => `env/${env}`;

/** One bot branch per (service, environment); deterministic, so redeliveries and replicas agree. */
export function branchFor(env: string, service: string): string {
  return `conveyor/${env}/${service}`;
}

/** One revert branch per (service, environment): a second failure reuses it, never duplicates it. */
export function revertBranchFor(env: string, service: string): string {
  return `conveyor/revert/${env}/${service}`;
}

/** Reads one of Conveyor's branch names back; undefined for any other branch. */
export function parseBranch(branch: string): { kind: "deploy" | "revert"; env: string; service: string } | undefined {
  const match = /^conveyor\/(revert\/)?([a-z0-9][a-z0-9._-]*)\/([a-z0-9][a-z0-9._-]*)$/.exec(branch);
  return match
    ? { kind: match[1] ? "revert" : "deploy", env: match[2] as string, service: match[3] as string }
    : undefined;
}

/**
 * Where a deploy came from, for a PR body or an issue. `web` is the web address of the GitHub
 * server Conveyor talks to (github.com or an Enterprise Server): links point there, and without
 * it nothing is linked.
 */
export function describeSource(source: DispatchSource, web?: string): string {
  if (!source.repository && !source.sha && !source.runUrl && !source.digest)
    return "a deploy event with no source details";
  const link = (text: string, path: string) => (web ? `[${text}](${web}/${path})` : text);
  const parts: string[] = [];
  if (source.repository) {
    const repo = link(source.repository, source.repository);
    parts.push(
      source.sha
        ? `${repo} at ${link(`\`${source.sha.slice(0, 12)}\``, `${source.repository}/commit/${source.sha}`)}`
        : repo,
    );
  } else if (source.sha) {
    parts.push(`commit \`${source.sha.slice(0, 12)}\``);
  }
  // A link only to the GitHub server itself: anyone who can dispatch chooses this URL.
  if (source.runUrl)
    parts.push(
      web && source.runUrl.startsWith(`${web}/`) ? `[CI run](${source.runUrl})` : `CI run ${quote(source.runUrl, 200)}`,
    );
  if (source.digest) parts.push(`digest \`${source.digest.slice(0, 19)}…\``);
  return parts.join(", ");
}

/**
 * A blue-green slot PR's body with what a deploy PR says of its image: where it came from and,
 * when known, the changelog; placed after the table and file, before what happens next.
 */
export function withSourceLines(
  body: string,
  source: DispatchSource,
  options: { web?: string; changelog?: string } = {},
): string {
  const lines = [
    `Requested by: ${describeSource(source, options.web)}`,
    ...(options.changelog ? ["", options.changelog] : []),
  ].join("\n");
  const at = body.indexOf("\n\n### What happens next");
  return at === -1 ? `${body}\n\n${lines}` : `${body.slice(0, at)}\n${lines}${body.slice(at)}`;
}

export interface PrTextOptions {
  /** Lines for the body that say why this change is safe (e.g. where it was verified). */
  evidence?: string[];
  /** The GitHub server's web address, for links (see describeSource). */
  web?: string;
  /** The changelog section (core/changelog.ts), when one was made. */
  changelog?: string;
}

export function deployPrText(
  move: ImageMove,
  config: Config,
  options: PrTextOptions = {},
): { commitMessage: string; title: string; body: string; labels: string[] } {
  const evidence = options.evidence ?? [];
  const env = config.environments.find((e) => e.name === move.env);
  const next = nextEnvironment(config, move.env);
  const tagOrDigest = move.to.slice(move.to.lastIndexOf("/") + 1);
  const title = `Deploy ${move.service} ${tagOrDigest.slice(tagOrDigest.search(/[:@]/) + 1)} to ${move.env}`;

  const sourceLines = [
    move.source.repository
      ? `Source: ${move.source.repository}${move.source.sha ? `@${move.source.sha}` : ""}`
      : undefined,
    move.source.runUrl ? `Run: ${move.source.runUrl}` : undefined,
    move.source.digest ? `Digest: ${move.source.digest}` : undefined,
  ].filter((line): line is string => line !== undefined);
  const commitMessage = [
    `deploy(${move.service}/${move.env}): ${move.from ?? "(none)"} -> ${move.to}`,
    ...(sourceLines.length ? ["", ...sourceLines] : []),
  ].join("\n");

  const after = [
    env?.autoMerge
      ? `Conveyor merges this PR automatically once its checks pass (${move.env} auto-merges).`
      : `A reviewer merges this PR${env?.approvers.length ? ` (approvers: ${env.approvers.join(", ")})` : ""}.`,
    `After the merge Conveyor watches Argo CD until ${move.env} runs the new image synced and healthy${env ? ` for ${formatDuration(env.soak)}` : ""}.`,
    next
      ? `Then it opens the promotion PR to **${next.name}**; if the rollout fails it opens a revert PR instead.`
      : `${move.env} is the last environment; if the rollout fails Conveyor opens a revert PR.`,
  ];

  const body = [
    `Conveyor deploys **${move.service}** to **${move.env}**.`,
    "",
    "| | image |",
    "|---|---|",
    `| before | ${move.from ? `\`${move.from}\`` : "_(no entry)_"} |`,
    `| after | \`${move.to}\` |`,
    "",
    `File: \`${move.file}\``,
    `Requested by: ${describeSource(move.source, options.web)}`,
    ...(options.changelog ? ["", options.changelog] : []),
    ...(evidence.length ? ["", "### Evidence", ...evidence.map((line) => `- ${line}`)] : []),
    "",
    "### What happens next",
    ...after.map((line) => `- ${line}`),
    "",
    "Comment `/hold` to stop automation on this PR, `/help` for all commands.",
  ].join("\n");

  return { commitMessage, title, body, labels: [LABEL, envLabel(move.env)] };
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
