// Orders work inside this process. Tasks with the same key (a repository, or one service in it)
// run one after another, in arrival order, so two events never edit the same bot branch at once.
// Tasks with different keys run side by side, but at most `perGroup` of one group (a repository)
// at a time, so a burst of deploy events cannot start hundreds of git processes together.
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly groups = new Map<string, Slots>();
  private pending = 0;

  constructor(private readonly perGroup = 4) {}

  /** `size`: how many of `group` at a time, where not `perGroup` (fixed by the group's first task). */
  run<T>(key: string, task: () => Promise<T>, group: string = key, size?: number): Promise<T> {
    this.pending++;
    const slotted = () => this.slots(group, size).use(task);
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(slotted, slotted);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      this.pending--;
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Tasks queued or running. */
  get depth(): number {
    return this.pending;
  }

  private slots(group: string, size = this.perGroup): Slots {
    let slots = this.groups.get(group);
    if (!slots) {
      slots = new Slots(size, () => this.groups.delete(group));
      this.groups.set(group, slots);
    }
    return slots;
  }
}

/** A counting semaphore that forgets itself when nothing holds or waits for it. */
class Slots {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly size: number,
    private readonly onIdle: () => void,
  ) {}

  async use<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy++;
    try {
      return await task();
    } finally {
      const wake = this.waiting.shift();
      if (wake) wake();
      else if (--this.busy === 0) this.onIdle();
    }
  }
}

/** The queue key for one service's branches in a repository (deploy, promotion, revert). */
export function serviceKey(repo: string, service: string): string {
  return `${repo}#${service}`;
}
