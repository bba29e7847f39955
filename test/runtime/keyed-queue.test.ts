// Per-repository ordering: one service's tasks in arrival order, services side by side, and never
// more than the group's share of a repository running at once.
import { describe, expect, it } from "vitest";
import { KeyedQueue, serviceKey } from "../../src/runtime/keyed-queue.js";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("KeyedQueue", () => {
  it("runs one key's tasks in order, even when one fails", async () => {
    const queue = new KeyedQueue();
    const order: string[] = [];
    const first = gate();
    const a = queue.run("acme/manifests", async () => {
      await first.opened;
      order.push("a");
      throw new Error("a failed");
    });
    const b = queue.run("acme/manifests", async () => {
      order.push("b");
      return "b";
    });
    expect(queue.depth).toBe(2);
    first.open();
    await expect(a).rejects.toThrow("a failed");
    await expect(b).resolves.toBe("b");
    expect(order).toEqual(["a", "b"]);
    await Promise.resolve();
    expect(queue.depth).toBe(0);
  });

  it("runs different services of a repository side by side, at most perGroup at once", async () => {
    const queue = new KeyedQueue(2);
    let running = 0;
    let peak = 0;
    const gates = Array.from({ length: 5 }, () => gate());
    const started: number[] = [];
    const tasks = gates.map((g, i) =>
      queue.run(
        serviceKey("acme/manifests", `svc-${i}`),
        async () => {
          started.push(i);
          peak = Math.max(peak, ++running);
          await g.opened;
          running--;
        },
        "acme/manifests",
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(started).toEqual([0, 1]);
    gates[1]?.open();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    await Promise.all(tasks);
    expect(peak).toBe(2);
    expect(started.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(queue.depth).toBe(0);
  });

  it("gives a group the size its first task asks for, and others the default", async () => {
    const queue = new KeyedQueue(1);
    let running = 0;
    let peak = 0;
    const blocked = gate();
    const wide = Array.from({ length: 4 }, (_, i) =>
      queue.run(
        `acme/manifests#render#${i}`,
        async () => {
          peak = Math.max(peak, ++running);
          await blocked.opened;
          running--;
        },
        "acme/manifests#render-own",
        3,
      ),
    );
    let narrowStarted = 0;
    const narrow = [0, 1].map((i) =>
      queue.run(
        `acme/manifests#pr#${i}`,
        async () => {
          narrowStarted++;
          await blocked.opened;
        },
        "acme/manifests#render",
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(peak).toBe(3);
    expect(narrowStarted).toBe(1);
    blocked.open();
    await Promise.all([...wide, ...narrow]);
    expect(peak).toBe(3);
  });

  it("does not hold one repository's work behind another's", async () => {
    const queue = new KeyedQueue(1);
    const blocked = gate();
    const slow = queue.run("acme/one", () => blocked.opened);
    await expect(queue.run("acme/two", async () => "two")).resolves.toBe("two");
    blocked.open();
    await slow;
  });
});
