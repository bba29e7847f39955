// Keeps one child process running the way a Kubernetes Deployment keeps a pod running: when it
// crashes (exits on a signal or with a non-zero code) it is started again after a second, and
// after repeated crashes the delay doubles up to a cap, as CrashLoopBackOff does. An exit that was
// asked for (stop(), close()) is never followed by a restart, and neither is a clean exit (code 0).
// Readiness is the caller's probe (for Conveyor, its /readyz).
import { spawn, type ChildProcess } from "node:child_process";

export interface SupervisorOptions {
  /** What the process is called in messages (default "the process"). */
  name?: string;
  command: string;
  args?: string[];
  cwd?: string;
  /** The environment, or a function giving it for each start. */
  env?: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv);
  /** "pipe" hands output to onOutput; "inherit" shares this process's stdout/stderr. */
  stdio?: "pipe" | "inherit";
  onOutput?: (text: string) => void;
  /** Readiness probe, polled from start until true or exit; a throw counts as not ready. */
  ready: (child: ChildProcess) => boolean | Promise<boolean>;
  /** How long start() waits for readiness (default 30 s). */
  readyTimeoutMs?: number;
  /** How often readiness is probed (default 50 ms). */
  probeIntervalMs?: number;
  /** Delay before the first restart after a crash (default 1 s); doubled per further crash in a row. */
  restartDelayMs?: number;
  /** The back-off's cap (default 30 s). */
  maxRestartDelayMs?: number;
  /** A process that was ready this long before it crashed resets the back-off (default 10 s). */
  stableAfterMs?: number;
  /** What the supervisor does, in a sentence, and as data. */
  log?: (line: string, event: SupervisorEvent) => void;
}

export type SupervisorEvent =
  | { type: "ready"; pid: number; restart: boolean }
  | { type: "restarting"; pid: number; code: number | null; signal: string | null; delayMs: number; crashes: number }
  | { type: "not-restarting"; pid: number; code: number | null; signal: string | null };

interface Run {
  child: ChildProcess;
  pid: number;
  /** Started by the supervisor after a crash, rather than by start(). */
  restart: boolean;
  readyAt?: number;
  exited: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stopRequested: boolean;
  exit: Promise<void>;
}

