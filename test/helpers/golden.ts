// Golden files: a text Conveyor writes (a PR body, a comment, a check report) compared with the
// reviewed copy under test/fixtures/. A missing file fails: a test must never pass by writing the
// very text it is supposed to check. `UPDATE_GOLDEN=1 npx vitest run <test file>` (re)writes the
// files instead of comparing; read the diff before committing them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/** Whether this run rewrites golden files instead of comparing with them. */
export const updatingGolden = (): boolean => process.env.UPDATE_GOLDEN === "1";

/** Compares `actual` with the golden file (or writes the file, with UPDATE_GOLDEN=1). */
export function expectGolden(file: URL | string, actual: string): void {
  const path = typeof file === "string" ? file : fileURLToPath(file);
  const shown = relative(process.cwd(), path) || path;
  if (updatingGolden()) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path))
    throw new Error(
      `golden file ${shown} does not exist. Create it with \`UPDATE_GOLDEN=1 npx vitest run <this test file>\`, then review it and commit it.`,
    );
  expect(actual, `differs from golden file ${shown} (UPDATE_GOLDEN=1 rewrites it; review the diff)`).toBe(
    readFileSync(path, "utf8"),
  );
}

/** A checker for the golden files of one directory: `golden("new-pr.body.md", text)`. */
export function goldenFiles(dir: URL): (name: string, actual: string) => void {
  return (name, actual) => expectGolden(new URL(name, dir), actual);
}
