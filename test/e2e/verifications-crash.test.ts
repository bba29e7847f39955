// A crash with 60 verifications in flight loses none. One commit changes 60 services' staging
// overlays (a person's direct push: each change is verified like Conveyor's own); while Argo CD is
// still rolling them out the app is SIGKILLed. After the supervisor restarts it, every change
// reaches its verdict from what GitHub's Deployments say.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";
import { generatedServices, until } from "../helpers/e2e.js";

const SERVICES = Array.from({ length: 60 }, (_, i) => `svc-${String(i + 1).padStart(2, "0")}`);
const overlay = (service: string) => `services/${service}/overlays/staging/kustomization.yaml`;

const CONFIG = `environments:
  - name: staging
    soak: 2s
    timeouts: { sync: 300s, health: 120s }
`;

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };
const files = generatedServices(SERVICES);

beforeAll(async () => {
  world = await startWorld({
    files,
    config: CONFIG,
    applications: SERVICES.map((service) => ({
      name: `${service}-staging`,
      path: `services/${service}/overlays/staging`,
    })),
    // Argo CD's auto-sync waits (ten minutes): the crash finds every verification in flight, and
    // the test syncs the Applications itself after the restart, as an operator would.
    argoTimings: { autoSyncDelayMs: 600_000 },
    // Writes are spaced for GitHub's secondary rate limit (1 s by default); the forge has none.
    appEnv: { CONVEYOR_WRITE_INTERVAL_MS: "20" },
  });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 120_000);

afterAll(async () => {
  await world?.close();
});

async function states(): Promise<Map<string, string>> {
  const deployments = await ci.paginate(ci.rest.repos.listDeployments, {
    ...repo,
    environment: "staging",
    per_page: 100,
  });
  const out = new Map<string, string>();
  for (const d of deployments) {
    const [latest] = (await ci.rest.repos.listDeploymentStatuses({ ...repo, deployment_id: d.id, per_page: 1 })).data;
    out.set(String((d.payload as { service?: string }).service), latest?.state ?? "none");
  }
  return out;
}

const explain = async () => `${JSON.stringify(Object.fromEntries(await states()))}\n${world.appLog().slice(-3000)}`;

describe("SIGKILL during 60 verifications", () => {
  it("every one reaches its verdict after the restart", async () => {
    const changed: Record<string, string> = {};
    for (const service of SERVICES)
      changed[overlay(service)] = String(files[overlay(service)]).replace('newTag: "1.4.0"', 'newTag: "1.4.1"');
    expect(Object.values(changed).every((text) => text.includes('newTag: "1.4.1"'))).toBe(true);
    await world.forge.seed(OWNER, REPO, changed, "bump 60 services to 1.4.1", { author: "admin" });

    // All 60 are being verified (a Deployment each, in progress), none decided yet.
    await until(
      async () => {
        const now = await states();
        return now.size === SERVICES.length && [...now.values()].every((s) => s === "in_progress") ? now : undefined;
      },
      120_000,
      "60 verifications in flight",
      explain,
    );
    const pid = await world.crash();
    await world.waitForRestart(pid, 60_000);
    for (const service of SERVICES) await world.argo.sync(`${service}-staging`);

    const final = await until(
      async () => {
        const now = await states();
        return [...now.values()].every((s) => s === "success") ? now : undefined;
      },
      300_000,
      "60 verdicts",
      explain,
    );
    expect(final.size).toBe(SERVICES.length);
  }, 600_000);
});
