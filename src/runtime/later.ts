// Work to try again later: one timer per key (a newer schedule for a key replaces the older), none
// of them keeping the process alive. What is still waiting when the process stops is not lost
// where its source can be read again (a deploy event is replayed from GitHub's deliveries).
/** Waits before each new attempt of work that failed; after the last, it is given up. */
export const RETRY_DELAYS_MS = [30_000, 120_000, 600_000, 1_800_000];

export class Later {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly delaysMs: readonly number[] = RETRY_DELAYS_MS) {}

  /** How long to wait after the `failures`-th failure (from 1); undefined: give up. */
  delayAfter(failures: number): number | undefined {
    return this.delaysMs[failures - 1];
  }

  schedule(key: string, delayMs: number, work: () => void): void {
    this.cancel(key);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      work();
    }, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  cancel(key: string): void {
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
  }

  has(key: string): boolean {
    return this.timers.has(key);
  }

  get size(): number {
    return this.timers.size;
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
