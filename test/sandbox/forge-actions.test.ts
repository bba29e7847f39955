// The forge's GitHub Actions stand-in, as E2E gates use it: a workflow dispatch starts a run
// whose outcome is scripted (an input containing "e2e-fail" fails it), the run is followed
// through `workflow_run` webhooks and the runs API, and bad dispatches get GitHub's refusals.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startForge, type Forge } from "../../sandbox/forge/index.js";
import { WORKFLOW_TIMINGS } from "../../sandbox/forge/routes-actions.js";
import {
  E2E_WORKFLOW,
  generateAppKeyPair,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../../sandbox/forge/testing.js";

const o = { owner: "acme", repo: "order-service" };

let dir: string;
let forge: Forge;
let receiver: WebhookReceiver;
let gh: Octokit;

beforeAll(async () => {
  WORKFLOW_TIMINGS.queuedMs = 20;
  WORKFLOW_TIMINGS.runMs = 60;
  dir = await mkdtemp(join(tmpdir(), "forge-actions-"));
  receiver = await startWebhookReceiver("s3cret");
  forge = await startForge({
    dataDir: dir,
    webhook: { url: receiver.url, secret: "s3cret" },
    app: { id: 5, slug: "conveyor", publicKeyPem: generateAppKeyPair().publicKeyPem },
    log: () => undefined,
  });
  await forge.createRepo("acme", "order-service");
  await forge.seed("acme", "order-service", { ".github/workflows/e2e.yml": E2E_WORKFLOW, "README.md": "x\n" }, "init");
  forge.installApp("acme");
  gh = new Octokit({
    baseUrl: forge.url,
    auth: forge.token("admin"),
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });
});
afterAll(async () => {
  await forge?.close();
  await receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

async function completed(runId: number) {
  for (;;) {
    const run = (await gh.actions.getWorkflowRun({ ...o, run_id: runId })).data;
    if (run.status === "completed") return run;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function dispatch(image: string, correlation: string): Promise<number> {
  const res = await gh.request("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", {
    ...o,
    workflow_id: "e2e.yml",
    ref: "main",
    inputs: { image, correlation_id: correlation },
    return_run_details: true,
  });
  return (res.data as { workflow_run_id: number }).workflow_run_id;
}

describe("workflow runs with a scripted outcome", () => {
  it("a good image passes; the run carries the inputs in its title and is listed", async () => {
    const id = await dispatch("ghcr.io/acme/order-service:1.5.0", "gate-1");
    const run = await completed(id);
    expect(run).toMatchObject({
      conclusion: "success",
      event: "workflow_dispatch",
      path: ".github/workflows/e2e.yml",
      head_branch: "main",
      display_title: "e2e of ghcr.io/acme/order-service:1.5.0 [gate-1]",
      html_url: `${new URL(forge.url).origin}/acme/order-service/actions/runs/${id}`,
    });
    const listed = await gh.actions.listWorkflowRuns({ ...o, workflow_id: "e2e.yml", event: "workflow_dispatch" });
    expect(listed.data.workflow_runs.map((r) => r.id)).toContain(id);
  });

  it("an image tagged e2e-fail fails, and workflow_run webhooks say requested, in_progress, completed", async () => {
    const id = await dispatch("ghcr.io/acme/order-service:1.6.0-e2e-fail", "gate-2");
    expect((await completed(id)).conclusion).toBe("failure");
    await forge.idle();
    for (
      let i = 0;
      i < 100 &&
      !receiver.received.some(
        (w) => w.payload["action"] === "completed" && (w.payload["workflow_run"] as { id: number }).id === id,
      );
      i++
    )
      await new Promise((resolve) => setTimeout(resolve, 20));
    const hooks = receiver.received
      .filter((w) => w.event === "workflow_run" && (w.payload["workflow_run"] as { id: number }).id === id)
      .map((w) => [w.payload["action"], (w.payload["workflow_run"] as { conclusion: string | null }).conclusion]);
    expect(hooks).toEqual([
      ["requested", null],
      ["in_progress", null],
      ["completed", "failure"],
    ]);
  });
});

describe("dispatches GitHub refuses", () => {
  const refuse = (body: { ref: string; inputs?: Record<string, string> }, workflow = "e2e.yml") =>
    gh
      .request("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", {
        ...o,
        workflow_id: workflow,
        ...body,
      })
      .then(
        () => undefined,
        (err: { status: number; message: string }) => [err.status, err.message],
      );
  it.each([
    ["an unknown workflow", { ref: "main" }, "deploy.yml", 404, "Not Found"],
    ["an unknown ref", { ref: "nope" }, "e2e.yml", 422, "No ref found for: nope"],
    [
      "inputs the workflow does not declare",
      { ref: "main", inputs: { evil: "x" } },
      "e2e.yml",
      422,
      'Unexpected inputs provided: ["evil"]',
    ],
  ])("%s", async (_, body, workflow, status, words) => {
    const refused = await refuse(body, workflow);
    expect(refused?.[0]).toBe(status);
    expect(refused?.[1]).toContain(words);
  });
});
