import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most test time is spent waiting on git, HTTP and child processes, not CPU: run a few files
    // at once even on two cores.
    maxWorkers: 3,
  },
});
