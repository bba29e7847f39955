// Parsing `.github/conveyor.yml` contents in tests: a valid config, or the problem at a key path.
import { expect } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";

export function validConfig(raw: unknown): Config {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

/** The config is refused, with a problem at `path` whose message contains `words`. */
export function expectConfigProblem(raw: unknown, path: string, words: string): void {
  const result = parseConfig(raw);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  const problem = result.problems.find((p) => p.path === path);
  expect(problem, JSON.stringify(result.problems)).toBeDefined();
  expect(problem?.message).toContain(words);
}
