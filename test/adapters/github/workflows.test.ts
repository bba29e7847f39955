// The Workflows adapter against the local forge (real HTTP, GitHub's shapes): an E2E gate's
// workflow is dispatched, its run found by id or by correlation id, and read to its conclusion.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Octokit } from "../../../src/adapters/github/client.js";
import { Workflows } from "../../../src/adapters/github/workflows.js";
import { planGateDispatch, type GateRun } from "../../../src/core/gates.js";
import type { GateConfig } from "../../../src/core/strategy-config.js";
import { startForge, type Forge } from "../../../sandbox/forge/index.js";
import { WORKFLOW_TIMINGS } from "../../../sandbox/forge/routes-actions.js";
import { E2E_WORKFLOW, generateAppKeyPair } from "../../../sandbox/forge/testing.js";
import { UnthrottledOctokit } from "../../helpers/probot.js";

let dir: string;
let forge: Forge;
let workflows: Workflows;
const gate: GateConfig = { workflow: "e2e.yml", repository: "{source}", ref: "main", timeout: 60_000 };

beforeAll(async () => {
  WORKFLOW_TIMINGS.queuedMs = 20;
  WORKFLOW_TIMINGS.runMs = 60;
  dir = await mkdtemp(join(tmpdir(), "workflows-adapter-"));
  forge = await startForge({
    dataDir: dir,
    app: { id: 9, slug: "conveyor", publicKeyPem: generateAppKeyPair().publicKeyPem },
    log: () => undefined,
  });
  await forge.createRepo("acme", "order-service");
  await forge.seed("acme", "order-service", { ".github/workflows/e2e.yml": E2E_WORKFLOW }, "init");
  const octokit = new UnthrottledOctokit({ baseUrl: forge.url, auth: { token: forge.token("admin") } }) as Octokit;
  workflows = new Workflows(octokit, { owner: "acme", repo: "order-service" });
});
afterAll(async () => {
  await forge?.close();
  await rm(dir, { recursive: true, force: true });
});

function dispatchFor(image: string, deploymentId: number) {
  const plan = planGateDispatch(gate, 0, {
    service: "order-service",
    env: "staging",
    image,
    manifestsCommit: "b".repeat(40),
    sourceRepository: "acme/order-service",
    deploymentId,
  });
  if (plan.kind !== "dispatch") throw new Error(plan.reason);
  return plan.dispatch;
}

async function finished(read: () => Promise<GateRun | undefined>): Promise<GateRun> {
  for (;;) {
    const run = await read();
    if (run?.status === "completed") return run;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("Workflows", () => {
  it("dispatches a gate and follows its run by id to success", async () => {
    const { runId } = await workflows.dispatch(dispatchFor("ghcr.io/acme/order-service:1.5.0", 1));
    expect(runId).toBeTypeOf("number");
    const run = await finished(() => workflows.getRun(runId as number));
    expect(run).toMatchObject({ conclusion: "success" });
    expect(run.htmlUrl).toMatch(/\/acme\/order-service\/actions\/runs\/\d+$/);
  });

  it("finds a failing gate's run by its correlation id", async () => {
    const dispatch = dispatchFor("ghcr.io/acme/order-service:1.6.0-e2e-fail", 2);
    const { runId } = await workflows.dispatch(dispatch);
    const run = await finished(() => workflows.findRun("e2e.yml", dispatch.correlationId));
    expect(run).toMatchObject({ id: runId, conclusion: "failure" });
    expect(await workflows.findRun("e2e.yml", "conveyor-staging-999-1")).toBeUndefined();
  });
});
