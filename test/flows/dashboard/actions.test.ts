// Ticked boxes by someone without write access: refused, the box unticked, the reply says why,
// and only once an hour, so ticking again and again spends none of Conveyor's writes.
import { describe, expect, it, vi } from "vitest";
import { parseConfig, type Config } from "../../../src/core/config.js";
import { dashboardIssueText } from "../../../src/core/dashboard/issue.js";
import { buildDashboard } from "../../../src/core/dashboard/matrix.js";
import type { DashboardInput } from "../../../src/core/dashboard/model.js";
import { runDashboardActions } from "../../../src/flows/dashboard/issue.js";
import type { RepoScope } from "../../../src/flows/repo-scope.js";
import type { Services } from "../../../src/flows/services.js";
import { OncePer } from "../../../src/runtime/once-per.js";

const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn(), child: () => log };
const config = (parseConfig({}) as { ok: true; config: Config }).config;
const input: DashboardInput = {
  repo: "acme/manifests",
  htmlUrl: "https://github.com/acme/manifests",
  environments: config.environments.map((e) => ({ name: e.name, approvers: e.approvers, autoMerge: e.autoMerge })),
  services: ["order-service"],
  deployments: [],
  holds: [{ service: "order-service", env: "staging", issue: 4, since: "2026-03-10T11:00:00Z" }],
  freezes: [],
  waiting: [],
  verifying: [],
};

describe("runDashboardActions", () => {
  it("refuses someone without write access once an hour, unticking the box", async () => {
    const body = dashboardIssueText(buildDashboard(input)).body;
    const ticked = body.replace("- [ ] lift hold", "- [x] lift hold");
    const writes: string[] = [];
    const gh = {
      fullName: "acme/manifests",
      permissions: { of: async () => "read" },
      issues: {
        edit: async (_n: number, i: { body: string }) => {
          writes.push(`edit:${i.body === body ? "unticked" : "other"}`);
        },
        comment: async (_n: number, text: string) => {
          writes.push(`comment:${text.split("\n").find((l) => l.startsWith("❌")) ?? text}`);
        },
      },
    };
    const services = { answers: new OncePer(3_600_000) } as unknown as Services;
    const scope = { gh, log } as unknown as RepoScope;
    const tick = () =>
      runDashboardActions(
        services,
        scope,
        config,
        { ok: true, input, config },
        {
          issue: { number: 9, body: ticked, url: "https://github.com/acme/manifests/issues/9" },
          user: "visitor",
          actions: [{ kind: "unhold", service: "order-service", env: "staging" }],
        },
      );
    await tick();
    await tick();
    expect(writes).toEqual([
      "edit:unticked",
      "comment:❌ Refused: commands need write access to this repository; @visitor has read access. Who may do it instead: anyone with write access.",
    ]);
  });
});
