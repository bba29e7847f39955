// The sandbox's supervisor, on a fake app: a tiny node script that follows a plan per start
// ("ready" stays up until told to exit, "hang" stays up and never gets ready, "exitN" exits with N
// at once), so crashes, restarts, back-off and requested stops can be watched without the real
// server.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Supervisor, type SupervisorEvent, type SupervisorOptions } from "../../sandbox/supervisor.js";

const FAKE_APP = `
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
const dir = process.env.FAKE_DIR;
const plan = process.env.FAKE_PLAN.split(",");
appendFileSync(join(dir, "starts"), process.pid + "\\n");
const n = readFileSync(join(dir, "starts"), "utf8").trim().split("\\n").length;
const step = plan[Math.min(n, plan.length) - 1];
if (step.startsWith("exit")) process.exit(Number(step.slice(4)));
process.on("SIGTERM", () => process.exit(3));
if (step === "ready") writeFileSync(join(dir, "ready-" + process.pid), "");
const order = join(dir, "exit-" + process.pid);
setInterval(() => {
  if (existsSync(order)) process.exit(Number(readFileSync(order, "utf8")));
}, 10);
`;

let root: string;
let script: string;
const supervisors: Supervisor[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "conveyor-supervisor-"));
  script = join(root, "fake-app.mjs");
  writeFileSync(script, FAKE_APP);
});

afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.close()));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

interface Fake {
  supervisor: Supervisor;
  events: SupervisorEvent[];
  lines: string[];
  /** Pids of every process started, in order. */
  starts(): number[];
  /** Tells a "ready" process to exit with `code`. */
  exit(pid: number, code: number): void;
}

let count = 0;
function fake(
  plan: string,
  options: Partial<SupervisorOptions> = {},
  onEvent?: (event: SupervisorEvent, supervisor: Supervisor) => void,
): Fake {
  const dir = join(root, `run-${++count}`);
  mkdirSync(dir);
  const events: SupervisorEvent[] = [];
  const lines: string[] = [];
  const supervisor = new Supervisor({
    name: "fake",
    command: process.execPath,
    args: [script],
    env: { PATH: process.env.PATH, FAKE_DIR: dir, FAKE_PLAN: plan },
    ready: (child) => existsSync(join(dir, `ready-${child.pid}`)),
    probeIntervalMs: 10,
    log: (line, event) => {
      lines.push(line);
      events.push(event);
      onEvent?.(event, supervisor);
    },
    ...options,
  });
  supervisors.push(supervisor);
  return {
    supervisor,
    events,
    lines,
    starts: () =>
      existsSync(join(dir, "starts"))
        ? readFileSync(join(dir, "starts"), "utf8").trim().split("\n").filter(Boolean).map(Number)
        : [],
    exit: (pid, code) => writeFileSync(join(dir, `exit-${pid}`), String(code)),
  };
}

