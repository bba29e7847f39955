// One list+watch loop for one kind of object, shared by both Argo sources: keeps a cache current
// and survives what watches do in practice (end quietly, fail, stall, or fall out of the server's
// history). The transport (kube watch, Argo CD API stream) is plugged in as two functions.

export interface SourceLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export const silentLog: SourceLog = { info: () => undefined, warn: () => undefined };

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000 };
export const DEFAULT_RELIST_MS = 5 * 60_000;
export const DEFAULT_STALE_MS = 2 * 60_000;

/** The server no longer has the history a watch asked for (HTTP 410 / ERROR event with code 410). */
export class ResourceExpiredError extends Error {
  constructor(message = "resource version expired") {
    super(message);
    this.name = "ResourceExpiredError";
  }
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchSink<T> {
  event(type: WatchEventType, object: T): void;
  /** Anything that proves the stream is alive without carrying an object (BOOKMARK). */
  bookmark(resourceVersion: string | undefined): void;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion?: string;
}

export interface Transport<T> {
  list(signal: AbortSignal): Promise<ListResult<T>>;
  /** Streams until the server ends it (resolve) or it fails (reject; ResourceExpiredError for 410). */
  watch(resourceVersion: string | undefined, sink: WatchSink<T>, signal: AbortSignal): Promise<void>;
}

export interface ReflectorCounters {
  watchConnections: number;
  reconnects: number;
  relists: number;
}

export interface ReflectorOptions<T> {
  kind: string;
  transport: Transport<T>;
  keyOf(object: T): string;
  versionOf(object: T): string | undefined;
  /** After the cache holds the new object (ADDED, MODIFIED, or changed in a re-list). */
  onUpsert(object: T): void;
  onDelete?(object: T): void;
  counters: ReflectorCounters;
  relistIntervalMs: number;
  staleAfterMs: number;
  backoff: Backoff;
  log: SourceLog;
}

type Interrupt = "stale" | "relist" | "stop";

export class Reflector<T> {
  readonly cache = new Map<string, T>();
  private resourceVersion: string | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private current: { controller: AbortController; reason?: Interrupt } | undefined;
  private sleeper: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastActivity = 0;
  private relistDue = false;
  private failures = 0;

  constructor(private readonly options: ReflectorOptions<T>) {}

