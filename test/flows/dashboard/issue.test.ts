// The dashboard issue's pacing: a burst of events is one edit, edits are at least the interval
// apart, nothing unchanged is written, a closed issue is reopened, and `dashboard.issue: false`
// writes nothing.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseConfig, type Config } from "../../../src/core/config.js";
import type { DashboardInput } from "../../../src/core/dashboard/model.js";
import type { DashboardData, DashboardRepo } from "../../../src/flows/dashboard/gather.js";
import { DashboardIssue } from "../../../src/flows/dashboard/issue.js";

const repo: DashboardRepo = {
  installationId: 1,
  ref: { owner: "acme", repo: "manifests" },
  cloneUrl: "https://github.com/acme/manifests.git",
  defaultBranch: "main",
  htmlUrl: "https://github.com/acme/manifests",
};
const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn(), child: () => log };

function world(options: { config?: Partial<Config>; services?: string[]; createMs?: number } = {}) {
  const config = { ...(parseConfig({}) as { ok: true; config: Config }).config, ...options.config };
  let input: DashboardInput = {
    repo: "acme/manifests",
    htmlUrl: repo.htmlUrl,
    environments: config.environments.map((e) => ({ name: e.name, approvers: e.approvers, autoMerge: e.autoMerge })),
    services: options.services ?? ["order-service"],
    deployments: [],
    holds: [],
    freezes: [],
    waiting: [],
    verifying: [],
  };
  const issue = { number: 0, title: "", body: "", open: true };
  const writes: string[] = [];
  const gh = {
    issues: {
      findAny: vi.fn(async () => (issue.number ? { ...issue } : undefined)),
      create: vi.fn(async (i: { title: string; body: string }) => {
        // A slow GitHub (or one whose retries wait): the issue exists only once the call returns.
        if (options.createMs) await new Promise((resolve) => setTimeout(resolve, options.createMs));
        Object.assign(issue, { number: 5, title: i.title, body: i.body, open: true });
        writes.push("create");
        return 5;
      }),
      edit: vi.fn(async (_n: number, i: { title: string; body: string; reopen?: boolean }) => {
        Object.assign(issue, { title: i.title, body: i.body, open: issue.open || Boolean(i.reopen) });
        writes.push(i.reopen ? "reopen" : "edit");
      }),
    },
  };
  const data = {
    get: vi.fn(async () => ({ ok: true as const, input, config })),
    repoClient: async () => gh,
  } as unknown as DashboardData;
  return {
    dashboard: new DashboardIssue(data, log, { intervalMs: 10_000, settleMs: 2_000 }),
    writes,
    issue,
    change: (services: string[]) => (input = { ...input, services }),
  };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("DashboardIssue", () => {
  it("a burst of events is one write, after the settle time", async () => {
    const w = world();
    for (let i = 0; i < 20; i++) w.dashboard.touch(repo);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(w.writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.writes).toEqual(["create"]);
    expect(w.issue.body).toContain("| order-service |");
  });

  it("edits at most once per interval, and not at all when nothing changed", async () => {
    const w = world();
    w.dashboard.touch(repo);
    await vi.advanceTimersByTimeAsync(2_000);
    w.change(["order-service", "user-service"]);
    w.dashboard.touch(repo);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(w.writes).toEqual(["create"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(w.writes).toEqual(["create", "edit"]);
    w.dashboard.touch(repo);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(w.writes).toEqual(["create", "edit"]);
  });

  it("a closed issue is opened again, not made twice", async () => {
    const w = world();
    w.dashboard.touch(repo);
    await vi.advanceTimersByTimeAsync(2_000);
    w.issue.open = false;
    w.dashboard.touch(repo);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(w.writes).toEqual(["create", "reopen"]);
    expect(w.issue.open).toBe(true);
  });

  it("a write slower than the interval is not overlapped by the next: the issue is made once", async () => {
    const w = world({ createMs: 15_000 });
    w.dashboard.touch(repo);
    await vi.advanceTimersByTimeAsync(2_000);
    w.change(["order-service", "user-service"]);
    w.dashboard.touch(repo);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(w.writes).toEqual(["create", "edit"]);
    expect(w.issue.body).toContain("| user-service |");
  });

  it("writes nothing with dashboard.issue: false, or for a repository without services", async () => {
    const off = world({ config: { dashboard: { issue: false } } });
    off.dashboard.touch(repo);
    const none = world({ services: [] });
    none.dashboard.touch(repo);
    await vi.advanceTimersByTimeAsync(60_000);
    expect([...off.writes, ...none.writes]).toEqual([]);
  });
});
