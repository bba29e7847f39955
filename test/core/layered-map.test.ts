import { describe, expect, it } from "vitest";
import { LayeredMap } from "../../src/core/layered-map.js";

/** A small deterministic generator, so a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const snapshot = <K, V>(map: ReadonlyMap<K, V>) => ({
  entries: [...map.entries()].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  size: map.size,
});

describe("LayeredMap", () => {
  it("reads, sets and removes as a copy of its base would, layer upon layer, without changing the base", () => {
    const next = random(7);
    const base = new Map<string, number>(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    const baseBefore = snapshot(base);
    let reference = new Map(base);
    let layered: ReadonlyMap<string, number> = base;
    // Twelve layers: past the depth bound the base is flattened, and nothing may change.
    for (let layer = 0; layer < 12; layer++) {
      const map = new LayeredMap(layered);
      reference = new Map(reference);
      for (let op = 0; op < 30; op++) {
        const key = `k${Math.floor(next() * 60)}`;
        const roll = next();
        if (roll < 0.5) {
          map.set(key, op);
          reference.set(key, op);
        } else expect(map.delete(key)).toBe(reference.delete(key));
        expect(map.has(key)).toBe(reference.has(key));
        expect(map.get(key)).toBe(reference.get(key));
      }
      expect(snapshot(map)).toEqual(snapshot(reference));
      expect(map.depth).toBeLessThanOrEqual(8);
      layered = map;
    }
    expect(snapshot(base)).toEqual(baseBefore);
  });

  it("keeps the base's order and puts new keys after it, as a Map copy would", () => {
    const map = new LayeredMap(
      new Map([
        ["a", 1],
        ["b", 2],
        ["c", 3],
      ]),
      [["b", 20]],
    );
    map.set("d", 4);
    map.delete("a");
    expect([...map]).toEqual([
      ["b", 20],
      ["c", 3],
      ["d", 4],
    ]);
    expect([...map.keys()]).toEqual(["b", "c", "d"]);
    expect(map.size).toBe(3);
  });
});
