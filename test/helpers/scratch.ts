// A scratch directory per test file, and clean-ups run after each test (last registered, first
// run): for tests that start simulators and servers in temporary repositories.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";

export interface Scratch {
  /** A new directory name under the file's scratch directory (not created). */
  next(label?: string): string;
  /** Runs after the current test. */
  defer(cleanup: () => Promise<void>): void;
}

export function useScratch(prefix: string): Scratch {
  let root = "";
  let n = 0;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), `${prefix}-`));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  return {
    next: (label = "case") => join(root, `${label}-${++n}`),
    defer: (cleanup) => void cleanups.push(cleanup),
  };
}
