import { describe, expect, it } from "vitest";
import { dashboardIssueText, tickedActions, untick } from "../../../src/core/dashboard/issue.js";
import { buildDashboard } from "../../../src/core/dashboard/matrix.js";
import type { DashboardInput } from "../../../src/core/dashboard/model.js";

const input: DashboardInput = {
  repo: "acme/manifests",
  htmlUrl: "https://github.com/acme/manifests",
  environments: [
    { name: "staging", approvers: [], autoMerge: true },
    { name: "production", approvers: ["reviewer"], autoMerge: false },
  ],
  services: ["order-service"],
  deployments: [
    {
      id: 7,
      service: "order-service",
      env: "staging",
      image: "ghcr.io/acme/order-service:1.5.0",
      from: null,
      pr: 3,
      revert: false,
      sha: "a".repeat(40),
      createdAt: "2026-03-01T10:00:00Z",
      statuses: [{ state: "success", at: "2026-03-01T10:05:00Z", description: "Verified" }],
    },
  ],
  holds: [
    { service: "order-service", env: "staging", issue: 9, since: "2026-03-01T11:00:00Z", reason: "Degraded | <b>" },
  ],
  freezes: [
    { env: "production", issue: 12, since: "2026-03-01T12:00:00Z", by: "reviewer", reason: "release `freeze`" },
  ],
  waiting: [],
  verifying: [],
};

describe("the dashboard issue's text", () => {
  const { title, body } = dashboardIssueText(buildDashboard(input), {
    web: "https://conveyor.example/dashboard/acme/manifests",
  });

  it("has the matrix, a box per action, and nothing that changes with the clock", () => {
    expect(title).toBe("Conveyor dashboard");
    expect(body).toContain("| Service | staging | production |");
    expect(body).toContain(
      "| order-service | ✋ held `ghcr.io/acme/order-service:1.5.0` since 2026-03-01 11:00 UTC [#3]",
    );
    expect(body).toContain(
      "- [ ] promote order-service `ghcr.io/acme/order-service:1.5.0` to **production** (verified in staging) <!-- conveyor:action:promote:order-service:production -->",
    );
    expect(body).toContain("<!-- conveyor:action:unhold:order-service:staging -->");
    expect(body).toContain("<!-- conveyor:action:unfreeze:production -->");
    expect(
      dashboardIssueText(buildDashboard(input), { web: "https://conveyor.example/dashboard/acme/manifests" }).body,
    ).toBe(body);
  });

  it("escapes what people wrote so it cannot break the table or forge a box", () => {
    expect(body).toContain("Degraded \\| \\<b\\>");
    expect(body).toContain("release \\`freeze\\`");
  });
});

describe("tickedActions", () => {
  const { body } = dashboardIssueText(buildDashboard(input));
  const tick = (text: string, marker: string) =>
    text
      .split("\n")
      .map((l) => (l.includes(marker) ? l.replace("- [ ]", "- [x]") : l))
      .join("\n");

  const cases: Array<{ name: string; after: string; expected: unknown[] }> = [
    { name: "no change", after: body, expected: [] },
    {
      name: "one box ticked",
      after: tick(body, "conveyor:action:unhold:order-service:staging"),
      expected: [{ kind: "unhold", service: "order-service", env: "staging" }],
    },
    {
      name: "two boxes ticked, in the order they stand",
      after: tick(tick(body, "conveyor:action:unfreeze:production"), "conveyor:action:promote:"),
      expected: [
        { kind: "promote", service: "order-service", env: "production" },
        { kind: "unfreeze", env: "production" },
      ],
    },
    {
      name: "a line someone added already ticked is not an action (it was never an unticked box)",
      after: `${body}\n- [x] deploy everything <!-- conveyor:action:promote:user-service:production -->`,
      expected: [],
    },
    {
      name: "a marker with a name that is not a name is ignored",
      after: body.replace("conveyor:action:unfreeze:production", "conveyor:action:unfreeze:PROD;rm"),
      expected: [],
    },
  ];
  for (const c of cases) it(c.name, () => expect(tickedActions(body, c.after)).toEqual(c.expected));

  it("untick puts a refused box back", () => {
    const ticked = tick(body, "conveyor:action:unfreeze:production");
    expect(untick(ticked, { kind: "unfreeze", env: "production" })).toBe(body);
  });
});
