// Reads `.github/conveyor.yml`. On an event, an invalid file is reported in an issue (updated,
// never duplicated) and the event stops there; elsewhere (the verification loop, resuming, the
// render check) an invalid file just means "do nothing".
import { isUnparsableConfig } from "../adapters/github/config-file.js";
import type { GitHubRepo } from "../adapters/github/repo.js";
import { parseConfig, type Config, type ConfigProblem } from "../core/config.js";
import { CONFIG_LABEL, CONFIG_MARKER, configReport } from "../core/report-text.js";
import type { Log } from "./services.js";

export const CONFIG_FILE = "conveyor.yml";

/** The config, or undefined after reporting why it is invalid (1–2 calls, +2 when reporting). */
export async function loadConfig(gh: GitHubRepo, log: Log): Promise<Config | undefined> {
  let problems: ConfigProblem[];
  try {
    const result = parseConfig(await gh.readConfigFile(CONFIG_FILE));
    if (result.ok) return result.config;
    problems = result.problems;
  } catch (error) {
    if (!isUnparsableConfig(error)) throw error;
    problems = [{ path: "(file)", message: "not valid YAML" }];
  }
  log.warn({ repo: gh.fullName, problems }, "invalid .github/conveyor.yml; doing nothing for this repo");
  await gh.issues.upsert({ label: CONFIG_LABEL, marker: CONFIG_MARKER, ...configReport(problems) });
  return undefined;
}

/** The config, or undefined when it is invalid, without reporting (the event path does that). */
export async function readConfig(gh: GitHubRepo): Promise<Config | undefined> {
  try {
    const result = parseConfig(await gh.readConfigFile(CONFIG_FILE));
    return result.ok ? result.config : undefined;
  } catch (error) {
    if (isUnparsableConfig(error)) return undefined;
    throw error;
  }
}
