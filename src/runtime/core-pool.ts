// A small pool of worker threads for the pure core decisions that parse YAML a pull request or a
// push controls (core-worker.ts lists them). The `yaml` package parses synchronously: on the main
// thread a large or hostile text would stall every webhook, the verification loop and /readyz
// for as long as it takes. Here it only occupies a worker, for at most a timeout, after which the
// worker is stopped and replaced.
//
// Workers start when a job first needs one, and an idle worker never keeps the process alive: it
// is referenced only while it starts or runs a job (so `await pool.run(...)` in a script still
// finishes). Each worker runs one job at a time; jobs wait in order for a free one.
import { Worker, type WorkerOptions } from "node:worker_threads";
import type { CoreJobs, JobRequest, WorkerMessage } from "./core-worker.js";

export type CoreJobName = keyof CoreJobs;
export type CoreJobInput<N extends CoreJobName> = Parameters<CoreJobs[N]>[0];
export type CoreJobResult<N extends CoreJobName> = ReturnType<CoreJobs[N]>;

export interface CorePoolOptions {
  /** Worker threads, 1 or 2 (default 2); each is started only when a job needs it. */
  size?: number;
  /** How long one job may run before its worker is stopped and the job rejected (default 60 s). */
  timeoutMs?: number;
  /** How long a worker may take to load before what waits for it is rejected (default 30 s). */
  startTimeoutMs?: number;
  /** Heap limit of each worker in MiB: a job that needs more ends its worker, not the process. */
  maxHeapMb?: number;
}

interface Queued {
  id: number;
  name: CoreJobName;
  input: unknown;
  timeoutMs: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Loaded and answering. */
  ready: boolean;
  /** Stopped or dead: out of the pool. */
  gone: boolean;
  job?: Queued & { timer: NodeJS.Timeout };
  startTimer?: NodeJS.Timeout;
}

export class CorePool {
  private readonly size: number;
  private readonly timeoutMs: number;
  private readonly startTimeoutMs: number;
  private readonly maxHeapMb: number | undefined;
  private readonly slots: Slot[] = [];
  private readonly queue: Queued[] = [];
  private nextId = 1;
  private stopped = false;

  constructor(options: CorePoolOptions = {}) {
    this.size = Math.min(2, Math.max(1, Math.floor(options.size ?? 2)));
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.maxHeapMb = options.maxHeapMb;
  }

  /** Worker threads started and not stopped (none before the first job). */
  get threads(): number {
    return this.slots.length;
  }

