// A map that is another map with a few entries changed: a commit made from its parent, or a
// head's kustomizations from its base's, shares the thousands of entries that did not change
// instead of copying them. Entries set here hide the base's; a removed key hides it too.
// Chains are bounded: past MAX_DEPTH layers the map is flattened into a plain one.

const MAX_DEPTH = 8;

/** A layered map that may be changed; the base is only read. */
export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  /** Entries set here; undefined marks a key removed from the base. */
  private readonly top = new Map<K, V | undefined>();
  private readonly base: ReadonlyMap<K, V>;
  readonly depth: number;

  constructor(base: ReadonlyMap<K, V>, entries: Iterable<readonly [K, V]> = []) {
    const depth = base instanceof LayeredMap ? base.depth + 1 : 1;
    this.base = depth > MAX_DEPTH ? new Map(base) : base;
    this.depth = depth > MAX_DEPTH ? 1 : depth;
    for (const [key, value] of entries) this.top.set(key, value);
  }

  get(key: K): V | undefined {
    return this.top.has(key) ? this.top.get(key) : this.base.get(key);
  }

  has(key: K): boolean {
    return this.top.has(key) ? this.top.get(key) !== undefined : this.base.has(key);
  }

  set(key: K, value: V): this {
    this.top.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    const had = this.has(key);
    if (this.base.has(key)) this.top.set(key, undefined);
    else this.top.delete(key);
    return had;
  }

  get size(): number {
    let size = this.base.size;
    for (const [key, value] of this.top) {
      const inBase = this.base.has(key);
      if (value === undefined && inBase) size--;
      else if (value !== undefined && !inBase) size++;
    }
    return size;
  }

  /** The base's order, with entries new here after it (as Map would keep them). */
  *entries(): MapIterator<[K, V]> {
    for (const [key, value] of this.base) {
      if (!this.top.has(key)) yield [key, value];
      else {
        const mine = this.top.get(key);
        if (mine !== undefined) yield [key, mine];
      }
    }
    for (const [key, value] of this.top) if (value !== undefined && !this.base.has(key)) yield [key, value];
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [key, value] of this.entries()) fn(value, key, this);
  }
}
