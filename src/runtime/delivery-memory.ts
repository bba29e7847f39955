// Which webhook deliveries were handled (for a day, the longest GitHub keeps redelivering), so a
// redelivered or replayed delivery changes nothing. In this process by default; shared by every
// replica through Redis when REDIS_URL is set (adapters/redis-delivery-memory.ts).
import { OncePer } from "./once-per.js";

export interface DeliveryMemory {
  has(id: string): Promise<boolean>;
  remember(id: string): Promise<void>;
}

export const DELIVERY_TTL_MS = 24 * 3_600_000;

export class LocalDeliveryMemory implements DeliveryMemory {
  private readonly seen: OncePer;

  constructor(ttlMs = DELIVERY_TTL_MS, maxKeys = 50_000) {
    this.seen = new OncePer(ttlMs, maxKeys);
  }

  async has(id: string): Promise<boolean> {
    return this.seen.has(id);
  }

  async remember(id: string): Promise<void> {
    this.seen.take(id);
  }
}
