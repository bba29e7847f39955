// `/hold` (label one PR) and `/hold <env>` (freeze an environment with an issue), run as the
// comment flow runs them: a CommandRun over the real workspace and queue, strict GitHub mocks.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseConfig, type Config } from "../../../src/core/config.js";
import { parseFreezeIssue } from "../../../src/core/markers.js";
import type { CommandRun } from "../../../src/flows/commands/execute.js";
import { freeze, hold } from "../../../src/flows/commands/hold.js";
import { flowWorld, R, type FlowWorld } from "../../helpers/flow-world.js";

const CONFIG = ((r) => (r.ok ? r.config : undefined))(
  parseConfig({
    environments: [
      { name: "staging", autoMerge: true },
      { name: "production", approvers: ["lead"] },
    ],
  }),
) as Config;
const COMMENT_URL = "https://github.com/acme/manifests/pull/12#issuecomment-777";

let w: FlowWorld;
beforeEach(() => (w = flowWorld()));
afterEach(() => {
  vi.useRealTimers();
  w.cleanup();
});

const runAs = (user = "dev"): CommandRun => ({
  services: w.services,
  scope: w.scope,
  config: CONFIG,
  user,
  facts: { histories: {}, frozen: [], approver: {} },
  commentUrl: COMMENT_URL,
});

/** The open freeze issues GitHub lists (issues, not PRs, labelled conveyor:freeze). */
function expectFreezeList(issues: Array<{ number: number; title: string; body: string }>) {
  w.gh.scope
    .get(`${R}/issues`)
    .query({ state: "open", labels: "conveyor:freeze", per_page: "100" })
    .reply(
      200,
      issues.map((i) => ({ ...i, state: "open", labels: [{ name: "conveyor:freeze" }], pull_request: undefined })),
    );
}

describe("/hold on a pull request", () => {
  it("labels the PR conveyor:hold and says how to resume (1 call)", async () => {
    w.gh.scope
      .post(`${R}/issues/12/labels`, { labels: ["conveyor:hold"] })
      .reply(200, [{ name: "conveyor" }, { name: "conveyor:hold" }]);
    const outcome = await hold(runAs(), 12);
    expect(outcome).toEqual({
      ok: true,
      text: "On hold: Conveyor will not merge this pull request (label `conveyor:hold`). `/unhold` resumes it.",
    });
    expect(w.gh.calls()).toEqual([`POST ${R}/issues/12/labels`]);
  });

  it("a label GitHub refuses is an error for the comment flow to report, not a success", async () => {
    w.gh.scope.post(`${R}/issues/12/labels`).reply(403, { message: "Resource not accessible by integration" });
    await expect(hold(runAs(), 12)).rejects.toThrow("Resource not accessible by integration");
  });
});

describe("/hold <env>: freeze", () => {
  it("opens one freeze issue saying who, when and why, and links it in the answer", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2025-06-02T09:14:05.000Z") });
    expectFreezeList([]);
    let created: { title: string; body: string; labels: string[] } | undefined;
    w.gh.scope
      .post(`${R}/issues`, (b) => ((created = b), true))
      .reply(201, { number: 40, html_url: "https://github.com/acme/manifests/issues/40" });
    const outcome = await freeze(runAs("alice"), "production", "release on Monday");
    expect(outcome).toEqual({
      ok: true,
      text: "**production** is frozen ([#40](https://github.com/acme/manifests/issues/40)): no automatic merges or promotions into it until `/unhold production`.",
    });
    expect(created?.title).toBe("Conveyor: production is frozen");
    expect(created?.labels).toEqual(["conveyor:freeze"]);
    expect(created?.body).toContain("- Frozen by: @alice");
    expect(created?.body).toContain("- When: 2025-06-02T09:14:05.000Z");
    expect(created?.body).toContain(`- Why: \`release on Monday\` ([comment](${COMMENT_URL}))`);
    // What merges and promotions read back from it:
    expect(parseFreezeIssue(created?.body)).toBe("production");
  });

  it("without a reason the issue says none was given", async () => {
    expectFreezeList([]);
    let created: { body: string } | undefined;
    w.gh.scope.post(`${R}/issues`, (b) => ((created = b), true)).reply(201, { number: 41 });
    await freeze(runAs(), "staging", undefined);
    expect(created?.body).toContain("- Why: no reason given ([comment](");
    expect(parseFreezeIssue(created?.body)).toBe("staging");
  });

  it("freezing a frozen environment updates its issue (new who, when, why) instead of opening a second one", async () => {
    const existing = {
      number: 40,
      title: "Conveyor: production is frozen",
      body: "**production** is frozen\n\n- Frozen by: @lead\n\n<!-- conveyor:freeze:production -->",
    };
    expectFreezeList([
      { number: 39, title: "Conveyor: staging is frozen", body: "<!-- conveyor:freeze:staging -->" },
      existing,
    ]);
    let updated: { title: string; body: string } | undefined;
    w.gh.scope.patch(`${R}/issues/40`, (b) => ((updated = b), true)).reply(200, { number: 40 });
    const outcome = await freeze(runAs("alice"), "production", "incident 512");
    expect(outcome.text).toContain("([#40](https://github.com/acme/manifests/issues/40))");
    expect(updated?.body).toContain("- Frozen by: @alice");
    expect(updated?.body).toContain("- Why: `incident 512`");
    expect(parseFreezeIssue(updated?.body)).toBe("production");
  });

  // Regression (found in review, fixed): the reason is copied into the body before the marker Conveyor appends, and the first
  // freeze marker wins when it is read back: `/hold staging -- <!-- conveyor:freeze:production -->`
  // freezes production in effect and leaves staging merging automatically.
  it("the freeze issue reads back as the environment frozen, whatever the reason quotes", async () => {
    expectFreezeList([]);
    let created: { body: string } | undefined;
    w.gh.scope.post(`${R}/issues`, (b) => ((created = b), true)).reply(201, { number: 42 });
    await freeze(runAs(), "staging", "copied from <!-- conveyor:freeze:production -->");
    expect(parseFreezeIssue(created?.body)).toBe("staging");
  });
});