  /**
   * Runs a core function in a worker thread. Its input and result are copied (structured clone):
   * plain data, arrays and Maps, never functions. Rejects with the job's own error when it throws,
   * and with a timeout error (its worker stopped and replaced) when it runs too long.
   */
  run<N extends CoreJobName>(
    name: N,
    input: CoreJobInput<N>,
    options: { timeoutMs?: number } = {},
  ): Promise<CoreJobResult<N>> {
    if (this.stopped) return Promise.reject(new Error(`the core pool is stopped: ${name} was not run`));
    return new Promise((resolve, reject) => {
      this.queue.push({
        id: this.nextId++,
        name,
        input,
        timeoutMs: options.timeoutMs ?? this.timeoutMs,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.pump();
    });
  }

  /** Stops every worker; jobs still waiting or running are rejected. */
  async stop(): Promise<void> {
    this.stopped = true;
    const reason = new Error("the core pool stopped");
    for (const job of this.queue.splice(0)) job.reject(reason);
    await Promise.all([...this.slots].map((slot) => this.retire(slot, reason)));
  }

  /** Hands waiting jobs to idle workers, and starts workers (up to the size) for the rest. */
  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) break;
      if (slot.ready && !slot.job) this.dispatch(slot, this.queue.shift() as Queued);
    }
    const starting = this.slots.filter((s) => !s.ready).length;
    try {
      for (let unserved = this.queue.length - starting; unserved > 0 && this.slots.length < this.size; unserved--)
        this.spawn();
    } catch (error) {
      // No worker can be made (tsx missing, a bad file): what waits for one fails now.
      const reason = new Error(`the core worker thread could not be started: ${String(error)}`);
      for (const job of this.queue.splice(0)) job.reject(reason);
    }
  }

  private spawn(): void {
    const entry = workerEntry();
    const worker = new Worker(entry.script, {
      ...entry.options,
      workerData: { conveyorCoreWorker: true },
      resourceLimits: this.maxHeapMb ? { maxOldGenerationSizeMb: this.maxHeapMb } : undefined,
    });
    const slot: Slot = { worker, ready: false, gone: false };
    slot.startTimer = setTimeout(
      () => void this.retire(slot, new Error(`the core worker thread did not start within ${this.startTimeoutMs} ms`)),
      this.startTimeoutMs,
    );
    slot.startTimer.unref();
    worker.on("message", (message: WorkerMessage) => this.receive(slot, message));
    worker.on("error", (error) => void this.retire(slot, new Error(`the core worker thread failed: ${error.message}`)));
    worker.on("exit", (code) => void this.retire(slot, new Error(`the core worker thread exited (code ${code})`)));
    this.slots.push(slot);
  }

  private dispatch(slot: Slot, job: Queued): void {
    const timer = setTimeout(() => {
      void this.retire(
        slot,
        new Error(`core job ${job.name} did not finish within ${job.timeoutMs} ms; its worker thread was stopped`),
      );
    }, job.timeoutMs);
    slot.job = { ...job, timer };
    slot.worker.ref();
    try {
      slot.worker.postMessage({ id: job.id, name: job.name, input: job.input } satisfies JobRequest);
    } catch (error) {
      // The input could not be copied (a function, a class instance with private state...).
      clearTimeout(timer);
      slot.job = undefined;
      slot.worker.unref();
      job.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private receive(slot: Slot, message: WorkerMessage): void {
    if (slot.gone) return;
    if (message.kind === "ready") {
      clearTimeout(slot.startTimer);
      slot.ready = true;
    } else {
      const job = slot.job;
      if (!job || job.id !== message.id) return;
      clearTimeout(job.timer);
      slot.job = undefined;
      if (message.kind === "done") job.resolve(message.value);
      else job.reject(jobError(message.error));
    }
    this.pump();
    if (!slot.job) slot.worker.unref();
  }

  /** Takes a worker out of the pool (dead, too slow, or stopping) and fails what it was doing. */
  private async retire(slot: Slot, reason: Error): Promise<void> {
    if (slot.gone) return;
    slot.gone = true;
    clearTimeout(slot.startTimer);
    this.slots.splice(this.slots.indexOf(slot), 1);
    if (slot.job) {
      clearTimeout(slot.job.timer);
      slot.job.reject(reason);
      slot.job = undefined;
    } else if (!slot.ready) {
      // A worker that could not start will not start next time either: fail what waits for it.
      for (const job of this.queue.splice(0)) job.reject(reason);
    }
    const stopped = slot.worker.terminate();
    if (!this.stopped) this.pump();
    await stopped.catch(() => undefined);
  }
}

/** The job's own error, as the worker reported it. */
function jobError(reported: { name: string; message: string; stack?: string }): Error {
  const error = new Error(reported.message);
  error.name = reported.name;
  if (reported.stack) error.stack = reported.stack;
  return error;
}

/**
 * Where the worker comes from. Built (`npm run build`), this file is dist/runtime/core-pool.js and
 * the worker the compiled core-worker.js beside it. From source (tsx: `npm start`, the sandbox;
 * vitest), the worker is core-worker.ts, which Node cannot load by itself: tsx is registered in
 * the worker first. `execArgv: ["--import", "tsx"]` does not do it on Node 20: tsx's loader
 * registers its hooks in the main thread only there (in workers only from Node 22.22.3 and
 * 24.11.1), so the worker calls tsx's register() itself.
 */
function workerEntry(): { script: string | URL; options: WorkerOptions } {
  const self = new URL(import.meta.url);
  if (!self.pathname.endsWith(".ts")) return { script: new URL("./core-worker.js", self), options: {} };
  const worker = new URL("./core-worker.ts", self).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  return {
    script: `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`,
    options: { eval: true, execArgv: [] },
  };
}
