// What every GitHub adapter shares: the Octokit type, a repository reference, and how errors are
// read and described (always redacted: an error text may end up in a PR comment or a log).
import type { ProbotOctokit } from "probot";
import { redact, registerSecret } from "../redact.js";

export type Octokit = InstanceType<typeof ProbotOctokit>;

export interface RepoRef {
  owner: string;
  repo: string;
}

/** HTTP status of an Octokit error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "status" in error && typeof error.status === "number"
    ? error.status
    : undefined;
}

export function describeError(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

/**
 * The installation token behind an Octokit, for git over HTTP. It is registered with the
 * redactor, so it is scrubbed from any git error or log line it might reach.
 */
export async function installationToken(octokit: Octokit): Promise<string | undefined> {
  const auth = (await octokit.auth({ type: "installation" })) as { token?: string };
  registerSecret(auth.token);
  return auth.token;
}

/**
 * The web address of the GitHub server an Octokit talks to: https://github.com for
 * api.github.com, `https://host` for an Enterprise Server's `https://host/api/v3`.
 */
export function webUrlOf(octokit: Octokit): string {
  const base = ((octokit.request.endpoint.DEFAULTS as { baseUrl?: string }).baseUrl ?? "").replace(/\/+$/, "");
  if (base === "" || base === "https://api.github.com") return "https://github.com";
  if (base.endsWith("/api/v3")) return base.slice(0, -"/api/v3".length);
  try {
    const url = new URL(base);
    return url.hostname.startsWith("api.") ? `${url.protocol}//${url.host.slice(4)}` : url.origin;
  } catch {
    return "https://github.com";
  }
}
