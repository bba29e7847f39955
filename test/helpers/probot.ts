import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Probot, ProbotOctokit } from "probot";
import { pino } from "pino";
import { Writable } from "node:stream";
import { createConveyor, type ConveyorHandle, type ConveyorOptions } from "../../src/app.js";
import type { Services } from "../../src/flows/services.js";
import { Signer } from "../../src/adapters/signing.js";
import { CorePool } from "../../src/runtime/core-pool.js";

/** The key state markers are signed with in tests that run the app in-process. */
export const TEST_MARKER_KEY = "test-marker-key";

/**
 * Probot's Octokit with retries and throttling really off. A function, because Probot hands every
 * instance its own throttle options, which an object default would not override.
 */
export const UnthrottledOctokit = ProbotOctokit.defaults(
  (options: Record<string, unknown> & { throttle?: Record<string, unknown> }) => ({
    ...options,
    retry: { enabled: false },
    throttle: { ...options.throttle, enabled: false },
  }),
);

let key: string | undefined;
export function testPrivateKey(): string {
  key ??= generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs1", format: "pem" })
    .toString();
  return key;
}

export interface TestApp {
  probot: Probot;
  logs: Array<Record<string, unknown>>;
  workspaceDir: string;
  /** The app's long-lived parts (workspaces, queue, renderer...). */
  services: Services;
  /** Waits for work the app does after answering a webhook (deploy events, render checks). */
  settled(): Promise<void>;
}

/** One core pool for every app of a test file: its idle workers never keep the process alive. */
const cpu = new CorePool();

/** Conveyor inside Probot, with retries and throttling off so tests see every call once. */
export function createTestApp(options: Omit<ConveyorOptions, "workspaceDir"> = {}): TestApp {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean))
        logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const probot = new Probot({
    appId: 1,
    privateKey: testPrivateKey(),
    log: pino({ level: "debug" }, sink),
    Octokit: UnthrottledOctokit,
  });
  const workspaceDir = mkdtempSync(join(tmpdir(), "conveyor-ws-"));
  let handle: ConveyorHandle | undefined;
  // Probot loads the app as soon as it can; the handle is there before the first event.
  void probot.load(
    createConveyor(
      {
        signer: new Signer(TEST_MARKER_KEY),
        botLogin: "conveyor[bot]",
        cpu,
        // No timer of one test may fire in the next: tests about retries ask for them.
        retryDelaysMs: [],
        ...options,
        workspaceDir,
      },
      (h) => (handle = h),
    ),
  );
  const loaded = () => {
    if (!handle) throw new Error("Conveyor has not handed back its services yet");
    return handle;
  };
  return {
    probot,
    logs,
    workspaceDir,
    get services() {
      return loaded().services;
    },
    settled: async () => void (await handle?.services.background.idle()),
  };
}
