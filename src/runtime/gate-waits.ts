// E2E gates this process is waiting for: each is looked at again when a `workflow_run` webhook
// names one of its runs (a nudge), at its deadline, and every `pollMs` in between (a webhook that
// went to another replica, or was lost). What is looked at is GitHub's record of the run, never
// the webhook's word; after a restart the Deployment's status says what was waiting.

interface Wait<T> {
  /** Correlation id -> the repository (owner/repo) whose run it names. */
  runs: Map<string, string>;
  timer: NodeJS.Timeout;
  entry: T;
}

export class GateWaits<T> {
  private readonly waits = new Map<number, Wait<T>>();

  /**
   * @param due called (not awaited) when a wait should be looked at again; it is forgotten then,
   *   and the look registers it again if the gates are still running.
   */
  constructor(
    private readonly due: (entry: T) => void,
    private readonly pollMs = 120_000,
  ) {}

  /** Waits for the gates of one Deployment (`key`) until `deadline` (ISO time) at the latest. */
  wait(input: { key: number; runs: Array<{ correlationId: string; repository: string }>; deadline: string; entry: T }) {
    this.forget(input.key);
    // A little after the deadline, so the look finds it passed.
    const delay = Math.max(0, Math.min(this.pollMs, Date.parse(input.deadline) - Date.now() + 1_000));
    const timer = setTimeout(() => this.fire(input.key), delay);
    timer.unref();
    this.waits.set(input.key, {
      runs: new Map(input.runs.map((r) => [r.correlationId, r.repository.toLowerCase()])),
      timer,
      entry: input.entry,
    });
  }

  /** A run named `correlationId` in `repository` changed: look at its wait now. True when one matched. */
  nudge(correlationId: string, repository: string): boolean {
    for (const [key, wait] of this.waits) {
      if (wait.runs.get(correlationId) === repository.toLowerCase()) {
        this.fire(key);
        return true;
      }
    }
    return false;
  }

  has(key: number): boolean {
    return this.waits.has(key);
  }

  get size(): number {
    return this.waits.size;
  }

  stop(): void {
    for (const key of [...this.waits.keys()]) this.forget(key);
  }

  private fire(key: number): void {
    const wait = this.waits.get(key);
    if (!wait) return;
    this.forget(key);
    this.due(wait.entry);
  }

  private forget(key: number): void {
    const wait = this.waits.get(key);
    if (wait) clearTimeout(wait.timer);
    this.waits.delete(key);
  }
}
