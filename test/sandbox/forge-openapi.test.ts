/**
 * Every operation the forge serves, driven once through @octokit/rest, with
 * the response body checked against GitHub's OpenAPI description (the subset
 * extracted by scripts/extract-openapi.ts). Emitted webhooks are checked the
 * same way against the `x-webhooks` payload schemas.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startForge, type Forge } from "../../sandbox/forge/index.js";
import { WORKFLOW_TIMINGS } from "../../sandbox/forge/routes-actions.js";
import {
  createAppJwt,
  E2E_WORKFLOW,
  generateAppKeyPair,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../../sandbox/forge/testing.js";

// --- a small JSON-schema checker for the subset GitHub's description uses ----

interface Schema {
  type?: string | string[];
  nullable?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
  const?: unknown;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Errors of `value` against `schema` ("path: problem"); formats are ignored. */
function check(schema: Schema | null | undefined, value: unknown, path = "$"): string[] {
  if (!schema || typeof schema !== "object") return [];
  if (value === null && (schema.nullable || schema.enum?.includes(null))) return [];
  const errors: string[] = [];
  if (schema.allOf) for (const s of schema.allOf) errors.push(...check(s, value, path));
  for (const alts of [schema.anyOf, schema.oneOf]) {
    if (!alts) continue;
    const results = alts.map((s) => check(s, value, path));
    if (!results.some((r) => r.length === 0)) {
      const best = results.reduce((a, b) => (b.length < a.length ? b : a));
      errors.push(`${path}: matches no alternative (closest: ${best.slice(0, 3).join("; ")})`);
    }
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = typeOf(value);
    const okType = types.some((x) => x === t || (x === "number" && t === "integer"));
    if (!okType) return [...errors, `${path}: expected ${types.join("|")}, got ${t}`];
  }
  if (schema.enum && !schema.enum.includes(value))
    errors.push(`${path}: ${JSON.stringify(value)} not in enum ${JSON.stringify(schema.enum)}`);
  if (schema.const !== undefined && schema.const !== value)
    errors.push(`${path}: expected const ${JSON.stringify(schema.const)}`);
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) errors.push(`${path}.${key}: required`);
    for (const [key, v] of Object.entries(obj)) {
      const prop = schema.properties?.[key];
      if (prop) errors.push(...check(prop, v, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}.${key}: not allowed`);
      else if (typeof schema.additionalProperties === "object")
        errors.push(...check(schema.additionalProperties, v, `${path}.${key}`));
    }
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((v, i) => errors.push(...check(schema.items, v, `${path}[${i}]`)));
  return errors;
}

// --- fixture ---------------------------------------------------------------

interface Fixture {
  operations: Record<string, { method: string; path: string; responses: Record<string, Schema | null> }>;
  webhooks: Record<string, Schema>;
}
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/openapi/github-operations.json", import.meta.url), "utf8"),
) as Fixture;

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const APP_ID = 77;
const SECRET = "s3cret";

describe("forge responses match GitHub's OpenAPI description", () => {
  let dir: string;
  let forge: Forge;
  let receiver: WebhookReceiver;
  const covered = new Set<string>();
  const problems: string[] = [];

  /** Await an octokit call (or its RequestError) and check the body against the operation's schema. */
  async function op(
    id: string,
    call: Promise<{ status: number; data: unknown }>,
    expectStatus?: number,
  ): Promise<{ status: number; data: unknown }> {
    let res: { status: number; data: unknown };
    try {
      res = await call;
    } catch (err) {
      const e = err as { status?: number; response?: { data: unknown } };
      if (e.status === undefined) throw err;
      res = { status: e.status, data: e.response?.data };
    }
    const operation = fixture.operations[id];
    if (!operation) throw new Error(`operation ${id} not in fixture`);
    if (expectStatus !== undefined) expect(res.status, id).toBe(expectStatus);
    const key = String(res.status);
    if (!(key in operation.responses))
      problems.push(`${id}: status ${key} not described (has ${Object.keys(operation.responses).join(",")})`);
    else for (const e of check(operation.responses[key], res.data)) problems.push(`${id} ${key} ${e}`);
    covered.add(id);
    return res;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "forge-openapi-"));
    receiver = await startWebhookReceiver(SECRET);
    const keys = generateAppKeyPair();
    forge = await startForge({
      dataDir: dir,
      webhook: { url: receiver.url, secret: SECRET },
      app: { id: APP_ID, slug: "shape-check", publicKeyPem: keys.publicKeyPem },
      log: () => undefined,
    });
    await forge.createRepo("acme", "ops");
    await forge.seed("acme", "ops", { "README.md": "hi\n", ".github/conveyor.yml": "environments: []\n" }, "init");
    const installation = forge.installApp("acme");

    const jwt = new Octokit({ baseUrl: forge.url, auth: createAppJwt(APP_ID, keys.privateKeyPem), log: quiet });
    await op("apps/get-authenticated", jwt.apps.getAuthenticated());
    await op("apps/list-installations", jwt.apps.listInstallations());
    await op("apps/get-repo-installation", jwt.apps.getRepoInstallation({ owner: "acme", repo: "ops" }));
    await op("apps/get-repo-installation", jwt.apps.getRepoInstallation({ owner: "acme", repo: "nope" }), 404);
    const token = await op(
      "apps/create-installation-access-token",
      jwt.apps.createInstallationAccessToken({ installation_id: installation }),
      201,
    );
    const app = new Octokit({ baseUrl: forge.url, auth: (token.data as { token: string }).token, log: quiet });
    const admin = new Octokit({ baseUrl: forge.url, auth: forge.token("admin"), log: quiet });
    await op("apps/list-repos-accessible-to-installation", app.apps.listReposAccessibleToInstallation());
    const reviewer = new Octokit({ baseUrl: forge.url, auth: forge.token("reviewer"), log: quiet });
    const o = { owner: "acme", repo: "ops" };

    await op("users/get-authenticated", admin.users.getAuthenticated());
    // A person's view (the dashboard's sign-in): installations and repositories they can read.
    await op("apps/list-installations-for-authenticated-user", reviewer.apps.listInstallationsForAuthenticatedUser());
    await op(
      "apps/list-installation-repos-for-authenticated-user",
      reviewer.apps.listInstallationReposForAuthenticatedUser({ installation_id: installation }),
    );
    await op("repos/get", app.repos.get(o));
    await op("repos/get", app.repos.get({ owner: "acme", repo: "missing" }), 404);
    await op("repos/get-branch", app.repos.getBranch({ ...o, branch: "main" }));
    await op("repos/get-content", app.repos.getContent({ ...o, path: ".github/conveyor.yml" }));
    await op("repos/get-content", app.repos.getContent({ ...o, path: ".github" }));
    await op("repos/get-content", app.repos.getContent({ ...o, path: "missing.yml" }), 404);
    await op(
      "repos/create-dispatch-event",
      app.repos.createDispatchEvent({ ...o, event_type: "sample.collected", client_payload: { a: 1 } }),
      204,
    );
    await op(
      "repos/get-collaborator-permission-level",
      app.repos.getCollaboratorPermissionLevel({ ...o, username: "reviewer" }),
    );

    const main = (await app.git.getRef({ ...o, ref: "heads/main" })).data.object.sha;
    await op("git/get-ref", app.git.getRef({ ...o, ref: "heads/main" }));
    await op("git/get-ref", app.git.getRef({ ...o, ref: "heads/none" }), 404);
    await op("git/create-ref", app.git.createRef({ ...o, ref: "refs/heads/tmp", sha: main }), 201);
    await op("git/create-ref", app.git.createRef({ ...o, ref: "refs/heads/tmp", sha: main }), 422);
    await op("git/update-ref", app.git.updateRef({ ...o, ref: "heads/tmp", sha: main }));
    await op("git/delete-ref", app.git.deleteRef({ ...o, ref: "heads/tmp" }), 204);
    await op("repos/get-commit", app.repos.getCommit({ ...o, ref: main }));

    const head = await forge.seed("acme", "ops", { "envs/prod.txt": "v2\n", "README.md": "hello\n" }, "promote", {
      branch: "promote",
    });
    await op("repos/compare-commits", app.repos.compareCommitsWithBasehead({ ...o, basehead: `main...promote` }));

    const pr = await op(
      "pulls/create",
      app.pulls.create({ ...o, title: "Promote", head: "promote", base: "main", body: "body" }),
      201,
    );
    const number = (pr.data as { number: number }).number;
    await op("pulls/create", app.pulls.create({ ...o, title: "Promote", head: "promote", base: "main" }), 422);
    await op("pulls/list", app.pulls.list({ ...o, state: "all" }));
    await op("pulls/get", app.pulls.get({ ...o, pull_number: number }));
    await op("pulls/update", app.pulls.update({ ...o, pull_number: number, title: "Promote prod" }));
    await op("pulls/list-files", app.pulls.listFiles({ ...o, pull_number: number }));
    await op(
      "pulls/request-reviewers",
      app.pulls.requestReviewers({ ...o, pull_number: number, reviewers: ["reviewer"] }),
      201,
    );
    await op("pulls/list-requested-reviewers", app.pulls.listRequestedReviewers({ ...o, pull_number: number }));
    await op("pulls/create-review", reviewer.pulls.createReview({ ...o, pull_number: number, event: "APPROVE" }));
    await op("pulls/list-reviews", app.pulls.listReviews({ ...o, pull_number: number }));

    await op(
      "repos/create-commit-status",
      app.repos.createCommitStatus({ ...o, sha: head, state: "success", context: "ci" }),
      201,
    );
    await op("repos/get-combined-status-for-ref", app.repos.getCombinedStatusForRef({ ...o, ref: head }));
    const run = await op(
      "checks/create",
      app.checks.create({ ...o, name: "conveyor", head_sha: head, status: "in_progress" }),
      201,
    );
    const runId = (run.data as { id: number }).id;
    await op(
      "checks/update",
      app.checks.update({ ...o, check_run_id: runId, conclusion: "success", output: { title: "ok", summary: "fine" } }),
    );
    await op("checks/get", app.checks.get({ ...o, check_run_id: runId }));
    await op("checks/list-for-ref", app.checks.listForRef({ ...o, ref: head }));

    await op("pulls/merge", app.pulls.merge({ ...o, pull_number: number, sha: "1".repeat(40) }), 409);
    await op("pulls/merge", app.pulls.merge({ ...o, pull_number: number, sha: head }));
    await op("pulls/merge", app.pulls.merge({ ...o, pull_number: number }), 405);
    const merged = (await app.pulls.get({ ...o, pull_number: number })).data.merge_commit_sha as string;
    await op(
      "repos/list-pull-requests-associated-with-commit",
      app.repos.listPullRequestsAssociatedWithCommit({ ...o, commit_sha: merged }),
    );

    // A service repository's history: a squash-merged PR, the history, a paged compare.
    const squashed = await forge.seedMergedPull("acme", "ops", {
      title: "Fix rounding",
      branch: "fix-rounding",
      files: { "src/total.txt": "rounded\n" },
      author: "reviewer",
    });
    const associated = await op(
      "repos/list-pull-requests-associated-with-commit",
      app.repos.listPullRequestsAssociatedWithCommit({ ...o, commit_sha: squashed.sha }),
    );
    expect((associated.data as Array<{ number: number; title: string }>).map((p) => [p.number, p.title])).toEqual([
      [squashed.number, "Fix rounding"],
    ]);
    const history = await op("repos/list-commits", app.repos.listCommits({ ...o, per_page: 2 }));
    expect((history.data as Array<{ sha: string; commit: { message: string } }>)[0]).toMatchObject({
      sha: squashed.sha,
      commit: { message: `Fix rounding (#${squashed.number})` },
    });
    expect((await app.repos.listCommits({ ...o, per_page: 2 })).headers.link).toContain('rel="next"');
    const paged = await op(
      "repos/compare-commits",
      app.repos.compareCommitsWithBasehead({ ...o, basehead: `${main}...${squashed.sha}`, per_page: 1, page: 2 }),
    );
    expect((paged.data as { commits: unknown[]; ahead_by: number }).commits).toHaveLength(1);

    const dep = await op(
      "repos/create-deployment",
      app.repos.createDeployment({
        ...o,
        ref: "main",
        environment: "production",
        auto_merge: false,
        required_contexts: [],
        payload: { image: "x" },
      }),
      201,
    );
    const depId = (dep.data as { id: number }).id;
    await op("repos/list-deployments", app.repos.listDeployments({ ...o, environment: "production" }));
    await op("repos/get-deployment", app.repos.getDeployment({ ...o, deployment_id: depId }));
    await op(
      "repos/create-deployment-status",
      app.repos.createDeploymentStatus({ ...o, deployment_id: depId, state: "success", log_url: "http://log" }),
      201,
    );
    await op("repos/list-deployment-statuses", app.repos.listDeploymentStatuses({ ...o, deployment_id: depId }));

    await op("issues/create-label", app.issues.createLabel({ ...o, name: "conveyor", color: "00ff00" }), 201);
    await op("issues/list-labels-for-repo", app.issues.listLabelsForRepo(o));
    const issue = await op("issues/create", app.issues.create({ ...o, title: "Track", body: "b" }), 201);
    const issueNumber = (issue.data as { number: number }).number;
    await op(
      "issues/add-labels",
      app.issues.addLabels({ ...o, issue_number: issueNumber, labels: ["conveyor", "extra"] }),
    );
    await op("issues/remove-label", app.issues.removeLabel({ ...o, issue_number: issueNumber, name: "extra" }));
    await op("issues/list-for-repo", app.issues.listForRepo({ ...o, state: "all", labels: "conveyor" }));
    await op("issues/get", app.issues.get({ ...o, issue_number: issueNumber }));
    await op("issues/get", app.issues.get({ ...o, issue_number: 999 }), 404);
    await op("issues/update", app.issues.update({ ...o, issue_number: issueNumber, state: "closed" }));
    const comment = await op(
      "issues/create-comment",
      reviewer.issues.createComment({ ...o, issue_number: number, body: "/promote" }),
      201,
    );
    const commentId = (comment.data as { id: number }).id;
    await op("issues/list-comments", app.issues.listComments({ ...o, issue_number: number }));
    await op("issues/get-comment", app.issues.getComment({ ...o, comment_id: commentId }));
    await op(
      "issues/update-comment",
      reviewer.issues.updateComment({ ...o, comment_id: commentId, body: "/promote prod" }),
    );
    await op(
      "reactions/create-for-issue-comment",
      app.reactions.createForIssueComment({ ...o, comment_id: commentId, content: "rocket" }),
      201,
    );
    await op(
      "reactions/create-for-issue-comment",
      app.reactions.createForIssueComment({ ...o, comment_id: commentId, content: "rocket" }),
      200,
    );
    await op("reactions/list-for-issue-comment", app.reactions.listForIssueComment({ ...o, comment_id: commentId }));

    // workflow dispatch and runs (E2E gates), in a repository of their own
    WORKFLOW_TIMINGS.queuedMs = 20;
    WORKFLOW_TIMINGS.runMs = 40;
    await forge.createRepo("acme", "e2e");
    await forge.seed("acme", "e2e", { ".github/workflows/e2e.yml": E2E_WORKFLOW }, "e2e workflow");
    const e = { owner: "acme", repo: "e2e" };
    const dispatch = (inputs: Record<string, string>, more: Record<string, unknown> = {}) =>
      app.actions.createWorkflowDispatch({ ...e, workflow_id: "e2e.yml", ref: "main", inputs, ...more });
    await op(
      "actions/create-workflow-dispatch",
      dispatch({ image: "ghcr.io/acme/web:1.0.0", correlation_id: "c-1" }),
      204,
    );
    const details = await op(
      "actions/create-workflow-dispatch",
      dispatch({ image: "ghcr.io/acme/web:1.1.0-e2e-fail", correlation_id: "c-2" }, { return_run_details: true }),
      200,
    );
    const failingRun = (details.data as { workflow_run_id: number }).workflow_run_id;
    await op("actions/list-workflow-runs-for-repo", app.actions.listWorkflowRunsForRepo(e));
    await op("actions/list-workflow-runs", app.actions.listWorkflowRuns({ ...e, workflow_id: "e2e.yml" }));
    await op("actions/get-workflow-run", app.actions.getWorkflowRun({ ...e, run_id: failingRun }));
    for (;;) {
      const runs = (await app.actions.listWorkflowRunsForRepo(e)).data.workflow_runs;
      if (runs.every((run) => run.status === "completed")) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // synchronize + reopened/edited payloads
    await forge.seed("acme", "ops", { "x.txt": "1\n" }, "x", { branch: "second" });
    const second = await app.pulls.create({ ...o, title: "Second", head: "second", base: "main" });
    await forge.seed("acme", "ops", { "x.txt": "2\n" }, "x2", { branch: "second" });
    await app.pulls.update({ ...o, pull_number: second.data.number, state: "closed" });
    await app.pulls.update({ ...o, pull_number: second.data.number, state: "open", body: "edited" });
    await forge.idle();

    // The app's webhook deliveries: listed (cursor pages), read with their payload, redelivered.
    await op("repos/update", admin.repos.update({ ...o, allow_merge_commit: false, allow_squash_merge: true }));
    const listed = await op("apps/list-webhook-deliveries", jwt.apps.listWebhookDeliveries({ per_page: 2 }));
    const firstAttempt = (listed.data as Array<{ id: number }>)[0]!.id;
    await op("apps/get-webhook-delivery", jwt.apps.getWebhookDelivery({ delivery_id: firstAttempt }));
    await op("apps/redeliver-webhook-delivery", jwt.apps.redeliverWebhookDelivery({ delivery_id: firstAttempt }), 202);
    await forge.idle();
  }, 60_000);

  afterAll(async () => {
    await forge?.close();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("covers every extracted operation", () => {
    expect(Object.keys(fixture.operations).filter((id) => !covered.has(id))).toEqual([]);
  });

  it("serves bodies that validate against the response schemas", () => {
    expect(problems).toEqual([]);
  });

  it("emits webhook payloads that validate against the webhook schemas", () => {
    const byKey = new Map<string, Record<string, unknown>>();
    for (const w of receiver.received) {
      expect(w.signatureValid).toBe(true);
      const action = w.payload["action"];
      const key =
        w.event === "repository_dispatch"
          ? "repository-dispatch-sample.collected"
          : `${w.event.replace(/_/g, "-")}${typeof action === "string" ? `-${action.replace(/_/g, "-")}` : ""}`;
      if (!byKey.has(key)) byKey.set(key, w.payload);
    }
    const errors: string[] = [];
    for (const [name, schema] of Object.entries(fixture.webhooks)) {
      const payload = byKey.get(name);
      if (!payload) {
        errors.push(`${name}: not emitted`);
        continue;
      }
      errors.push(...check(schema, payload).map((e) => `${name} ${e}`));
    }
    expect(errors).toEqual([]);
  });
});
