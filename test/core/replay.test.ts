// Which recorded webhook deliveries still need something: replay of answered deploy events this
// process never handled, redelivery of events nothing answered.
import { describe, expect, it } from "vitest";
import { planReplay, type DeliveryRecord } from "../../src/core/replay.js";

const T0 = Date.parse("2026-12-01T10:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

let next = 100;
function record(over: Partial<DeliveryRecord> & { guid: string; minute: number }): DeliveryRecord {
  const { minute, ...rest } = over;
  return {
    id: next++,
    deliveredAt: at(minute),
    redelivery: false,
    statusCode: 200,
    event: "repository_dispatch",
    action: "deploy",
    installationId: 1,
    ...rest,
  };
}

const base = {
  since: T0,
  settledBefore: T0 + 30 * 60_000,
  handled: () => false,
  asked: () => false,
};

describe("planReplay", () => {
  it("replays answered deploy events not handled here, oldest first, and nothing else", () => {
    const records = [
      record({ guid: "b", minute: 5 }),
      record({ guid: "push", minute: 4, event: "push", action: null }),
      record({ guid: "a", minute: 3 }),
      record({ guid: "handled", minute: 2 }),
    ];
    const plan = planReplay({ ...base, records, handled: (g) => g === "handled" });
    expect(plan.replay.map((r) => r.guid)).toEqual(["a", "b"]);
    expect(plan.redeliver).toEqual([]);
  });

  it("leaves deliveries before the window and answers not yet settled alone", () => {
    const records = [
      record({ guid: "old", minute: -1 }),
      record({ guid: "fresh", minute: 31 }),
      record({ guid: "old-failed", minute: -2, statusCode: 0 }),
    ];
    expect(planReplay({ ...base, records })).toEqual({ replay: [], redeliver: [] });
  });

  it("redelivers the latest attempt of events no attempt of which was answered, once", () => {
    const first = record({ guid: "down", minute: 1, statusCode: 0, event: "push" });
    const again = record({ guid: "down", minute: 2, statusCode: 502, event: "push", redelivery: true });
    const recovered = [
      record({ guid: "ok-later", minute: 3, statusCode: 500 }),
      record({ guid: "ok-later", minute: 4, redelivery: true }),
    ];
    const records = [...recovered, again, first];
    const plan = planReplay({ ...base, records, handled: (g) => g === "ok-later" });
    expect(plan.redeliver.map((r) => r.id)).toEqual([again.id]);
    expect(plan.replay).toEqual([]);
    expect(planReplay({ ...base, records, asked: (g) => g === "down", handled: () => true }).redeliver).toEqual([]);
  });

  it("a deploy event answered with an error counts as not answered: it is redelivered, not replayed", () => {
    const failed = record({ guid: "err", minute: 1, statusCode: 500 });
    const plan = planReplay({ ...base, records: [failed] });
    expect(plan).toEqual({ replay: [], redeliver: [failed] });
  });

  it("an answered redelivery of a deploy event is replayed once, by its answered attempt", () => {
    const records = [
      record({ guid: "x", minute: 6, redelivery: true }),
      record({ guid: "x", minute: 1, statusCode: 0 }),
    ];
    const plan = planReplay({ ...base, records });
    expect(plan.replay.map((r) => [r.guid, r.redelivery])).toEqual([["x", true]]);
  });
});
