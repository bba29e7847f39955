// report-rejection: whoever sent a refused deploy event hears why. A failed conveyor/deploy check
// run on their commit when their repository is in the same installation; otherwise one issue per
// (service, reason) in the manifests repository, updated and never duplicated.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { markerTag } from "../../src/core/markers.js";
import type { Rejection } from "../../src/core/plan-deploy.js";
import { reportFailure, reportRecovered, reportRejection } from "../../src/flows/report-rejection.js";
import { flowWorld, INSTALLATION, R, type FlowWorld } from "../helpers/flow-world.js";

const SHA = "c".repeat(40);
const SOURCE = "/repos/acme/order-service";
const REASON =
  "ghcr.io/acme/order-service:1.3.9 is older than ghcr.io/acme/order-service:1.4.0 in staging; an older version never replaces a newer one (send a rollback instead)";
const TITLE = "Conveyor refused a deploy of order-service (older-version)";
const MARKER = markerTag("conveyor:error:order-service:older-version");

let w: FlowWorld;
beforeEach(() => (w = flowWorld()));
afterEach(() => w.cleanup());

function rejection(extra: Partial<Rejection> = {}): Rejection {
  return {
    kind: "reject",
    code: "older-version",
    reason: REASON,
    service: "order-service",
    source: {
      repository: "acme/order-service",
      sha: SHA,
      runUrl: "https://github.com/acme/order-service/actions/runs/9",
    },
    ...extra,
  };
}

const report = (r: Rejection = rejection(), deliveryId = "delivery-1") =>
  reportRejection(w.services, w.scope, { eventType: "deploy", deliveryId, rejection: r });

function expectErrorIssues(existing: Array<{ number: number; title: string; body: string }>) {
  w.gh.scope
    .get(`${R}/issues`)
    .query({ state: "open", labels: "conveyor:error", per_page: "100" })
    .reply(200, existing);
}

function expectIssueCreated() {
  const seen: { body?: Record<string, unknown> } = {};
  w.gh.scope.post(`${R}/issues`, (body) => ((seen.body = body), true)).reply(201, { number: 41 });
  return seen;
}

describe("when the source repository is in the same installation", () => {
  it("fails a conveyor/deploy check run on the source commit, and opens no issue", async () => {
    w.gh.scope.get(`${SOURCE}/installation`).reply(200, { id: INSTALLATION });
    let check: Record<string, unknown> | undefined;
    w.gh.scope
      .post(`${SOURCE}/check-runs`, (body) => ((check = body), true))
      .reply(201, { id: 1, html_url: "https://github.com/acme/order-service/runs/1" });

    await report();

    expect(check).toMatchObject({
      name: "conveyor/deploy",
      head_sha: SHA,
      status: "completed",
      conclusion: "failure",
      output: { title: TITLE },
    });
    const summary = (check?.output as { summary: string }).summary;
    expect(summary).toContain(`**Reason:** ${REASON}`);
    expect(summary).toContain("Nothing was changed.");
    expect(summary).toContain("Delivery: `delivery-1`");
    expect(summary).toContain("[CI run](https://github.com/acme/order-service/actions/runs/9)");
    expect(w.gh.calls()).toEqual([`GET ${SOURCE}/installation`, `POST ${SOURCE}/check-runs`]);
  });

  it.each([403, 422])("falls back to an issue when GitHub refuses the check run (%i)", async (status) => {
    w.gh.scope.get(`${SOURCE}/installation`).reply(200, { id: INSTALLATION });
    w.gh.scope.post(`${SOURCE}/check-runs`).reply(status, { message: "refused" });
    expectErrorIssues([]);
    const created = expectIssueCreated();

    await report();

    expect(created.body).toMatchObject({ title: TITLE, labels: ["conveyor:error"] });
    expect(created.body?.body).toContain(`**Reason:** ${REASON}`);
  });

  it("does not mistake a GitHub server error for 'not installed': the report fails and opens no issue", async () => {
    w.gh.scope.get(`${SOURCE}/installation`).reply(500, { message: "boom" });

    await expect(report()).rejects.toMatchObject({ status: 500 });
  });
});

