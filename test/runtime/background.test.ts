// Work after the webhook answer: it never rejects into the caller, its failure is logged, and
// idle() waits for everything, including work started while waiting.
import { describe, expect, it } from "vitest";
import { Background } from "../../src/runtime/background.js";
import { metrics } from "../../src/runtime/metrics.js";

async function count(job: string, outcome: string): Promise<number> {
  const { values } = await metrics.backgroundJobs.get();
  return values.find((v) => v.labels.job === job && v.labels.outcome === outcome)?.value ?? 0;
}

describe("Background", () => {
  it("logs and counts a failure instead of throwing it, and idle() waits for chained work", async () => {
    const background = new Background(metrics);
    const errors: Array<{ obj: object; msg?: string }> = [];
    const log = { error: (obj: object, msg?: string) => errors.push({ obj, msg }) };
    const failedBefore = await count("test-job", "error");
    const okBefore = await count("test-job", "ok");
    const done: string[] = [];
    background.start("test-job", log, async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      background.start("test-job", log, async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        done.push("second");
      });
      throw new Error("push rejected");
    });
    expect(background.size).toBe(1);
    await background.idle();
    expect(done).toEqual(["second"]);
    expect(background.size).toBe(0);
    expect(errors).toEqual([{ obj: { err: "push rejected" }, msg: "test-job failed" }]);
    expect(await count("test-job", "error")).toBe(failedBefore + 1);
    expect(await count("test-job", "ok")).toBe(okBefore + 1);
  });

  it("idle(limit) gives up after the limit and names each unfinished job on its own log", async () => {
    const background = new Background(metrics);
    const lines: Array<{ obj: object; msg?: string }> = [];
    let release!: () => void;
    background.start(
      "deploy",
      { error: (obj, msg) => lines.push({ obj: { ...obj, service: "cart" }, msg }) },
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    background.start("render", { error: (obj, msg) => lines.push({ obj, msg }) }, async () => undefined);
    expect(await background.idle(50)).toBe(1);
    expect(lines).toEqual([
      {
        obj: { job: "deploy", service: "cart" },
        msg: "deploy not finished when the process stopped: re-send the event",
      },
    ]);
    release();
    expect(await background.idle(50)).toBe(0);
  });
});
