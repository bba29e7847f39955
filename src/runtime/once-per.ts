// "At most once per window for each key": for answers that someone could otherwise make Conveyor
// repeat without limit (a refused or malformed command, once per user per hour), and for
// deliveries already handled. Bounded: the oldest keys are forgotten first.
export class OncePer {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Was the key taken within the window? (Records nothing.) */
  has(key: string): boolean {
    const last = this.seen.get(key);
    return last !== undefined && this.now() - last < this.windowMs;
  }

  /** True the first time a key is taken within the window (and records it); false after that. */
  take(key: string): boolean {
    const at = this.now();
    const last = this.seen.get(key);
    if (last !== undefined && at - last < this.windowMs) return false;
    this.seen.delete(key);
    this.seen.set(key, at);
    while (this.seen.size > this.maxKeys) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
    }
    return true;
  }
}
