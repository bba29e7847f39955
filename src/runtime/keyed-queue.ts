// Serializes work per key (a repository) inside this process: two events for the same repo never
// edit its workspace or its bot branches at the same time. Different repos run in parallel.
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Number of keys with work queued or running. */
  get depth(): number {
    return this.tails.size;
  }
}
