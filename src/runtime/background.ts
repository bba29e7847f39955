// Work that outlives the webhook that asked for it. GitHub gives a delivery ten seconds and then
// records it as failed, while a burst of deploy events queues behind one repository's edits for
// minutes; so a deploy event is checked and answered at once, and its PR is made here. Failures
// are logged with the delivery's fields and counted; shutdown waits for what is running.
import type { Metrics } from "./metrics.js";

interface Log {
  error(obj: object, msg?: string): void;
}

export class Background {
  private readonly running = new Map<Promise<void>, { job: string; log: Log }>();

  constructor(private readonly metrics?: Pick<Metrics, "backgroundJobs">) {}

  /** Runs `work` without holding up the caller. It never rejects: errors go to `log`. */
  start(job: string, log: Log, work: () => Promise<void>): void {
    const run = (async () => {
      try {
        await work();
        this.metrics?.backgroundJobs.inc({ job, outcome: "ok" });
      } catch (error) {
        this.metrics?.backgroundJobs.inc({ job, outcome: "error" });
        log.error({ err: error instanceof Error ? error.message : String(error) }, `${job} failed`);
      }
    })();
    this.running.set(run, { job, log });
    void run.then(() => this.running.delete(run));
  }

  get size(): number {
    return this.running.size;
  }

  /**
   * Resolves when nothing is running, including work started while waiting. With a limit, gives
   * up after that long, logs each unfinished job as an error on its own log (which carries the
   * delivery id, repository and service, so the event can be re-sent) and returns how many.
   */
  async idle(limitMs?: number): Promise<number> {
    const deadline = limitMs === undefined ? undefined : Date.now() + limitMs;
    while (this.running.size) {
      const all = Promise.all([...this.running.keys()]);
      if (deadline === undefined) {
        await all;
        continue;
      }
      const left = deadline - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const expired = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, left)))),
      ]);
      clearTimeout(timer);
      if (expired) {
        for (const { job, log } of this.running.values())
          log.error({ job }, `${job} not finished when the process stopped: re-send the event`);
        return this.running.size;
      }
    }
    return 0;
  }
}