export class Supervisor {
  private readonly name: string;
  private current: Run | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Whether the process should be running: set by start(), cleared by stop() and close(). */
  private wanted = false;
  private closed = false;
  /** Crashes in a row (reset by a process that stayed ready for stableAfterMs). */
  private crashes = 0;
  private restartCount = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: SupervisorOptions) {
    this.name = options.name ?? "the process";
  }

  /** The current (or last) child process. */
  get child(): ChildProcess | undefined {
    return this.current?.child;
  }

  /** The id of the running process; undefined while it is down (e.g. waiting to be restarted). */
  get pid(): number | undefined {
    return this.current && !this.current.exited ? this.current.pid : undefined;
  }

  /** Restarts made after crashes so far. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Whether a process is running and has passed its readiness probe. */
  get ready(): boolean {
    return !!this.current && !this.current.exited && this.current.readyAt !== undefined;
  }

  /**
   * Starts the process unless one is running (a pending restart happens now), and resolves with its
   * pid once it is ready. If a process this call started exits before it is ready, the call
   * rejects and the process is not restarted: a start that fails is its caller's to handle. One
   * not ready within `timeoutMs` is killed.
   */
  async start(timeoutMs = this.options.readyTimeoutMs ?? 30_000): Promise<number> {
    if (this.closed) throw new Error(`${this.name}: the supervisor is closed`);
    this.wanted = true;
    let run = this.current;
    if (!run || run.exited) {
      this.cancelRestart();
      this.crashes = 0;
      run = this.spawn(false);
    }
    const started = run;
    try {
      await this.until(() => started.readyAt !== undefined || started.exited, timeoutMs, `${this.name} to be ready`);
    } catch (error) {
      // Nothing is left running behind a failed start.
      if (this.current === started) await this.stop("SIGKILL");
      throw error;
    }
    if (started.readyAt === undefined) throw new Error(`${this.name} ${describeExit(started)} before it was ready`);
    return started.pid;
  }

  /**
   * Asks the process to exit (SIGTERM unless told otherwise) and resolves with its exit code once
   * it has; it is not restarted, and a pending restart is cancelled.
   */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    this.wanted = false;
    this.cancelRestart();
    const run = this.current;
    if (!run) return null;
    if (!run.exited) {
      run.stopRequested = true;
      run.child.kill(signal);
      await run.exit;
    }
    return run.code;
  }

  /**
   * Resolves with the pid of a running, ready process other than `otherThan` (e.g. the one just
   * killed): the next ready one after a restart.
   */
  async waitForReady(options: { otherThan?: number; timeoutMs?: number } = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const ok = () => this.ready && this.current?.pid !== options.otherThan;
    await this.until(
      ok,
      timeoutMs,
      `${this.name} to be ready${options.otherThan ? ` again (after pid ${options.otherThan})` : ""}`,
    );
    return (this.current as Run).pid;
  }

  /** Stops supervising: no more restarts, and the process is killed (SIGKILL). */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop("SIGKILL");
    this.notify();
  }

  private spawn(restart: boolean): Run {
    const env = this.options.env;
    const child = spawn(this.options.command, this.options.args ?? [], {
      cwd: this.options.cwd,
      env: typeof env === "function" ? env() : env,
      stdio: this.options.stdio === "inherit" ? "inherit" : "pipe",
    });
    const run: Run = {
      child,
      pid: child.pid ?? -1,
      restart,
      exited: false,
      code: null,
      signal: null,
      stopRequested: false,
      exit: Promise.resolve(),
    };
    run.exit = new Promise<void>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (run.exited) return;
        run.exited = true;
        run.code = code;
        run.signal = signal;
        this.exited(run);
        resolve();
      };
      child.once("exit", finish);
      // A process that could not be started at all emits no "exit".
      child.on("error", () => {
        if (child.pid === undefined) finish(127, null);
      });
    });
    const output = (chunk: Buffer) => this.options.onOutput?.(chunk.toString());
    child.stdout?.on("data", output);
    child.stderr?.on("data", output);
    this.current = run;
    void this.probe(run);
    return run;
  }

  private async probe(run: Run): Promise<void> {
    const interval = this.options.probeIntervalMs ?? 50;
    while (!run.exited && !this.closed) {
      let ok = false;
      try {
        ok = await this.options.ready(run.child);
      } catch {
        ok = false;
      }
      if (ok && !run.exited) {
        run.readyAt = Date.now();
        if (run.restart)
          this.say(`${this.name} restarted (pid ${run.pid}) and is ready`, {
            type: "ready",
            pid: run.pid,
            restart: true,
          });
        this.notify();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }

  private exited(run: Run): void {
    this.notify();
    if (this.current !== run || this.closed || !this.wanted || run.stopRequested) return;
    const { pid, code, signal } = run;
    if (code === 0) {
      this.wanted = false;
      this.say(`${this.name} (pid ${pid}) ${describeExit(run)} without being asked to; not restarting it`, {
        type: "not-restarting",
        pid,
        code,
        signal,
      });
      return;
    }
    // A failed start() is reported to its caller instead.
    if (!run.restart && run.readyAt === undefined) {
      this.wanted = false;
      return;
    }
    const stableAfterMs = this.options.stableAfterMs ?? 10_000;
    if (run.readyAt !== undefined && Date.now() - run.readyAt >= stableAfterMs) this.crashes = 0;
    this.crashes += 1;
    const base = this.options.restartDelayMs ?? 1_000;
    const cap = this.options.maxRestartDelayMs ?? 30_000;
    const delayMs = Math.min(base * 2 ** (this.crashes - 1), cap);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || !this.wanted) return;
      this.restartCount += 1;
      this.spawn(true);
      this.notify();
    }, delayMs);
    const when = `restarting it in ${formatDelay(delayMs)}`;
    this.say(
      this.crashes === 1
        ? `${this.name} (pid ${pid}) ${describeExit(run)}; ${when}`
        : `${this.name} (pid ${pid}) ${describeExit(run)}, ${this.crashes} crashes in a row; backing off (CrashLoopBackOff): ${when}`,
      { type: "restarting", pid, code, signal, delayMs, crashes: this.crashes },
    );
  }

  private cancelRestart(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private say(line: string, event: SupervisorEvent): void {
    this.options.log?.(line, event);
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Waits, without polling, until `done()` holds after some change of state. */
  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.closed) throw new Error(`the supervisor was closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }
}

function describeExit(run: Run): string {
  return run.signal ? `was killed by ${run.signal}` : `exited with code ${run.code}`;
}

function formatDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
