// Reads a repository's `.github/<file>` the way Probot's `context.config` does (the repository,
// then the organisation's `.github` repository; `_extends` followed): 1 call, 2 when the
// repository has none.
import type { Octokit, RepoRef } from "./client.js";

/** The parsed file, or null when neither place has one. YAML that cannot be parsed throws. */
export async function readConfigFile(octokit: Octokit, ref: RepoRef, file: string): Promise<unknown> {
  const { config, files } = await octokit.config.get({ ...ref, path: `.github/${file}` });
  if (files.every((f) => f.config === null)) return null;
  return config;
}

/** Probot's error for YAML it cannot parse: the user's problem to fix, not a crash. */
export function isUnparsableConfig(error: unknown): boolean {
  return /could not be parsed|invalid YAML|invalid JSON/i.test(String(error));
}
