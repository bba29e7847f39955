// Bounded memories of what was already done: once per window (answers, deliveries) and a quota per
// window (fork render checks). A clock is passed in, so windows are tested without waiting.
import { describe, expect, it } from "vitest";
import { OncePer, Quota } from "../../src/runtime/once-per.js";

describe("OncePer", () => {
  it("takes a key once per window, again after it, and forgets the oldest keys beyond its bound", () => {
    let now = 0;
    const once = new OncePer(1_000, 2, () => now);
    expect(once.take("a")).toBe(true);
    expect(once.take("a")).toBe(false);
    expect(once.has("a")).toBe(true);
    now = 999;
    expect(once.take("a")).toBe(false);
    now = 1_000;
    expect(once.take("a")).toBe(true);
    expect(once.take("b")).toBe(true);
    expect(once.take("c")).toBe(true); // "a" is forgotten: only two keys are kept
    expect(once.has("a")).toBe(false);
    expect(once.has("c")).toBe(true);
  });
});

describe("Quota", () => {
  it("allows `limit` uses per sliding window for each key, independently", () => {
    let now = 0;
    const quota = new Quota(1_000, 3, 100, () => now);
    expect([quota.take("fork-author"), quota.take("fork-author"), quota.take("fork-author")]).toEqual([
      true,
      true,
      true,
    ]);
    expect(quota.take("fork-author")).toBe(false);
    expect(quota.take("someone-else")).toBe(true);
    now = 999;
    expect(quota.take("fork-author")).toBe(false);
    now = 1_000;
    expect(quota.take("fork-author")).toBe(true);
  });
});
