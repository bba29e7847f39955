import type { Context } from "probot";
import { parseConfig, type Config, type ConfigProblem } from "../core/config.js";
import { CONFIG_LABEL, CONFIG_MARKER, configReport } from "../core/report-text.js";
import { ManifestsRepo, type Octokit, type RepoRef } from "../adapters/github.js";

export const CONFIG_FILE = "conveyor.yml";

/**
 * Reads `.github/conveyor.yml` (1 API call, 2 when the repo has none and Probot also looks in
 * the org's `.github` repo). An invalid file is reported in an issue and the event stops here.
 */
export async function loadConfig(context: Context, repo: ManifestsRepo): Promise<Config | undefined> {
  let problems: ConfigProblem[];
  try {
    const raw = await context.config(CONFIG_FILE);
    const result = parseConfig(raw);
    if (result.ok) return result.config;
    problems = result.problems;
  } catch (error) {
    // Probot throws on YAML it cannot parse; that is the user's problem to fix, not a crash.
    if (!/could not be parsed|invalid YAML|invalid JSON/i.test(String(error))) throw error;
    problems = [{ path: "(file)", message: "not valid YAML" }];
  }
  context.log.warn({ repo: repo.fullName, problems }, "invalid .github/conveyor.yml; doing nothing for this repo");
  const report = configReport(problems);
  await repo.upsertIssue({ label: CONFIG_LABEL, marker: CONFIG_MARKER, ...report });
  return undefined;
}

/**
 * Reads the config outside a webhook (the verification loop, resuming after a restart), with the
 * same file lookup as `context.config`. Returns undefined when the file is invalid: the event
 * path reports that; this one just does nothing.
 */
export async function readConfig(octokit: Octokit, ref: RepoRef): Promise<Config | undefined> {
  const { config } = await octokit.config.get({ ...ref, path: `.github/${CONFIG_FILE}` });
  const result = parseConfig(Object.keys(config).length ? config : null);
  return result.ok ? result.config : undefined;
}