/** Polls `check`; on timeout the error says what was seen (`seen`), so a stall can be told apart from slowness. */
async function until(check: () => boolean, what: string, timeoutMs = 30_000, seen?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${seen ? `; seen: ${seen()}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Supervisor", () => {
  it("restarts a process that exits with a non-zero code or on a signal, a second later, and it is ready again", async () => {
    // stableAfterMs 0: every crash here follows a ready process, so each is the first in a row.
    const f = fake("ready", { stableAfterMs: 0 });
    const first = await f.supervisor.start();
    expect(f.supervisor.pid).toBe(first);
    expect(f.supervisor.ready).toBe(true);

    f.exit(first, 1);
    const second = await f.supervisor.waitForReady({ otherThan: first });
    expect(second).not.toBe(first);
    expect(f.supervisor.pid).toBe(second);

    process.kill(second, "SIGKILL");
    const third = await f.supervisor.waitForReady({ otherThan: second });
    expect(f.starts()).toEqual([first, second, third]);
    expect(f.supervisor.restarts).toBe(2);
    expect(f.events).toEqual([
      { type: "restarting", pid: first, code: 1, signal: null, delayMs: 1000, crashes: 1 },
      { type: "ready", pid: second, restart: true },
      { type: "restarting", pid: second, code: null, signal: "SIGKILL", delayMs: 1000, crashes: 1 },
      { type: "ready", pid: third, restart: true },
    ]);
    expect(f.lines).toEqual([
      `fake (pid ${first}) exited with code 1; restarting it in 1 s`,
      `fake restarted (pid ${second}) and is ready`,
      `fake (pid ${second}) was killed by SIGKILL; restarting it in 1 s`,
      `fake restarted (pid ${third}) and is ready`,
    ]);
  });

  it("backs off when the process keeps crashing, doubling the delay up to a cap, and says so", async () => {
    const f = fake("ready,exit1", { restartDelayMs: 20, maxRestartDelayMs: 160, stableAfterMs: 1e9 });
    const first = await f.supervisor.start();
    f.exit(first, 1);
    const restarting = () => f.events.filter((e) => e.type === "restarting");
    // Six starts of node take about a second; a loaded CI machine gets a minute.
    await until(
      () => restarting().length >= 6,
      "six crashes",
      60_000,
      () => `events ${JSON.stringify(f.events)}, starts ${JSON.stringify(f.starts())}, pid ${f.supervisor.pid}`,
    );
    const delays = restarting()
      .slice(0, 6)
      .map((e) => (e.type === "restarting" ? [e.crashes, e.delayMs] : []));
    expect(delays).toEqual([
      [1, 20],
      [2, 40],
      [3, 80],
      [4, 160],
      [5, 160],
      [6, 160],
    ]);
    expect(f.lines[0]).toBe(`fake (pid ${first}) exited with code 1; restarting it in 20 ms`);
    expect(f.lines[1]).toMatch(
      /^fake \(pid \d+\) exited with code 1, 2 crashes in a row; backing off \(CrashLoopBackOff\): restarting it in 40 ms$/,
    );
    expect(f.events.some((e) => e.type === "ready" && e.restart)).toBe(false);

    await f.supervisor.close();
    const started = f.starts().length;
    await sleep(500); // longer than the longest delay: nothing may start after close()
    expect(f.starts().length).toBe(started);
    expect(f.supervisor.pid).toBeUndefined();
    await expect(f.supervisor.waitForReady()).rejects.toThrow(/closed/);
  });

  it("does not restart a process whose exit was asked for, and a later start() runs it again", async () => {
    const f = fake("ready", { restartDelayMs: 20 });
    const first = await f.supervisor.start();
    // The fake exits 3 on SIGTERM: a non-zero code, but asked for.
    expect(await f.supervisor.stop()).toBe(3);
    expect(f.supervisor.pid).toBeUndefined();
    const second = await f.supervisor.start();
    expect(await f.supervisor.stop("SIGKILL")).toBeNull();
    await sleep(300); // many restart delays
    expect(f.starts()).toEqual([first, second]);
    expect(f.supervisor.restarts).toBe(0);
    expect(f.events).toEqual([]);
  });

  it("a stop() while a restart is pending cancels the restart", async () => {
    let stopped: Promise<number | null> | undefined;
    // Stops the moment the restart is scheduled.
    const f = fake("ready", { restartDelayMs: 50 }, (event, supervisor) => {
      if (event.type === "restarting") stopped = supervisor.stop();
    });
    const first = await f.supervisor.start();
    f.exit(first, 1);
    await until(() => stopped !== undefined, "the restart to be scheduled");
    expect(await stopped).toBe(1);
    await sleep(300);
    expect(f.starts()).toEqual([first]);
    expect(f.supervisor.restarts).toBe(0);
  });

  it("does not restart a clean exit (code 0) and says so", async () => {
    const f = fake("ready", { restartDelayMs: 20 });
    const first = await f.supervisor.start();
    f.exit(first, 0);
    await until(() => f.events.length > 0, "the exit to be reported");
    expect(f.events).toEqual([{ type: "not-restarting", pid: first, code: 0, signal: null }]);
    expect(f.lines).toEqual([`fake (pid ${first}) exited with code 0 without being asked to; not restarting it`]);
    await sleep(300);
    expect(f.starts()).toEqual([first]);
  });

  it("reports a start that fails before it is ready to its caller, and does not retry it", async () => {
    const f = fake("exit1", { restartDelayMs: 20 });
    await expect(f.supervisor.start()).rejects.toThrow("fake exited with code 1 before it was ready");
    await sleep(300);
    expect(f.starts()).toHaveLength(1);
    expect(f.events).toEqual([]);
  });

  it("kills a process that is not ready in time, and rejects the start", async () => {
    const f = fake("hang", { restartDelayMs: 20 });
    await expect(f.supervisor.start(2_000)).rejects.toThrow("timed out after 2000 ms waiting for fake to be ready");
    const pid = f.starts()[0] as number;
    expect(f.supervisor.pid).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    await sleep(300);
    expect(f.starts()).toEqual([pid]);
    expect(f.events).toEqual([]);
  });
});
