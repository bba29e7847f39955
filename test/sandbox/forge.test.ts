import { execFile } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startForge, type Forge } from "../../sandbox/forge/index.js";
import {
  createAppJwt,
  generateAppKeyPair,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../../sandbox/forge/testing.js";

const run = promisify(execFile);
const APP_ID = 4242;
const SECRET = "webhook-secret";

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", ["-c", "user.name=Test", "-c", "user.email=test@example.com", ...args], {
    cwd,
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      GIT_TERMINAL_PROMPT: "0",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      HOME: cwd,
    },
  });
  return stdout.trim();
}

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
function client(baseUrl: string, auth: string): Octokit {
  return new Octokit({ baseUrl, auth, log: quiet });
}

function status(err: unknown): number | undefined {
  return (err as { status?: number }).status;
}

describe("forge", () => {
  let dir: string;
  let forge: Forge;
  let receiver: WebhookReceiver;
  let keys: { privateKeyPem: string; publicKeyPem: string };
  let installationId: number;
  let app: Octokit; // installation-token client
  let admin: Octokit;
  let reviewer: Octokit;
  let outsider: Octokit;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "forge-test-"));
    keys = generateAppKeyPair();
    receiver = await startWebhookReceiver(SECRET);
    forge = await startForge({
      dataDir: join(dir, "data"),
      webhook: { url: receiver.url, secret: SECRET },
      app: { id: APP_ID, slug: "conveyor-test", publicKeyPem: keys.publicKeyPem },
      log: () => undefined,
    });
    await forge.createRepo("acme", "deploy");
    await forge.seed(
      "acme",
      "deploy",
      {
        "README.md": "# deploy\n",
        "envs/staging/image.txt": "v1\n",
        ".github/conveyor.yml": "environments:\n  - staging\n",
      },
      "initial",
      { silent: true },
    );
    installationId = forge.installApp("acme");
    const jwtClient = client(forge.url, createAppJwt(APP_ID, keys.privateKeyPem));
    const { data } = await jwtClient.apps.createInstallationAccessToken({ installation_id: installationId });
    app = client(forge.url, data.token);
    admin = client(forge.url, forge.token("admin"));
    reviewer = client(forge.url, forge.token("reviewer"));
    outsider = client(forge.url, forge.token("outsider"));
  });

  afterAll(async () => {
    await forge?.close();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves clone and push over smart HTTP with token auth", async () => {
    const work = join(dir, "clone");
    await git(dir, "clone", "--quiet", forge.authedGitUrl("acme", "deploy", forge.token("reviewer")), work);
    expect(await readFile(join(work, "README.md"), "utf8")).toBe("# deploy\n");

    await git(work, "checkout", "-q", "-b", "feature/http");
    await writeFile(join(work, "envs/staging/image.txt"), "v2\n");
    await git(work, "commit", "-qam", "bump staging");
    const sha = await git(work, "rev-parse", "HEAD");
    receiver.received.length = 0;
    await git(work, "push", "-q", "origin", "feature/http");
    await forge.idle();
    const push = receiver.received.find((w) => w.event === "push");
    expect(push?.signatureValid).toBe(true);
    expect(push?.payload).toMatchObject({
      ref: "refs/heads/feature/http",
      after: sha,
      created: true,
      installation: { id: installationId },
      sender: { login: "reviewer" },
      repository: { full_name: "acme/deploy", default_branch: "main" },
    });
    expect((push?.payload["commits"] as unknown[]).length).toBe(1);
    const { data: ref } = await app.git.getRef({ owner: "acme", repo: "deploy", ref: "heads/feature/http" });
    expect(ref.object.sha).toBe(sha);

    // a bad token is refused with 401
    await expect(
      git(dir, "clone", "--quiet", forge.authedGitUrl("acme", "deploy", "ghp_nope"), join(dir, "bad")),
    ).rejects.toThrow();
    expect(forge.requests.some((r) => r.kind === "git" && r.status === 401)).toBe(true);

    // an outsider (read) can fetch but not push
    await git(work, "remote", "set-url", "origin", forge.authedGitUrl("acme", "deploy", forge.token("outsider")));
    await git(work, "fetch", "-q", "origin");
    await expect(git(work, "push", "-q", "origin", "HEAD:refs/heads/outsider")).rejects.toThrow(
      /denied to outsider|403/,
    );
  });

  it("accepts gzip-encoded smart HTTP request bodies", async () => {
    const { data: ref } = await app.git.getRef({ owner: "acme", repo: "deploy", ref: "heads/main" });
    const pkt = (line: string) => (line.length + 4).toString(16).padStart(4, "0") + line;
    const body = gzipSync(pkt(`want ${ref.object.sha}\n`) + "0000" + pkt("done\n"));
    const res = await fetch(`${forge.gitUrl("acme", "deploy")}/git-upload-pack`, {
      method: "POST",
      headers: {
        authorization: "Basic " + Buffer.from(`x-access-token:${forge.token("reviewer")}`).toString("base64"),
        "content-type": "application/x-git-upload-pack-request",
        "content-encoding": "gzip",
      },
      body,
    });
    expect(res.status).toBe(200);
    const out = Buffer.from(await res.arrayBuffer()).toString("latin1");
    expect(out).toContain("NAK");
    expect(out).toContain("PACK");
  });

  it("emits a signed repository_dispatch webhook", async () => {
    receiver.received.length = 0;
    const res = await app.repos.createDispatchEvent({
      owner: "acme",
      repo: "deploy",
      event_type: "conveyor.promote",
      client_payload: { env: "prod" },
    });
    expect(res.status).toBe(204);
    await forge.idle();
    const hook = receiver.received.find((w) => w.event === "repository_dispatch");
    expect(hook?.signatureValid).toBe(true);
    expect(hook?.headers["user-agent"]).toMatch(/^GitHub-Hookshot\//);
    expect(hook?.delivery).toMatch(/^[0-9a-f-]{36}$/);
    expect(hook?.payload).toMatchObject({
      action: "conveyor.promote",
      branch: "main",
      client_payload: { env: "prod" },
      repository: { full_name: "acme/deploy", owner: { login: "acme" } },
      sender: { login: "conveyor-test[bot]", type: "Bot" },
      installation: { id: installationId },
    });
    expect(forge.events.at(-1)).toMatchObject({ event: "repository_dispatch", status: 200 });
  });

  it("creates, rejects duplicate and merges pull requests with real git", async () => {
    await forge.seed("acme", "deploy", { "envs/prod/image.txt": "v1\n" }, "promote prod", { branch: "promote/prod" });
    const { data: pr } = await app.pulls.create({
      owner: "acme",
      repo: "deploy",
      title: "Promote prod",
      head: "promote/prod",
      base: "main",
    });
    expect(pr).toMatchObject({
      number: expect.any(Number),
      state: "open",
      mergeable: true,
      head: { ref: "promote/prod" },
      base: { ref: "main" },
    });

    const dup = await app.pulls
      .create({ owner: "acme", repo: "deploy", title: "again", head: "acme:promote/prod", base: "main" })
      .catch((e: unknown) => e);
    expect(status(dup)).toBe(422);
    expect(String((dup as Error).message)).toContain("A pull request already exists for acme:promote/prod.");

    const none = await app.pulls
      .create({ owner: "acme", repo: "deploy", title: "empty", head: "main", base: "promote/prod" })
      .catch((e: unknown) => e);
    expect(status(none)).toBe(422);

    const { data: listed } = await app.pulls.list({
      owner: "acme",
      repo: "deploy",
      head: "acme:promote/prod",
      state: "open",
    });
    expect(listed.map((p) => p.number)).toEqual([pr.number]);
    const { data: files } = await app.pulls.listFiles({ owner: "acme", repo: "deploy", pull_number: pr.number });
    expect(files).toMatchObject([{ filename: "envs/prod/image.txt", status: "added", additions: 1 }]);

    const stale = await app.pulls
      .merge({ owner: "acme", repo: "deploy", pull_number: pr.number, sha: "0".repeat(40) })
      .catch((e: unknown) => e);
    expect(status(stale)).toBe(409);
    const denied = await outsider.pulls
      .merge({ owner: "acme", repo: "deploy", pull_number: pr.number })
      .catch((e: unknown) => e);
    expect(status(denied)).toBe(403);

    await forge.idle();
    receiver.received.length = 0;
    const { data: merged } = await app.pulls.merge({
      owner: "acme",
      repo: "deploy",
      pull_number: pr.number,
      sha: pr.head.sha,
      merge_method: "squash",
    });
    expect(merged.merged).toBe(true);
    await forge.idle();
    const events = receiver.received.map((w) => `${w.event}:${String(w.payload["action"] ?? w.payload["ref"])}`);
    expect(events).toEqual(["push:refs/heads/main", "pull_request:closed"]);
    expect(receiver.received[1]!.payload).toMatchObject({
      number: pr.number,
      pull_request: { merged: true, merge_commit_sha: merged.sha },
    });
    const { data: branch } = await app.repos.getBranch({ owner: "acme", repo: "deploy", branch: "main" });
    expect(branch.commit.sha).toBe(merged.sha);
    expect(branch.commit.parents.length).toBe(1);
    const { data: content } = await app.repos.getContent({
      owner: "acme",
      repo: "deploy",
      path: "envs/prod/image.txt",
    });
    expect(Buffer.from((content as { content: string }).content, "base64").toString()).toBe("v1\n");
    const again = await app.pulls
      .merge({ owner: "acme", repo: "deploy", pull_number: pr.number })
      .catch((e: unknown) => e);
    expect(status(again)).toBe(405);
  });

  it("answers 405 for a conflicting merge and emits synchronize on pushes to the head", async () => {
    await forge.seed("acme", "deploy", { "conflict.txt": "a\n" }, "a", { branch: "conflict-a" });
    await forge.seed("acme", "deploy", { "conflict.txt": "b\n" }, "b", { branch: "conflict-b" });
    const { data: a } = await reviewer.pulls.create({
      owner: "acme",
      repo: "deploy",
      title: "a",
      head: "conflict-a",
      base: "main",
    });
    const { data: b } = await reviewer.pulls.create({
      owner: "acme",
      repo: "deploy",
      title: "b",
      head: "conflict-b",
      base: "main",
    });
    await admin.pulls.merge({ owner: "acme", repo: "deploy", pull_number: a.number });
    const { data: bNow } = await reviewer.pulls.get({ owner: "acme", repo: "deploy", pull_number: b.number });
    expect(bNow).toMatchObject({ mergeable: false, mergeable_state: "dirty" });
    const conflict = await admin.pulls
      .merge({ owner: "acme", repo: "deploy", pull_number: b.number })
      .catch((e: unknown) => e);
    expect(status(conflict)).toBe(405);

    await forge.idle();
    receiver.received.length = 0;
    const sha = await forge.seed("acme", "deploy", { "other.txt": "x\n" }, "more", {
      branch: "conflict-b",
      author: "reviewer",
    });
    await forge.idle();
    const sync = receiver.received.find((w) => w.event === "pull_request");
    expect(sync?.payload).toMatchObject({
      action: "synchronize",
      number: b.number,
      after: sha,
      pull_request: { head: { sha } },
    });
  });

  it("reports collaborator permissions and emits issue_comment for user comments", async () => {
    const perms = await Promise.all(
      ["admin", "reviewer", "outsider"].map((username) =>
        app.repos.getCollaboratorPermissionLevel({ owner: "acme", repo: "deploy", username }),
      ),
    );
    expect(perms.map((p) => p.data.permission)).toEqual(["admin", "write", "read"]);
    expect(perms[1]!.data.user?.login).toBe("reviewer");

    const { data: issue } = await app.issues.create({
      owner: "acme",
      repo: "deploy",
      title: "Promotion",
      labels: ["conveyor"],
    });
    receiver.received.length = 0;
    const { data: c } = await reviewer.issues.createComment({
      owner: "acme",
      repo: "deploy",
      issue_number: issue.number,
      body: "/approve",
    });
    await forge.idle();
    expect(receiver.received.find((w) => w.event === "issue_comment")?.payload).toMatchObject({
      action: "created",
      comment: { id: c.id, body: "/approve", user: { login: "reviewer" }, author_association: "COLLABORATOR" },
      issue: { number: issue.number },
      sender: { login: "reviewer" },
    });
    const { status: rs } = await app.reactions.createForIssueComment({
      owner: "acme",
      repo: "deploy",
      comment_id: c.id,
      content: "eyes",
    });
    expect(rs).toBe(201);
    const { data: labelled } = await app.issues.listForRepo({ owner: "acme", repo: "deploy", labels: "conveyor" });
    expect(labelled.map((i) => i.number)).toEqual([issue.number]);
  });

  it("authenticates the app by verified JWT only", async () => {
    const ok = client(forge.url, createAppJwt(APP_ID, keys.privateKeyPem));
    expect((await ok.apps.getAuthenticated()).data?.slug).toBe("conveyor-test");
    expect((await ok.apps.getRepoInstallation({ owner: "acme", repo: "deploy" })).data.id).toBe(installationId);

    const otherKey = generateAppKeyPair().privateKeyPem;
    const forged = client(forge.url, createAppJwt(APP_ID, otherKey));
    expect(
      status(
        await forged.apps.createInstallationAccessToken({ installation_id: installationId }).catch((e: unknown) => e),
      ),
    ).toBe(401);
    const expired = client(forge.url, createAppJwt(APP_ID, keys.privateKeyPem, { iat: 1000, exp: 1600 }));
    expect(status(await expired.apps.getAuthenticated().catch((e: unknown) => e))).toBe(401);
    const bad = client(forge.url, "ghs_not-a-token");
    expect(status(await bad.repos.get({ owner: "acme", repo: "deploy" }).catch((e: unknown) => e))).toBe(401);
    expect(
      status(await app.apps.getRepoInstallation({ owner: "acme", repo: "missing" }).catch((e: unknown) => e)),
    ).toBe(401);
    expect(status(await ok.apps.getRepoInstallation({ owner: "acme", repo: "missing" }).catch((e: unknown) => e))).toBe(
      404,
    );
    const res = await app.repos.get({ owner: "acme", repo: "deploy" });
    expect(res.headers["x-ratelimit-limit"]).toBe("5000");
    expect(Number(res.headers["x-ratelimit-remaining"])).toBeLessThan(5000);
  });

  it("records every webhook attempt, failed ones too, and redelivers them with the same guid", async () => {
    const jwt = client(forge.url, createAppJwt(APP_ID, keys.privateKeyPem));
    const o = { owner: "acme", repo: "deploy" };
    // The app is down: nothing listens at the webhook URL.
    const down = createServer();
    await new Promise<void>((ok) => down.listen(0, "127.0.0.1", () => ok()));
    const deadUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}/hook`;
    await new Promise<void>((ok) => down.close(() => ok()));
    forge.setWebhook(deadUrl, SECRET);
    await admin.repos.createDispatchEvent({ ...o, event_type: "while-down", client_payload: { n: 1 } });
    await admin.repos.createDispatchEvent({ ...o, event_type: "while-down", client_payload: { n: 2 } });
    await forge.idle();
    forge.setWebhook(receiver.url, SECRET);
    await admin.repos.createDispatchEvent({ ...o, event_type: "after", client_payload: { n: 3 } });
    await forge.idle();

    const page = await jwt.apps.listWebhookDeliveries({ per_page: 2 });
    expect(page.data.map((d) => [d.event, d.action, d.status, d.status_code])).toEqual([
      ["repository_dispatch", "after", "OK", 200],
      ["repository_dispatch", "while-down", "failed to connect to host", 0],
    ]);
    expect(page.data[0]!.installation_id).toBe(installationId);
    const next = /<([^>]+)>; rel="next"/.exec(String(page.headers.link))?.[1];
    expect(next).toMatch(/cursor=v1_\d+/);
    const older = await jwt.request(`GET ${next!.replace(forge.url, "")}`);
    const failed = (older.data as Array<{ id: number; guid: string; action: string }>)[0]!;
    expect(failed.action).toBe("while-down");

    const detail = await jwt.apps.getWebhookDelivery({ delivery_id: failed.id });
    expect(detail.data.request.payload).toMatchObject({ action: "while-down", client_payload: { n: 1 } });
    expect(status(await app.apps.listWebhookDeliveries().catch((e: unknown) => e))).toBe(401);

    const received = receiver.received.length;
    expect((await jwt.apps.redeliverWebhookDelivery({ delivery_id: failed.id })).status).toBe(202);
    await forge.idle();
    expect(receiver.received.length).toBe(received + 1);
    expect(receiver.received.at(-1)!.delivery).toBe(failed.guid);
    const latest = (await jwt.apps.listWebhookDeliveries({ per_page: 1 })).data[0]!;
    expect(latest).toMatchObject({ guid: failed.guid, redelivery: true, status: "OK" });
    expect(latest.id).not.toBe(failed.id);
  });

  it("applies the secondary rate limit with retry-after", async () => {
    const limited = await startForge({
      dataDir: join(dir, "limited"),
      rateLimit: { limit: 2, windowMs: 60_000 },
      log: () => undefined,
    });
    try {
      await limited.createRepo("acme", "r");
      await limited.seed("acme", "r", { a: "1" }, "init", { silent: true });
      const o = client(limited.url, limited.token("admin"));
      await o.issues.create({ owner: "acme", repo: "r", title: "1" });
      await o.issues.create({ owner: "acme", repo: "r", title: "2" });
      const err = (await o.issues.create({ owner: "acme", repo: "r", title: "3" }).catch((e: unknown) => e)) as {
        status: number;
        message: string;
        response: { headers: Record<string, string> };
      };
      expect(err.status).toBe(403);
      expect(err.message).toMatch(/secondary rate limit/);
      expect(Number(err.response.headers["retry-after"])).toBeGreaterThan(0);
      // reads are not limited
      expect((await o.issues.listForRepo({ owner: "acme", repo: "r" })).data.length).toBe(2);
    } finally {
      await limited.close();
    }
  });

  it("serves as Probot's GitHub: webhooks, installation auth, context.config", async () => {
    const { Probot, createNodeMiddleware } = await import("probot");
    const probot = new Probot({
      appId: APP_ID,
      privateKey: keys.privateKeyPem,
      secret: SECRET,
      baseUrl: forge.url,
      logLevel: "fatal",
    });
    const middleware = await createNodeMiddleware(
      (p) => {
        p.on("repository_dispatch", async (context) => {
          const config = (await context.config("conveyor.yml")) as { environments?: string[] } | null;
          await context.octokit.rest.issues.create(
            context.repo({ title: `${context.payload.action} -> ${config?.environments?.join(",") ?? "none"}` }),
          );
        });
      },
      { probot, webhooksPath: "/" },
    );
    const server = createServer((req, res) => {
      void middleware(req, res, () => {
        res.writeHead(404);
        res.end();
      });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
    try {
      forge.setWebhook(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, SECRET);
      await admin.repos.createDispatchEvent({ owner: "acme", repo: "deploy", event_type: "probot-check" });
      await forge.idle();
      expect(forge.events.find((e) => e.action === "probot-check")).toMatchObject({
        event: "repository_dispatch",
        status: 200,
      });
      // the handler's own issue creation was delivered too, before idle() resolved
      expect(forge.events.at(-1)).toMatchObject({ event: "issues", action: "opened", status: 200 });
      const { data: issues } = await admin.issues.listForRepo({
        owner: "acme",
        repo: "deploy",
        creator: "conveyor-test[bot]",
      });
      expect(issues.map((i) => i.title)).toContain("probot-check -> staging");
    } finally {
      forge.setWebhook(receiver.url, SECRET);
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });

  it("auto_inactive as GitHub does: a success makes earlier successful non-production deployments inactive; false, or production, does not", async () => {
    const o = { owner: "acme", repo: "deploy" };
    const sha = (await app.repos.getBranch({ ...o, branch: "main" })).data.commit.sha;
    const make = async (environment: string, production: boolean) =>
      (
        await app.repos.createDeployment({
          ...o,
          ref: sha,
          environment,
          production_environment: production,
          required_contexts: [],
          auto_merge: false,
        })
      ).data as { id: number };
    const latest = async (id: number) =>
      (await app.repos.listDeploymentStatuses({ ...o, deployment_id: id, per_page: 1 })).data[0]?.state;
    const succeed = (id: number, auto_inactive?: boolean) =>
      app.repos.createDeploymentStatus({ ...o, deployment_id: id, state: "success", auto_inactive });

    const [qa1, qa2, qa3] = [await make("qa", false), await make("qa", false), await make("qa", false)];
    await succeed(qa1.id);
    await succeed(qa2.id, false);
    expect([await latest(qa1.id), await latest(qa2.id)]).toEqual(["success", "success"]);
    await succeed(qa3.id);
    expect([await latest(qa1.id), await latest(qa2.id), await latest(qa3.id)]).toEqual([
      "inactive",
      "inactive",
      "success",
    ]);

    const [prod1, prod2] = [await make("prod", true), await make("prod", true)];
    await succeed(prod1.id);
    await succeed(prod2.id);
    expect(await latest(prod1.id)).toBe("success");
  });

  it("answers a raw file asked for again with its ETag with 304 and no body, and a changed one whole", async () => {
    const url = `${forge.url}/repos/acme/deploy/contents/.github%2Fconveyor.yml`;
    const headers = { authorization: `token ${forge.token("admin")}`, accept: "application/vnd.github.raw" };
    const first = await fetch(url, { headers });
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag") as string;
    expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
    expect(await first.text()).toContain("environments:");
    const again = await fetch(url, { headers: { ...headers, "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const other = await fetch(url, { headers: { ...headers, "if-none-match": '"0000"' } });
    expect(other.status).toBe(200);
  });

  it("answers GitHub-style 404s", async () => {
    const res = await fetch(`${forge.url}/repos/acme/nope`, {
      headers: { authorization: `token ${forge.token("admin")}` },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ message: "Not Found", documentation_url: expect.any(String) });
    const missing = await app.repos
      .getContent({ owner: "acme", repo: ".github", path: ".github/conveyor.yml" })
      .catch((e: unknown) => e);
    expect(status(missing)).toBe(404);
  });
});
