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

/** At most `limit` uses per window for each key (a sliding window), for work someone else can ask for. */
export class Quota {
  private readonly uses = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly limit: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True (and counted) while the key has uses left in the window. */
  take(key: string): boolean {
    const at = this.now();
    const recent = (this.uses.get(key) ?? []).filter((t) => at - t < this.windowMs);
    if (recent.length >= this.limit) {
      this.uses.set(key, recent);
      return false;
    }
    recent.push(at);
    this.uses.delete(key);
    this.uses.set(key, recent);
    while (this.uses.size > this.maxKeys) this.uses.delete(this.uses.keys().next().value as string);
    return true;
  }
}
