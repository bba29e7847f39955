// The limiter Octokit's throttling plugin runs on, checked against Bottleneck itself: the same
// jobs, scheduled the same way, start in the same order at the same times (Bottleneck's own
// timers add a few milliseconds per step).
import Bottleneck from "bottleneck";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LightLimiter } from "../../src/adapters/github/limiter.js";

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Same jobs in the same order, each started within a few milliseconds of the other's. */
function expectSameStarts(actual: Array<[string, number]>, expected: Array<[string, number]>): void {
  expect(actual.map(([id]) => id)).toEqual(expected.map(([id]) => id));
  actual.forEach(([, t], i) => expect(Math.abs(t - (expected[i] as [string, number])[1])).toBeLessThanOrEqual(20));
}

type Limiter = { schedule(...args: unknown[]): Promise<unknown> };
type Kind = { name: string; make: (options: { maxConcurrent?: number; minTime?: number }) => Limiter };

const kinds: Kind[] = [
  { name: "Bottleneck", make: (o) => new Bottleneck(o) as unknown as Limiter },
  { name: "LightLimiter", make: (o) => new LightLimiter(o) },
];

/** Schedules jobs that each take `ms`, and records when each started (ms from the first). */
async function starts(
  limiter: Limiter,
  jobs: Array<{ id: string; ms: number; options?: { priority?: number; weight?: number }; at?: number }>,
): Promise<Array<[string, number]>> {
  const t0 = Date.now();
  const seen: Array<[string, number]> = [];
  const done: Array<Promise<unknown>> = [];
  for (const job of jobs) {
    if (job.at) await vi.advanceTimersByTimeAsync(job.at);
    const task = async () => {
      seen.push([job.id, Date.now() - t0]);
      await new Promise((resolve) => setTimeout(resolve, job.ms));
      return job.id;
    };
    done.push(job.options ? limiter.schedule(job.options, task) : limiter.schedule(task));
  }
  await vi.advanceTimersByTimeAsync(60_000);
  expect(await Promise.all(done)).toEqual(jobs.map((j) => j.id));
  return seen;
}

describe("LightLimiter, as Bottleneck does it", () => {
  it("spaces starts by minTime and keeps to maxConcurrent", async () => {
    const jobs = ["a", "b", "c", "d"].map((id) => ({ id, ms: 250 }));
    const expected = await starts(kinds[0]!.make({ maxConcurrent: 1, minTime: 100 }), jobs);
    const actual = await starts(kinds[1]!.make({ maxConcurrent: 1, minTime: 100 }), jobs);
    expectSameStarts(actual, expected);
    expect(actual.map(([, t]) => t)).toEqual([0, 250, 500, 750]);

    const spaced = await starts(kinds[1]!.make({ maxConcurrent: 2, minTime: 100 }), jobs);
    expectSameStarts(spaced, await starts(kinds[0]!.make({ maxConcurrent: 2, minTime: 100 }), jobs));
    expect(spaced.map(([, t]) => t)).toEqual([0, 100, 250, 350]);
  });

  it("runs a retry's job of weight 0 beside a running one, and higher priorities first", async () => {
    const jobs = [
      { id: "running", ms: 500 },
      { id: "queued", ms: 10 },
      { id: "retry", ms: 10, options: { priority: 0, weight: 0 }, at: 50 },
      { id: "urgent", ms: 10, options: { priority: 1 } },
    ];
    const expected = await starts(kinds[0]!.make({ maxConcurrent: 1, minTime: 0 }), jobs);
    const actual = await starts(kinds[1]!.make({ maxConcurrent: 1, minTime: 0 }), jobs);
    expectSameStarts(actual, expected);
    expect(actual.map(([id]) => id)).toEqual(["running", "retry", "urgent", "queued"]);
  });

  for (const kind of kinds)
    it(`${kind.name}: a failed job runs again when a listener answers a wait, else fails`, async () => {
      const limiter = kind.make({}) as Limiter & { on(name: string, fn: (...a: unknown[]) => unknown): void };
      const tries: Array<[number, number]> = [];
      const t0 = Date.now();
      limiter.on("failed", async (_error: unknown, info: unknown) => {
        const { retryCount } = info as { retryCount: number };
        return retryCount < 2 ? 1_000 : undefined;
      });
      const result = limiter.schedule(async (n: number) => {
        tries.push([n, Date.now() - t0]);
        throw new Error("refused");
      }, 7);
      const outcome = result.catch((error: Error) => error.message);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(await outcome).toBe("refused");
      expectSameStarts(
        tries.map(([n, t]) => [String(n), t]),
        [
          ["7", 0],
          ["7", 1_000],
          ["7", 2_000],
        ],
      );
    });

  for (const kind of [Bottleneck, LightLimiter] as const)
    it(`${kind === LightLimiter ? "LightLimiter" : "Bottleneck"}: Events answer with the first listener's answer and report a listener that throws`, async () => {
      const target: { on?: (name: string, fn: (...a: unknown[]) => unknown) => void } = {};
      const events = new (
        kind.Events as unknown as new (t: object) => {
          trigger(name: string, ...args: unknown[]): Promise<unknown>;
        }
      )(target);
      const errors: string[] = [];
      target.on!("limit", (seconds: unknown) => (seconds as number) > 5);
      target.on!("broken", () => {
        throw new Error("listener failed");
      });
      target.on!("error", (error: unknown) => errors.push((error as Error).message));
      expect(await events.trigger("limit", 10)).toBe(true);
      expect(await events.trigger("limit", 1)).toBe(false);
      expect(await events.trigger("nobody", 1)).toBeUndefined();
      await events.trigger("broken");
      await vi.advanceTimersByTimeAsync(0);
      expect(errors).toEqual(["listener failed"]);
    });

  it("a group has one limiter per key, each with the group's options", async () => {
    const group = new LightLimiter.Group({ maxConcurrent: 1, minTime: 1_000 });
    expect(group.key("1")).toBe(group.key("1"));
    expect(group.key("1")).not.toBe(group.key("2"));
    const t0 = Date.now();
    const at: number[] = [];
    const mark = async () => void at.push(Date.now() - t0);
    const all = Promise.all([
      group.key("1").schedule(mark),
      group.key("1").schedule(mark),
      group.key("2").schedule(mark),
    ]);
    await vi.advanceTimersByTimeAsync(5_000);
    await all;
    expect(at.sort((a, b) => a - b)).toEqual([0, 0, 1_000]);
  });
});