  /** Loads the first list (rejects when that fails), then keeps watching in the background. */
  async start(): Promise<void> {
    await this.relist();
    this.running = this.loop();
    this.scheduleRelist();
    const every = Math.max(10, Math.min(1_000, Math.floor(this.options.staleAfterMs / 4)));
    this.watchdog = setInterval(() => this.checkStale(), every);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.relistTimer) clearTimeout(this.relistTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.interrupt("stop");
    this.wake();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.relistDue) {
        try {
          await this.relist();
        } catch (err) {
          if (this.stopped) return;
          this.options.log.warn({ kind: this.options.kind, err: describe(err) }, "argo source: re-list failed");
          await this.sleep(this.nextDelay());
          continue;
        }
      }
      // stop() may have come while the list was in flight.
      if (this.stopped) return;
      const outcome = await this.watchOnce();
      if (this.stopped) return;
      if (outcome === "relist") continue;
      this.options.counters.reconnects += 1;
      if (outcome === "expired" || outcome === "stale") this.relistDue = true;
      const delay = outcome === "expired" ? 0 : this.nextDelay();
      if (outcome !== "ended")
        this.options.log.info(
          { kind: this.options.kind, outcome, delayMs: Math.round(delay) },
          "argo source: watch reconnecting",
        );
      await this.sleep(delay);
    }
  }

  private async watchOnce(): Promise<"ended" | "failed" | "expired" | "stale" | "relist" | "stop"> {
    const controller = new AbortController();
    const current: { controller: AbortController; reason?: Interrupt } = { controller };
    this.current = current;
    this.lastActivity = Date.now();
    this.options.counters.watchConnections += 1;
    let delivered = false;
    const alive = (): void => {
      this.lastActivity = Date.now();
      if (!delivered) {
        delivered = true;
        this.failures = 0;
      }
    };
    const sink: WatchSink<T> = {
      event: (type, object) => {
        if (current.reason) return;
        alive();
        const version = this.options.versionOf(object);
        if (version) this.resourceVersion = version;
        if (type === "DELETED") {
          this.remove(object);
          return;
        }
        // Streams that start with a snapshot (Argo CD's) repeat what the cache already has.
        const cached = this.cache.get(this.options.keyOf(object));
        if (version !== undefined && cached !== undefined && this.options.versionOf(cached) === version) return;
        this.upsert(object);
      },
      bookmark: (version) => {
        if (current.reason) return;
        alive();
        if (version) this.resourceVersion = version;
      },
    };
    try {
      await this.options.transport.watch(this.resourceVersion, sink, controller.signal);
      return current.reason ?? "ended";
    } catch (err) {
      if (current.reason) return current.reason;
      if (err instanceof ResourceExpiredError) return "expired";
      this.options.log.warn({ kind: this.options.kind, err: describe(err) }, "argo source: watch failed");
      return "failed";
    } finally {
      this.options.counters.watchConnections -= 1;
      if (this.current === current) this.current = undefined;
      controller.abort();
    }
  }

  /** Full list, diffed against the cache: changed and new objects are emitted, vanished ones dropped. */
  private async relist(): Promise<void> {
    const controller = new AbortController();
    const { items, resourceVersion } = await this.options.transport.list(controller.signal);
    this.options.counters.relists += 1;
    this.relistDue = false;
    const seen = new Set<string>();
    for (const item of items) {
      const key = this.options.keyOf(item);
      seen.add(key);
      const cached = this.cache.get(key);
      if (
        cached === undefined ||
        this.options.versionOf(cached) !== this.options.versionOf(item) ||
        this.options.versionOf(item) === undefined
      ) {
        this.upsert(item);
      }
    }
    for (const [key, cached] of [...this.cache]) if (!seen.has(key)) this.remove(cached);
    this.resourceVersion = resourceVersion;
  }

  private upsert(object: T): void {
    this.cache.set(this.options.keyOf(object), object);
    try {
      this.options.onUpsert(object);
    } catch (err) {
      this.options.log.warn({ kind: this.options.kind, err: describe(err) }, "argo source: listener failed");
    }
  }

  private remove(object: T): void {
    this.cache.delete(this.options.keyOf(object));
    this.options.onDelete?.(object);
  }

  private scheduleRelist(): void {
    if (this.stopped) return;
    this.relistTimer = setTimeout(() => {
      this.relistDue = true;
      this.interrupt("relist");
      this.scheduleRelist();
    }, this.options.relistIntervalMs);
  }

  private checkStale(): void {
    if (!this.current || this.current.reason) return;
    if (Date.now() - this.lastActivity < this.options.staleAfterMs) return;
    this.options.log.warn(
      { kind: this.options.kind, silentMs: Date.now() - this.lastActivity },
      "argo source: watch went silent, re-establishing",
    );
    this.interrupt("stale");
  }

  private interrupt(reason: Interrupt): void {
    const current = this.current;
    if (!current || current.reason) return;
    current.reason = reason;
    current.controller.abort();
  }

  /** Exponential backoff with jitter (half fixed, half random), growing per consecutive failure. */
  private nextDelay(): number {
    const { initialMs, maxMs } = this.options.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** this.failures);
    this.failures += 1;
    return base / 2 + (Math.random() * base) / 2;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleeper = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeper = { timer, wake };
    });
  }

  private wake(): void {
    this.sleeper?.wake();
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
    return code !== undefined ? `${err.message} (${String(code)})` : err.message;
  }
  return String(err);
}
