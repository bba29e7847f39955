// What GitHub told Conveyor about merging in a repository, kept for a few minutes per repository in
// this process: the merge methods it allows (GET /repos/{owner}/{repo}), and that its default
// branch takes changes only through a merge queue (learned from a refused merge). Also the PR heads
// GitHub refused once for a passing reason, so a second refusal of the same head is explained.
import type { AllowedMethods } from "../../core/merge-method.js";

/** How long a repository's settings are trusted before they are read again. */
export const MERGE_FACTS_TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 1_000;

interface Entry<T> {
  value: T;
  at: number;
}

/** A small map whose entries expire and whose oldest entries go first when it is full. */
class Expiring<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly ttlMs: number) {}

  get(key: string, now = Date.now()): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now - entry.at >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, now = Date.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at: now });
    if (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

const settings = new Expiring<AllowedMethods>(MERGE_FACTS_TTL_MS);
const queues = new Expiring<true>(MERGE_FACTS_TTL_MS);
const refusedOnce = new Expiring<true>(24 * 3_600_000);

export const mergeFacts = {
  settings: (repo: string) => settings.get(repo),
  setSettings: (repo: string, value: AllowedMethods) => settings.set(repo, value),
  queueRequired: (repo: string) => queues.get(repo) === true,
  learnQueue: (repo: string) => queues.set(repo, true),
  /** Was this head refused once already for a passing reason? Remembers it if not. */
  refusedBefore(head: string): boolean {
    if (refusedOnce.get(head)) return true;
    refusedOnce.set(head, true);
    return false;
  },
  forgetRefusal: (head: string) => refusedOnce.delete(head),
};

/** Forgets everything (tests start from nothing). */
export function forgetMergeFacts(): void {
  settings.clear();
  queues.clear();
  refusedOnce.clear();
}
