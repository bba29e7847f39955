// Handled deliveries shared by replicas through a real Redis: what one replica handled, the other
// does not handle again; entries expire; Redis going away fails no webhook.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisDeliveryMemory } from "../../src/adapters/redis-delivery-memory.js";
import { LocalDeliveryMemory } from "../../src/runtime/delivery-memory.js";
import { dispatchPayload } from "../helpers/payloads.js";
import { createTestApp } from "../helpers/probot.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";

const DAY = 24 * 3_600_000;
const memory = (client: ReturnType<RedisServer["client"]>, log: { warn(o: object, m?: string): void }, ttl = DAY) =>
  new RedisDeliveryMemory(client, new LocalDeliveryMemory(ttl), log, ttl);

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});

function warnings() {
  const said: string[] = [];
  return { said, log: { warn: (_obj: object, msg?: string) => void said.push(String(msg)) } };
}

describe("RedisDeliveryMemory", () => {
  it("a delivery one replica handled is known to the other", async () => {
    const a = memory(redis.client(), warnings().log);
    const b = memory(redis.client(), warnings().log);
    expect(await b.has("0f1e2d3c-aaaa-bbbb-cccc-000000000001")).toBe(false);
    await a.remember("0f1e2d3c-aaaa-bbbb-cccc-000000000001");
    expect(await b.has("0f1e2d3c-aaaa-bbbb-cccc-000000000001")).toBe(true);
    expect(await b.has("0f1e2d3c-aaaa-bbbb-cccc-000000000002")).toBe(false);
  });

  it("forgets after its time, and keeps keys short whatever the header says", async () => {
    const client = redis.client();
    const shortLived = memory(client, warnings().log, 300);
    await shortLived.remember("x".repeat(10_000));
    const keys = await client.keys("conveyor:delivery:*");
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThanOrEqual("conveyor:delivery:".length + 100);
    const ttl = await client.pttl(`conveyor:delivery:${"x".repeat(100)}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    const other = memory(redis.client(), warnings().log, 300);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await other.has("x".repeat(10_000))).toBe(false);
  });

  it("with Redis gone, it remembers in the process, says so once, and throws nothing", async () => {
    const lost = await startRedis();
    const { said, log } = warnings();
    const alone = memory(lost.client(), log);
    await lost.stop();
    await alone.remember("d-1");
    expect(await alone.has("d-1")).toBe(true);
    expect(await alone.has("d-2")).toBe(false);
    expect(said).toEqual([
      "Redis is not answering: handled deliveries are remembered by this replica only until it is back",
    ]);
  }, 30_000);
});

describe("two replicas sharing one Redis", () => {
  it("the second replica does not handle a delivery the first one handled", async () => {
    const shared = () => memory(redis.client(), warnings().log);
    const first = createTestApp({ deliveryMemory: shared() });
    const second = createTestApp({ deliveryMemory: shared() });
    const target = {
      owner: "acme",
      repo: "manifests",
      cloneUrl: "https://github.com/acme/manifests.git",
      installationId: 1,
    };
    // An event type Conveyor ignores: handled without a GitHub call.
    const payload = dispatchPayload(target, "unrelated-event", {}) as never;
    await first.probot.receive({ id: "redelivered-guid", name: "repository_dispatch", payload });
    await second.probot.receive({ id: "redelivered-guid", name: "repository_dispatch", payload });
    expect(first.logs.some((l) => l.msg === "delivery already handled")).toBe(false);
    expect(second.logs.some((l) => l.msg === "delivery already handled")).toBe(true);
  });
});
