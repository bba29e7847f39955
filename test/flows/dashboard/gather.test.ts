// Gathering a repository's dashboard: Deployments, holds, freezes and waiting PRs become the
// dashboard's input; source commit times are asked for once; the metrics become gauges.
import { describe, expect, it, vi } from "vitest";
import type { DeploymentHistory } from "../../../src/core/dashboard/model.js";
import { DashboardData, metricsFor } from "../../../src/flows/dashboard/gather.js";
import type { Services } from "../../../src/flows/services.js";
import { Metrics } from "../../../src/runtime/metrics.js";

const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn(), child: () => log };
const NOW = Date.parse("2026-03-10T12:00:00Z");
const SHA = "b".repeat(40);

function fakeServices() {
  const deployment: DeploymentHistory = {
    id: 1,
    service: "order-service",
    env: "staging",
    image: "ghcr.io/acme/order-service:1.5.0",
    from: null,
    pr: 2,
    revert: false,
    sha: "a".repeat(40),
    createdAt: "2026-03-10T10:00:00Z",
    source: { repository: "acme/order-service", sha: SHA },
    statuses: [{ state: "success", at: "2026-03-10T10:30:00Z", description: "Synced, healthy and stable" }],
  };
  const commitDate = vi.fn(async () => "2026-03-10T09:00:00Z");
  const sibling = vi.fn(() => ({ commitDate }));
  const gh = {
    fullName: "acme/manifests",
    readConfigFile: async () => ({ services: { "order-service": {} } }),
    deployments: { histories: async () => [structuredClone(deployment)] },
    issues: {
      listOpen: async (label: string) =>
        label === "conveyor:hold"
          ? [
              {
                number: 4,
                title: "held",
                createdAt: "2026-03-10T11:00:00Z",
                body: "The rollout of order-service in **staging** failed: Degraded\n\nheld image: `x:1`\n\n<!-- conveyor:hold:order-service:staging -->",
              },
            ]
          : [],
    },
    pulls: { listOpen: async () => [] },
    sibling,
  };
  const metrics = new Metrics();
  const services = {
    github: { repo: async () => gh, botLogin: async () => "conveyor[bot]" },
    workspaces: { get: () => ({ useToken: () => ({ dir: "/nonexistent/conveyor-dashboard-test" }) }) },
    metrics,
  } as unknown as Services;
  return { services, metrics, commitDate, sibling };
}

const repo = {
  installationId: 1,
  ref: { owner: "acme", repo: "manifests" },
  cloneUrl: "https://github.com/acme/manifests.git",
  defaultBranch: "main",
  htmlUrl: "https://github.com/acme/manifests",
};

describe("DashboardData", () => {
  it("gathers holds with why and since, services without a clone, and the source commit's time once", async () => {
    const { services, commitDate, sibling } = fakeServices();
    const data = new DashboardData(services, log, { now: () => NOW });
    const first = await data.get(repo);
    if (!first.ok) throw new Error(first.reason);
    expect(first.input.services).toEqual(["order-service"]);
    expect(first.input.holds).toEqual([
      {
        service: "order-service",
        env: "staging",
        image: "x:1",
        issue: 4,
        since: "2026-03-10T11:00:00Z",
        reason: "Degraded",
      },
    ]);
    expect(sibling).toHaveBeenCalledWith({ owner: "acme", repo: "order-service" });
    expect(first.input.deployments[0]!.sourceCommittedAt).toBe("2026-03-10T09:00:00Z");
    const [staging] = metricsFor(first.input, 7, NOW);
    expect(staging!.leadTime).toBe(90 * 60);
    await data.get(repo, { fresh: true });
    expect(commitDate).toHaveBeenCalledTimes(1);
  });

  it("exports the figures as gauges", async () => {
    const { services, metrics } = fakeServices();
    await new DashboardData(services, log, { now: () => NOW }).get(repo);
    const text = await metrics.registry.metrics();
    expect(text).toContain('conveyor_delivery_lead_time_seconds{repo="acme/manifests",env="staging",window="7d"} 5400');
    expect(text).toContain('conveyor_delivery_deployments{repo="acme/manifests",env="production",window="90d"} 0');
    expect(text).not.toContain('conveyor_delivery_lead_time_seconds{repo="acme/manifests",env="production"');
  });
});
