/**
 * Every timer and background task of the simulator goes through here, so that close() stops
 * them all at once and nothing fires, writes or reports an error after the simulator is closed.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private isClosed = false;

  constructor(private readonly onError: (error: Error) => void) {}

  get closed(): boolean {
    return this.isClosed;
  }

  later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.isClosed) fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.later(ms, resolve));
  }

  cancel(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  /** For tasks nobody awaits: a failure goes to onError instead of becoming an unhandled rejection. */
  run(task: Promise<unknown>): void {
    task.catch((err: unknown) => {
      if (this.isClosed) return;
      this.onError(err instanceof Error ? err : new Error(String(err)));
    });
  }

  close(): void {
    this.isClosed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
