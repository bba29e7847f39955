import type { Context } from "probot";
import { parseConfig, type Config, type ConfigProblem } from "../core/config.js";
import { CONFIG_LABEL, CONFIG_MARKER, configReport } from "../core/report-text.js";
import { ManifestsRepo } from "../adapters/github.js";

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
