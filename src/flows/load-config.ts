// Reads `.github/conveyor.yml`. On an event, an invalid file is reported in an issue (updated,
// never duplicated) and the event stops there; elsewhere (the verification loop, resuming, the
// render check) an invalid file just means "do nothing".
import { configFileProblem } from "../adapters/github/config-file.js";
import type { GitHubRepo } from "../adapters/github/repo.js";
import { parseConfig, type Config, type ConfigProblem, type ConfigResult } from "../core/config.js";
import { deepFreeze } from "../core/deep-freeze.js";
import { CONFIG_LABEL, CONFIG_MARKER, configReport } from "../core/report-text.js";
import type { Log } from "./services.js";

export const CONFIG_FILE = "conveyor.yml";

/** Validated configs by the file's content: every event reads the file, and it rarely changes. */
const validated = new Map<string, ConfigResult>();
const VALIDATED_KEPT = 32;
const VALIDATED_MAX_CHARS = 64 * 1024;

/**
 * parseConfig, once per content: the same file's result is shared, frozen so that no reader can
 * change what the next event sees.
 */
function validate(raw: unknown): ConfigResult {
  const key = JSON.stringify(raw ?? null);
  const kept = validated.get(key);
  if (kept) return kept;
  const result = deepFreeze(parseConfig(raw));
  if (key.length > VALIDATED_MAX_CHARS) return result;
  if (validated.size >= VALIDATED_KEPT) validated.delete(validated.keys().next().value as string);
  validated.set(key, result);
  return result;
}

/** The config, or undefined after reporting why it is invalid (1–2 calls, +2 when reporting). */
export async function loadConfig(gh: GitHubRepo, log: Log): Promise<Config | undefined> {
  let problems: ConfigProblem[];
  try {
    const result = validate(await gh.readConfigFile(CONFIG_FILE));
    if (result.ok) return result.config;
    problems = result.problems;
  } catch (error) {
    const problem = configFileProblem(error);
    if (problem === undefined) throw error;
    problems = [{ path: "(file)", message: problem }];
  }
  log.warn({ repo: gh.fullName, problems }, "invalid .github/conveyor.yml; doing nothing for this repo");
  await gh.issues.upsert({ label: CONFIG_LABEL, marker: CONFIG_MARKER, ...configReport(problems) });
  return undefined;
}

/** The config, or undefined when it is invalid, without reporting (the event path does that). */
export async function readConfig(gh: GitHubRepo): Promise<Config | undefined> {
  try {
    const result = validate(await gh.readConfigFile(CONFIG_FILE));
    return result.ok ? result.config : undefined;
  } catch (error) {
    if (configFileProblem(error) !== undefined) return undefined;
    throw error;
  }
}
