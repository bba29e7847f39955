// The gates a process waits for are looked at again on a nudge, at every poll, and just after the
// deadline; each look is one call of `due`, after which the wait is forgotten until registered again.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GateWaits } from "../../src/runtime/gate-waits.js";

let fired: string[];
let waits: GateWaits<string>;

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse("2026-01-01T10:00:00.000Z") });
  fired = [];
  waits = new GateWaits<string>((entry) => void fired.push(entry), 120_000);
});
afterEach(() => {
  waits.stop();
  vi.useRealTimers();
});

const wait = (key: number, deadline: string, entry = `look ${key}`) =>
  waits.wait({
    key,
    runs: [{ correlationId: `conveyor-staging-${key}-1`, repository: "Acme/Order-Service" }],
    deadline,
    entry,
  });

describe("GateWaits", () => {
  it("a long gate is polled every pollMs, not only at its deadline", () => {
    wait(77, "2026-01-01T10:30:00.000Z");
    vi.advanceTimersByTime(119_000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual(["look 77"]);
    expect(waits.has(77)).toBe(false);
  });

  it("a gate whose deadline is nearer than a poll is looked at just after it", () => {
    wait(77, "2026-01-01T10:00:30.000Z");
    vi.advanceTimersByTime(30_000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual(["look 77"]);
  });

  it("a nudge for its run (repository names compared without case) looks at once, and only that wait", () => {
    wait(77, "2026-01-01T10:30:00.000Z");
    wait(78, "2026-01-01T10:30:00.000Z");
    expect(waits.nudge("conveyor-staging-77-1", "acme/other")).toBe(false);
    expect(waits.nudge("conveyor-staging-77-1", "acme/order-service")).toBe(true);
    expect(fired).toEqual(["look 77"]);
    // Its timer went with it: no second look at the poll.
    vi.advanceTimersByTime(120_000);
    expect(fired).toEqual(["look 77", "look 78"]);
  });

  it("registering again replaces the wait; stop forgets them all", () => {
    wait(77, "2026-01-01T10:30:00.000Z", "first");
    wait(77, "2026-01-01T10:30:00.000Z", "second");
    vi.advanceTimersByTime(120_000);
    expect(fired).toEqual(["second"]);
    wait(78, "2026-01-01T10:30:00.000Z");
    waits.stop();
    vi.advanceTimersByTime(3_600_000);
    expect(fired).toEqual(["second"]);
    expect(waits.size).toBe(0);
  });
});
