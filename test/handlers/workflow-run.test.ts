// workflow_run -> a finished run that names an E2E gate this process waits for nudges that gate
// (its flow then reads the run from GitHub). Through Probot, with GitHub's example payloads: only
// `completed`, only the gate's own repository, only a whole correlation id counts.
import { createHmac } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { GateWaits } from "../../src/runtime/gate-waits.js";
import { mockGitHub } from "../helpers/github-mock.js";
import { example, withRepo } from "../helpers/payloads.js";
import { createTestApp, type TestApp } from "../helpers/probot.js";

let app: TestApp;
let fired: number[];
let delivery = 0;

beforeEach(async () => {
  // Strict: the handler itself makes no GitHub call.
  mockGitHub();
  app = createTestApp();
  fired = [];
  const waits = new GateWaits<{ id: number }>(({ id }) => void fired.push(id), 3_600_000);
  // Probot loads the app as soon as it can.
  const services = await vi.waitFor(() => app.services);
  (services as { gateWaits?: unknown }).gateWaits = waits;
  waits.wait({
    key: 77,
    runs: [{ correlationId: "conveyor-staging-77-1", repository: "acme/order-service" }],
    deadline: new Date(Date.now() + 3_600_000).toISOString(),
    entry: { id: 77 },
  });
  return () => waits.stop();
});

function runPayload(action: "completed" | "requested", title: string, repo = "order-service") {
  const payload = withRepo(
    example("workflow_run", (p) => p.action === action),
    { owner: "acme", repo, cloneUrl: "file:///nonexistent", installationId: 4242 },
  );
  Object.assign(payload.workflow_run as object, { display_title: title });
  return payload;
}

function workflowRun(action: "completed" | "requested", title: string, repo = "order-service") {
  return app.probot.receive({
    id: `run-${++delivery}`,
    name: "workflow_run",
    payload: runPayload(action, title, repo) as never,
  });
}

/** As GitHub delivers it: the raw body, signed with the webhook secret (Probot's default here). */
function signedDelivery(body: string, secret = "development") {
  return app.probot.webhooks.verifyAndReceive({
    id: `run-${++delivery}`,
    name: "workflow_run",
    payload: body,
    signature: `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
  });
}

describe("workflow_run", () => {
  it("a completed run of the gate's repository whose title carries the id: the gate is looked at now, once", async () => {
    await workflowRun("completed", "E2E [conveyor-staging-77-1]");
    expect(fired).toEqual([77]);
    // Its wait is over; the look registers it again if the run is still going.
    await workflowRun("completed", "E2E [conveyor-staging-77-1]");
    expect(fired).toEqual([77]);
  });

  it.each([
    ["a run that only started", "requested", "E2E [conveyor-staging-77-1]", "order-service"],
    ["the same title in another repository", "completed", "E2E [conveyor-staging-77-1]", "order-service-fork"],
    ["another gate's id that begins alike", "completed", "E2E [conveyor-staging-77-10]", "order-service"],
    ["a title without an id", "completed", "E2E of main", "order-service"],
  ] as const)("%s: nothing", async (_, action, title, repo) => {
    await workflowRun(action, title, repo);
    expect(fired).toEqual([]);
  });

  it("signed with the webhook secret, it nudges; signed with another key, it is refused and nudges nothing", async () => {
    const body = JSON.stringify(runPayload("completed", "E2E [conveyor-staging-77-1]"));
    await expect(signedDelivery(body, "not-the-secret")).rejects.toThrow(/signature does not match/);
    expect(fired).toEqual([]);
    await signedDelivery(body);
    expect(fired).toEqual([77]);
  });
});
