// The leader's look at GitHub's record of webhook deliveries (strict mocks): answered deploy
// events this process never handled are handled again in replay mode, events nothing answered are
// redelivered, and neither happens twice.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeliveryReplayer } from "../../src/flows/replay-deliveries.js";
import { mockConfig } from "../helpers/github-mock.js";
import { dispatchPayload } from "../helpers/payloads.js";
import { flowWorld, INSTALLATION, OWNER, recordingLog, REPO, type FlowWorld } from "../helpers/flow-world.js";

let w: FlowWorld;
beforeEach(() => {
  w = flowWorld();
});
afterEach(() => w.cleanup());

const NOW = Date.parse("2026-12-01T12:00:00Z");
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

function item(id: number, guid: string, over: Record<string, unknown> = {}) {
  return {
    id,
    guid,
    delivered_at: minutesAgo(10),
    redelivery: false,
    duration: 0.1,
    status: "OK",
    status_code: 200,
    event: "repository_dispatch",
    action: "deploy-billing",
    installation_id: INSTALLATION,
    repository_id: 1,
    throttled_at: null,
    ...over,
  };
}

function replayer(handled = new Set<string>()) {
  return new DeliveryReplayer(w.services, recordingLog(w.logs), {
    handled: async (guid) => handled.has(guid),
    remember: async (guid) => void handled.add(guid),
    now: () => NOW,
  });
}

describe("DeliveryReplayer", () => {
  it("replays a refused event without telling its sender again, redelivers a failed one, and does neither twice", async () => {
    const target = { owner: OWNER, repo: REPO, cloneUrl: w.remote.url, installationId: INSTALLATION };
    const refused = dispatchPayload(target, "deploy-billing", { image: "ghcr.io/acme/billing:1.0.0" });
    const listing = [
      item(3, "down", { status: "failed to connect to host", status_code: 0, action: "deploy-order-service" }),
      item(2, "refused"),
      item(1, "handled-here", { delivered_at: minutesAgo(20) }),
    ];
    w.gh.scope.get("/app/hook/deliveries").query({ per_page: "100" }).times(2).reply(200, listing);
    w.gh.scope
      .get("/app/hook/deliveries/2")
      .reply(200, { ...item(2, "refused"), request: { headers: {}, payload: refused } });
    mockConfig(w.gh.scope, OWNER, REPO, undefined);
    let redelivered = 0;
    w.gh.scope.post("/app/hook/deliveries/3/attempts").reply(202, () => (redelivered++, {}));

    const r = replayer(new Set(["handled-here"]));
    expect(await r.run()).toEqual({ replayed: 1, redelivered: 1 });
    await w.services.background.idle();
    expect(redelivered).toBe(1);
    // Unknown service: refused again, but its sender heard it when it was answered (no issue, no check run).
    expect(w.gh.calls().filter((c) => c.includes("/issues") || c.includes("/check-runs"))).toEqual([]);

    expect(await r.run()).toEqual({ replayed: 0, redelivered: 0 });
  });

  it("leaves a deploy event answered after this process started to whoever answered it, for a while", async () => {
    w.gh.scope
      .get("/app/hook/deliveries")
      .query({ per_page: "100" })
      .reply(200, [item(5, "fresh", { delivered_at: new Date(NOW + 1_000).toISOString() })]);
    expect(await replayer().run()).toEqual({ replayed: 0, redelivered: 0 });
  });
});
