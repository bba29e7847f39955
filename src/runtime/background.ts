// Work that outlives the webhook that asked for it. GitHub gives a delivery ten seconds and then
// records it as failed, while a burst of deploy events queues behind one repository's edits for
// minutes; so a deploy event is checked and answered at once, and its PR is made here. Failures
// are logged with the delivery's fields and counted; shutdown waits for what is running.
import { metrics } from "./metrics.js";

interface Log {
  error(obj: object, msg?: string): void;
}

export class Background {
  private readonly running = new Set<Promise<void>>();

  /** Runs `work` without holding up the caller. It never rejects: errors go to `log`. */
  start(job: string, log: Log, work: () => Promise<void>): void {
    const run = (async () => {
      try {
        await work();
        metrics.backgroundJobs.inc({ job, outcome: "ok" });
      } catch (error) {
        metrics.backgroundJobs.inc({ job, outcome: "error" });
        log.error({ err: error instanceof Error ? error.message : String(error) }, `${job} failed`);
      }
    })();
    this.running.add(run);
    void run.then(() => this.running.delete(run));
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves when nothing is running, including work started while waiting. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }
}
