// Handled webhook deliveries shared by every replica through Redis (one key per delivery, expiring
// after a day). When Redis cannot be reached, this replica falls back to its own memory and says
// so once: a webhook is never failed because the shared memory is down.
import type { Redis } from "ioredis";

interface Warn {
  warn(obj: object, msg?: string): void;
}

/** What this replica remembers by itself (runtime/delivery-memory.ts), used too when Redis is down. */
interface Memory {
  has(id: string): Promise<boolean>;
  remember(id: string): Promise<void>;
}

export class RedisDeliveryMemory implements Memory {
  private warned = false;

  constructor(
    private readonly redis: Redis,
    private readonly local: Memory,
    private readonly log: Warn,
    private readonly ttlMs: number,
    private readonly prefix = "conveyor:delivery:",
  ) {}

  async has(id: string): Promise<boolean> {
    if (await this.local.has(id)) return true;
    try {
      return (await this.redis.exists(this.key(id))) === 1;
    } catch (error) {
      this.down(error);
      return false;
    }
  }

  async remember(id: string): Promise<void> {
    await this.local.remember(id);
    try {
      await this.redis.set(this.key(id), "1", "PX", this.ttlMs);
    } catch (error) {
      this.down(error);
    }
  }

  /** Delivery ids are GitHub's GUIDs; anything else is clipped so a header cannot make a huge key. */
  private key(id: string): string {
    return `${this.prefix}${id.slice(0, 100)}`;
  }

  private down(error: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.log.warn(
      { err: error instanceof Error ? error.message : String(error) },
      "Redis is not answering: handled deliveries are remembered by this replica only until it is back",
    );
  }
}