describe("otherwise: an issue in the manifests repository", () => {
  it("a source repository of another installation gets nothing, and the issue does not say it is installed there", async () => {
    // Another tenant's repository, named in a dispatch: nothing may be written there.
    w.gh.scope.get(`${SOURCE}/installation`).reply(200, { id: 555 });
    expectErrorIssues([]);
    const created = expectIssueCreated();

    await report();

    expect(w.gh.calls()).toEqual([`GET ${SOURCE}/installation`, `GET ${R}/issues`, `POST ${R}/issues`]);
    expect(String(created.body?.body)).not.toMatch(/installed/i);
  });

  it("opens an issue labelled conveyor:error that says why and who sent the event", async () => {
    w.gh.scope.get(`${SOURCE}/installation`).reply(404, { message: "Not Found" });
    expectErrorIssues([]);
    const created = expectIssueCreated();

    await report();

    expect(created.body).toMatchObject({ title: TITLE, labels: ["conveyor:error"] });
    const body = created.body?.body as string;
    expect(body).toContain("Conveyor refused a `deploy` event for **order-service** in acme/manifests.");
    expect(body).toContain(`**Reason:** ${REASON}`);
    expect(body).toContain(`[acme/order-service](https://github.com/acme/order-service) at [\`${SHA.slice(0, 12)}\`]`);
    expect(body.endsWith(MARKER)).toBe(true);
    expect(w.logs.some((l) => l.level === "warn" && l.msg === `deploy refused: ${REASON}`)).toBe(true);
  });

  it("without a source commit it goes straight to the issue, asking nobody about installations", async () => {
    expectErrorIssues([]);
    const created = expectIssueCreated();

    await report(rejection({ source: {} }));

    expect(created.body?.body).toContain("Sent by: a deploy event with no source details");
    expect(w.gh.calls()).toEqual([`GET ${R}/issues`, `POST ${R}/issues`]);
  });

  it("the same problem again updates the open issue instead of opening a second one", async () => {
    w.gh.scope.get(`${SOURCE}/installation`).reply(404, { message: "Not Found" });
    expectErrorIssues([
      { number: 40, title: TITLE, body: `old text, Delivery: \`delivery-0\`\n\n${MARKER}` },
      { number: 39, title: "unrelated", body: "a person's issue" },
    ]);
    let update: Record<string, unknown> | undefined;
    w.gh.scope.patch(`${R}/issues/40`, (body) => ((update = body), true)).reply(200, {});

    await report(rejection(), "delivery-2");

    expect(update?.title).toBe(TITLE);
    expect(update?.body).toContain("Delivery: `delivery-2`");
    expect(update?.body).toContain(MARKER);
  });

  it("a redelivery of the same event finds its issue unchanged and writes nothing", async () => {
    w.gh.scope.get(`${SOURCE}/installation`).reply(404, { message: "Not Found" });
    expectErrorIssues([]);
    const created = expectIssueCreated();
    await report(rejection(), "delivery-7");
    const { title, body } = created.body as { title: string; body: string };

    // Where the source repository is installed is remembered for a minute: not asked again.
    expectErrorIssues([{ number: 41, title, body }]);
    await report(rejection(), "delivery-7");

    expect(w.gh.calls().filter((c) => !c.startsWith("GET"))).toEqual([`POST ${R}/issues`]);
  });

  it("another reason for the same service is another issue", async () => {
    w.gh.scope.get(`${SOURCE}/installation`).reply(404, { message: "Not Found" });
    expectErrorIssues([{ number: 40, title: TITLE, body: `old\n\n${MARKER}` }]);
    const created = expectIssueCreated();

    await report(
      rejection({ code: "image-mismatch", reason: "image `ghcr.io/acme/other` is not this service's image" }),
    );

    expect(created.body?.title).toBe("Conveyor refused a deploy of order-service (image-mismatch)");
    expect(created.body?.body).toContain(markerTag("conveyor:error:order-service:image-mismatch"));
  });
});

describe("an accepted event whose PR could not be made yet", () => {
  const RUNS = `${SOURCE}/commits/${SHA}/check-runs`;
  // Named for the service: a commit may send several services' deploys.
  const QUERY = { check_name: "conveyor/deploy (order-service)", filter: "latest", per_page: "10" };
  const source = { repository: "acme/order-service", sha: SHA };
  const failure = (retryAt?: string) =>
    reportFailure(w.services, w.scope, {
      eventType: "deploy",
      deliveryId: "delivery-7",
      service: "order-service",
      source,
      reason: "GitHub answered 502",
      retryAt,
    });

  it("keeps the sender's check in progress while it is retried, and passes it once the PR is made", async () => {
    w.gh.scope.get(`${SOURCE}/installation`).reply(200, { id: INSTALLATION });
    const seen: { created?: Record<string, unknown>; updated?: Record<string, unknown> } = {};
    w.gh.scope
      .get(RUNS)
      .query(QUERY)
      .reply(200, { total_count: 0, check_runs: [] })
      .post(`${SOURCE}/check-runs`, (body) => ((seen.created = body), true))
      .reply(201, { id: 5 })
      .get(RUNS)
      .query(QUERY)
      .reply(200, { total_count: 1, check_runs: [{ id: 5, name: "conveyor/deploy (order-service)" }] })
      .patch(`${SOURCE}/check-runs/5`, (body) => ((seen.updated = body), true))
      .reply(200, { id: 5 });

    await failure("2026-12-01T20:00:00.000Z");
    // Late, not lost: in progress, not failed.
    expect(seen.created).toMatchObject({
      head_sha: SHA,
      name: "conveyor/deploy (order-service)",
      status: "in_progress",
    });
    expect(seen.created).not.toHaveProperty("conclusion");
    expect((seen.created?.output as { summary: string }).summary).toContain(
      "Conveyor tries again at 2026-12-01T20:00:00.000Z",
    );

    await reportRecovered(w.services, w.scope, {
      deliveryId: "delivery-7",
      service: "order-service",
      source,
      pr: 12,
      attempts: 2,
    });
    // The same check run passes, naming the PR.
    expect(seen.updated).toMatchObject({ status: "completed", conclusion: "success" });
    expect((seen.updated?.output as { summary: string }).summary).toContain(`was made after all: acme/manifests#12`);
  });

  it("fails that check when Conveyor gives up", async () => {
    w.gh.scope.get(`${SOURCE}/installation`).reply(200, { id: INSTALLATION });
    let updated: Record<string, unknown> | undefined;
    w.gh.scope
      .get(RUNS)
      .query(QUERY)
      .reply(200, { total_count: 1, check_runs: [{ id: 5, name: "conveyor/deploy (order-service)" }] })
      .patch(`${SOURCE}/check-runs/5`, (body) => ((updated = body), true))
      .reply(200, { id: 5 });
    await failure(undefined);
    expect(updated).toMatchObject({ status: "completed", conclusion: "failure" });
    expect((updated?.output as { summary: string }).summary).toContain("Conveyor gave up on this event");
  });
});
