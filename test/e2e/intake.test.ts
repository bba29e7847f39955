// End to end intake: deploy events over real HTTP into the real Conveyor process, PRs in the local
// forge. Staging does not auto-merge here, so PRs stay open and can be superseded.
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";
import { pullRequest } from "../../sandbox/scenario.js";
import { signWebhook } from "../../sandbox/forge/index.js";
import { example, withRepo } from "../helpers/payloads.js";

let world: World;
let ci: Octokit;
const repo = { owner: OWNER, repo: REPO };
const CONFIG = "environments:\n  - name: staging\n  - name: production\n";

beforeAll(async () => {
  world = await startWorld({ config: CONFIG });
  ci = new Octokit({ baseUrl: world.forge.url, auth: world.tokens.admin });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

async function fileOn(branch: string, service: string): Promise<string> {
  const { data } = await ci.rest.repos.getContent({
    ...repo,
    path: `services/${service}/overlays/staging/kustomization.yaml`,
    ref: branch,
  });
  return Buffer.from((data as { content: string }).content, "base64").toString();
}

const issueTitled =
  (words: string) => (d: { event: string; action: string | null; payload: Record<string, unknown> }) =>
    d.event === "issues" && String((d.payload as { issue: { title: string } }).issue.title).includes(words);

describe("deploy events become PRs", () => {
  it("deploy-<service> {image} opens a PR; a newer generic deploy {service, tag, source} supersedes it in place", async () => {
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-order-service",
      client_payload: { image: "ghcr.io/acme/order-service:1.5.0" },
    });
    const first = await pullRequest(world, "conveyor/staging/order-service", 20_000);
    expect(first.title).toBe("Deploy order-service 1.5.0 to staging");
    expect(await fileOn("conveyor/staging/order-service", "order-service")).toContain(
      'newTag: "1.5.0" # deployed by Conveyor',
    );

    const sha = "c".repeat(40);
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy",
      client_payload: {
        service: "order-service",
        tag: "1.6.0",
        source: { repository: "acme/order-service", sha, run_url: "https://ci.example.com/runs/7" },
      },
    });
    await world.forge.waitForEvent(
      (d) =>
        d.event === "issue_comment" &&
        String((d.payload as { comment: { body: string } }).comment.body).includes(
          "superseding `ghcr.io/acme/order-service:1.5.0`",
        ),
      20_000,
    );
    const { data: prs } = await ci.rest.pulls.list({
      ...repo,
      state: "open",
      head: `${OWNER}:conveyor/staging/order-service`,
    });
    expect(prs).toHaveLength(1);
    expect(prs[0]?.number).toBe(first.number);
    expect(prs[0]?.title).toBe("Deploy order-service 1.6.0 to staging");
    expect(prs[0]?.body).toContain("CI run `https://ci.example.com/runs/7`");
    expect(await fileOn("conveyor/staging/order-service", "order-service")).toContain(
      'newTag: "1.6.0" # deployed by Conveyor',
    );
  });

  it("a redelivered event changes nothing", async () => {
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-user-service",
      client_payload: { image: "ghcr.io/acme/user-service:2.0.0" },
    });
    const pr = await pullRequest(world, "conveyor/staging/user-service", 20_000);
    const head = pr.head.sha;
    const delivered = world.forge.events.filter((d) => d.event === "repository_dispatch").length;
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-user-service",
      client_payload: { image: "ghcr.io/acme/user-service:2.0.0" },
    });
    await world.forge.waitForEvent(
      (d) =>
        d.event === "repository_dispatch" &&
        world.forge.events.filter((e) => e.event === "repository_dispatch").indexOf(d) >= delivered,
      10_000,
    );
    await world.forge.idle();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const { data } = await ci.rest.pulls.get({ ...repo, pull_number: pr.number });
    expect(data.head.sha).toBe(head);
    const { data: comments } = await ci.rest.issues.listComments({ ...repo, issue_number: pr.number });
    expect(comments).toEqual([]);
  });

  it("rejects a webhook with a forged signature before doing any work", async () => {
    const payload = withRepo(example("repository_dispatch"), {
      owner: OWNER,
      repo: REPO,
      cloneUrl: world.forge.gitUrl(OWNER, REPO),
      installationId: world.installationId,
    });
    payload.action = "deploy-payment-service";
    payload.client_payload = { image: "ghcr.io/acme/payment-service:9.9.9" };
    const body = JSON.stringify(payload);
    const response = await fetch(world.webhookUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "repository_dispatch",
        "x-github-delivery": "forged-1",
        "x-hub-signature-256": signWebhook("not-the-secret", body),
      },
      body,
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const { data } = await ci.rest.repos.listBranches(repo);
    expect(data.map((b) => b.name)).not.toContain("conveyor/staging/payment-service");
  });

  it("refuses a webhook body over GitHub's 25 MB before reading it, and keeps serving", async () => {
    const { request } = await import("node:http");
    const url = new URL(world.webhookUrl);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          headers: {
            "content-type": "application/json",
            "content-length": 200 * 1024 * 1024,
            "x-github-event": "repository_dispatch",
            "x-github-delivery": "huge-1",
            "x-hub-signature-256": "sha256=00",
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" ? resolve(0) : reject(error)));
      // Only the start of the 200 MB it announces: the answer must come without the rest.
      req.write("{".padEnd(64 * 1024, " "));
    });
    expect([413, 0]).toContain(status);
    expect((await fetch(`${world.appUrl}/healthz`)).status).toBe(200);
  });

  it("reports bad input in a conveyor:error issue and changes nothing", async () => {
    const before = (await ci.rest.repos.listBranches(repo)).data.map((b) => b.name).sort();
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-payment-service",
      client_payload: { image: "ghcr.io/acme/order-service:1.0.0" },
    });
    const issue = await world.forge.waitForEvent(issueTitled("(image-mismatch)"), 20_000);
    expect((issue.payload as { issue: { body: string; labels: Array<{ name: string }> } }).issue.body).toContain(
      "is not this service's image",
    );
    await ci.rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy",
      client_payload: { service: "payment-service", tag: "1.5.1", environment: "production" },
    });
    await world.forge.waitForEvent(issueTitled("(direct-deploy-refused)"), 20_000);
    expect((await ci.rest.repos.listBranches(repo)).data.map((b) => b.name).sort()).toEqual(before);
  });

  it("serves /healthz, /readyz and Prometheus /metrics that count what happened", async () => {
    expect((await fetch(`${world.appUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${world.appUrl}/readyz`)).text()).toBe("ready");
    const text = await (await fetch(`${world.appUrl}/metrics`)).text();
    expect(text).toMatch(/conveyor_events_total\{event="repository_dispatch",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/conveyor_promotions_total\{env="staging",result="opened"\} [1-9]/);
    expect(text).toMatch(/conveyor_promotions_total\{env="staging",result="rejected"\} [1-9]/);
    expect(text).toMatch(/conveyor_github_requests_total\{method="POST",status="201"\} [1-9]/);
    // The render checks of the PRs opened above started kustomize.
    expect(text).toMatch(/^conveyor_render_kustomize_runs [1-9]/m);
    expect(text).toMatch(/^conveyor_render_cached \d+$/m);
    // Applications, Rollouts and AppProjects (sync windows).
    expect(text).toContain("conveyor_argo_watch_connections 3");
    expect(text).toContain("conveyor_process_resident_memory_bytes");
  });
});
