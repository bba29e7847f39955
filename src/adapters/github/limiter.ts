// The job limiter Octokit's throttling plugin queues every request through, for one process.
// The plugin uses Bottleneck, which costs more CPU per request than the request's own work in a
// burst: promise chains, a timer per job, an event for each step. This stand-in keeps what the
// plugin relies on and nothing else:
// - jobs start in priority order (0 first, 5 by default), then in the order scheduled;
// - at most `maxConcurrent` run at once; a job of weight 0 (a retry) takes no place;
// - at least `minTime` ms between two starts, whatever their weight;
// - a job that fails is offered to the "failed" listeners; one that answers a number has the job
//   run again after that many ms, its retryCount one higher; otherwise the job fails;
// - Group.key(k) is the limiter of key k, made on first use;
// - Events(target) gives `target.on(name, fn)`, and `trigger(name, ...args)` resolves to the first
//   answer a listener gives; a listener that throws is reported as "error".
// Limiters shared between replicas (Redis) stay Bottleneck's: see octokit.ts.

type Listener = (...args: unknown[]) => unknown;
type Task = (...args: unknown[]) => unknown;

export interface LimiterOptions {
  maxConcurrent?: number | null;
  minTime?: number;
}

interface JobOptions {
  priority?: number;
  weight?: number;
}

interface Job {
  task: Task;
  args: unknown[];
  options: JobOptions;
  weight: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const PRIORITIES = 10;
const DEFAULT_PRIORITY = 5;

/** Listeners by event name, with Bottleneck's `trigger` answer. */
class Emitter {
  private readonly listeners = new Map<string, Listener[]>();

  on(name: string, listener: Listener): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
  }

  async trigger(name: string, ...args: unknown[]): Promise<unknown> {
    const listeners = this.listeners.get(name);
    if (!listeners?.length) return undefined;
    const answers = await Promise.all(
      listeners.map(async (listener) => {
        try {
          return await listener(...args);
        } catch (error) {
          if (name !== "error") void this.trigger("error", error);
          return undefined;
        }
      }),
    );
    return answers.find((answer) => answer !== undefined && answer !== null);
  }
}

export class LightLimiter {
  static Group: typeof LightGroup;
  static Events: typeof LightEvents;

  private readonly maxConcurrent: number;
  private readonly minTime: number;
  private readonly queues: Job[][] = Array.from({ length: PRIORITIES }, () => []);
  private queued = 0;
  private running = 0;
  private nextStart = 0;
  private timer?: NodeJS.Timeout;
  private readonly events = new Emitter();

  constructor(options: LimiterOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? Infinity;
    this.minTime = options.minTime ?? 0;
  }

  on(name: string, listener: Listener): void {
    this.events.on(name, listener);
  }

  /** `schedule(task, ...args)` or `schedule(options, task, ...args)`: the task's answer. */
  schedule(...input: unknown[]): Promise<unknown> {
    const options = typeof input[0] === "function" ? {} : (input.shift() as JobOptions);
    const task = input.shift() as Task;
    const priority = Math.min(PRIORITIES - 1, Math.max(0, Math.floor(options.priority ?? DEFAULT_PRIORITY)));
    return new Promise((resolve, reject) => {
      (this.queues[priority] as Job[]).push({
        task,
        args: input,
        options,
        weight: options.weight ?? 1,
        resolve,
        reject,
      });
      this.queued++;
      this.pump();
    });
  }

  /** Jobs waiting or running: an idle limiter can be dropped. */
  get busy(): boolean {
    return this.queued > 0 || this.running > 0;
  }

  private pump(): void {
    while (this.queued > 0 && this.timer === undefined) {
      const queue = this.queues.find((q) => q.length > 0) as Job[];
      const job = queue[0] as Job;
      if (job.weight > 0 && this.running + job.weight > this.maxConcurrent) return;
      const wait = this.nextStart - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      queue.shift();
      this.queued--;
      this.nextStart = Date.now() + this.minTime;
      this.running += job.weight;
      void this.run(job, 0);
    }
  }

  private async run(job: Job, retryCount: number): Promise<void> {
    try {
      job.resolve(await job.task(...job.args));
    } catch (error) {
      const retry = await this.events.trigger("failed", error, { args: job.args, options: job.options, retryCount });
      if (retry !== undefined && retry !== null) {
        // The job keeps its place while it waits to run again, as Bottleneck's does.
        setTimeout(() => void this.run(job, retryCount + 1), Math.max(0, Math.floor(Number(retry)) || 0));
        return;
      }
      job.reject(error);
    }
    this.running -= job.weight;
    this.pump();
  }
}

/** Limiters by key, each with the group's options. */
class LightGroup {
  private readonly limiters = new Map<string, LightLimiter>();

  constructor(private readonly options: LimiterOptions = {}) {}

  key(key = ""): LightLimiter {
    let limiter = this.limiters.get(key);
    if (!limiter) {
      // Installations come and go: idle limiters are dropped before the map grows large.
      if (this.limiters.size >= 1_000) for (const [k, l] of this.limiters) if (!l.busy) this.limiters.delete(k);
      this.limiters.set(key, (limiter = new LightLimiter(this.options)));
    }
    return limiter;
  }
}

/** `new Events(target)`: `target.on(...)` registers, the Events object triggers. */
class LightEvents extends Emitter {
  constructor(target: { on?: (name: string, listener: Listener) => void }) {
    super();
    target.on = (name, listener) => this.on(name, listener);
  }
}

LightLimiter.Group = LightGroup;
LightLimiter.Events = LightEvents;
