/**
 * Deployments and deployment statuses; check runs.
 */
import { emitRepoEvent } from "./events.js";
import type { Ctx, Router } from "./router.js";
import { HttpError, intParam, notFound, ok, paginate, requireString, str, validationFailed } from "./router.js";
import { combinedState } from "./routes-repos.js";
import * as shape from "./shapes.js";
import type { CheckRun, Deployment, DeploymentStatus, Repo } from "./store.js";
import { now } from "./store.js";

const DEPLOYMENT_STATES = ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"];
const CHECK_STATUSES = ["queued", "in_progress", "completed", "waiting", "requested", "pending"];
const CHECK_CONCLUSIONS = [
  "action_required",
  "cancelled",
  "failure",
  "neutral",
  "success",
  "skipped",
  "stale",
  "timed_out",
];

function getDeployment(repo: Repo, id: number): Deployment {
  const d = repo.deployments.find((x) => x.id === id);
  if (!d) throw notFound();
  return d;
}

function checkRunJson(ctx: Ctx, repo: Repo, c: CheckRun) {
  const pulls = [...repo.issues.values()].filter((i) => i.pull && i.state === "open" && i.pull.headSha === c.headSha);
  return shape.checkRun(ctx.core.urls, ctx.core.store, repo, c, pulls);
}

function applyCheckFields(c: CheckRun, body: Record<string, unknown>): void {
  const status = str(body["status"]);
  const conclusion = str(body["conclusion"]);
  if (status !== undefined && !CHECK_STATUSES.includes(status))
    throw validationFailed([{ resource: "CheckRun", field: "status", code: "invalid" }]);
  if (conclusion !== undefined && !CHECK_CONCLUSIONS.includes(conclusion))
    throw validationFailed([{ resource: "CheckRun", field: "conclusion", code: "invalid" }]);
  if (status === "completed" && conclusion === undefined && c.conclusion === null) {
    throw new HttpError(422, 'Invalid request.\n\n"conclusion" wasn\'t supplied.');
  }
  if (typeof body["name"] === "string") c.name = body["name"];
  if (typeof body["details_url"] === "string") c.detailsUrl = body["details_url"];
  if (typeof body["external_id"] === "string") c.externalId = body["external_id"];
  if (typeof body["started_at"] === "string") c.startedAt = body["started_at"];
  if (status !== undefined) c.status = status;
  if (conclusion !== undefined) {
    c.conclusion = conclusion;
    c.status = "completed";
  }
  if (c.status === "completed") c.completedAt = str(body["completed_at"]) ?? c.completedAt ?? now();
  const output = body["output"];
  if (output && typeof output === "object") {
    const o = output as Record<string, unknown>;
    c.output = {
      title: str(o["title"]) ?? c.output.title,
      summary: str(o["summary"]) ?? c.output.summary,
      text: str(o["text"]) ?? c.output.text,
    };
  }
}

export function registerDeploymentRoutes(r: Router): void {
  r.on("POST", "/repos/:owner/:repo/deployments", async (ctx) => {
    const repo = ctx.repo("write");
    const sender = ctx.account();
    const ref = requireString(ctx.body, "ref", "Deployment");
    const sha = await repo.git.resolve(ref);
    if (!sha) throw new HttpError(422, `No ref found for: ${ref}`);
    const required = ctx.body["required_contexts"];
    const statuses = repo.statuses.filter((s) => s.sha === sha);
    const { latest } = combinedState(statuses);
    const contexts = Array.isArray(required)
      ? required.filter((x): x is string => typeof x === "string")
      : latest.map((s) => s.context);
    const failing = contexts.filter((c) => latest.find((s) => s.context === c)?.state !== "success");
    if (failing.length) {
      throw new HttpError(409, `Conflict: Commit status checks failed for ${ref}.`, {
        errors: failing.map((c) => ({
          contexts: [{ context: c, state: latest.find((s) => s.context === c)?.state ?? "missing" }],
          resource: "Deployment",
          field: "required_contexts",
          code: "invalid",
        })),
      });
    }
    const environment = str(ctx.body["environment"]) ?? "production";
    const t = now();
    const payloadIn = ctx.body["payload"];
    let payload: unknown = payloadIn ?? {};
    if (typeof payloadIn === "string") {
      try {
        payload = JSON.parse(payloadIn);
      } catch {
        payload = payloadIn;
      }
    }
    const d: Deployment = {
      id: ctx.core.store.nextId(),
      sha,
      ref,
      task: str(ctx.body["task"]) ?? "deploy",
      environment,
      originalEnvironment: environment,
      payload,
      description: str(ctx.body["description"]) ?? null,
      creator: sender,
      viaApp: ctx.actor.kind === "installation",
      transientEnvironment: ctx.body["transient_environment"] === true,
      productionEnvironment:
        typeof ctx.body["production_environment"] === "boolean"
          ? ctx.body["production_environment"]
          : environment === "production",
      createdAt: t,
      updatedAt: t,
      statuses: [],
    };
    repo.deployments.push(d);
    const json = shape.deployment(ctx.core.urls, ctx.core.store, repo, d);
    emitRepoEvent(ctx.core, repo, "deployment", { action: "created", deployment: json }, sender);
    return ok(json, 201);
  });

  r.on("GET", "/repos/:owner/:repo/deployments", (ctx) => {
    const repo = ctx.repo("read");
    const q = ctx.query;
    const list = repo.deployments
      .filter(
        (d) =>
          (!q.get("environment") || d.environment === q.get("environment")) &&
          (!q.get("ref") || d.ref === q.get("ref")) &&
          (!q.get("sha") || d.sha === q.get("sha")) &&
          (!q.get("task") || d.task === q.get("task")),
      )
      .slice()
      .reverse();
    const page = paginate(ctx, list);
    return ok(
      page.items.map((d) => shape.deployment(ctx.core.urls, ctx.core.store, repo, d)),
      200,
      page.headers,
    );
  });

  r.on("GET", "/repos/:owner/:repo/deployments/:id", (ctx) => {
    const repo = ctx.repo("read");
    return ok(shape.deployment(ctx.core.urls, ctx.core.store, repo, getDeployment(repo, intParam(ctx, "id"))));
  });

  r.on("POST", "/repos/:owner/:repo/deployments/:id/statuses", (ctx) => {
    const repo = ctx.repo("write");
    const sender = ctx.account();
    const d = getDeployment(repo, intParam(ctx, "id"));
    const state = str(ctx.body["state"]);
    if (!state || !DEPLOYMENT_STATES.includes(state))
      throw validationFailed([{ resource: "DeploymentStatus", field: "state", code: "invalid" }]);
    const s = addStatus(ctx, d, state, ctx.body);
    if (typeof ctx.body["environment"] === "string") d.environment = s.environment = ctx.body["environment"];
    // auto_inactive (default true): GitHub marks earlier successful deployments to the same
    // environment inactive, only non-transient, non-production ones (Conveyor sends false and
    // marks what a newer commit supersedes itself, production included).
    if (state === "success" && ctx.body["auto_inactive"] !== false) {
      for (const other of repo.deployments) {
        if (other === d || other.environment !== d.environment || other.transientEnvironment) continue;
        if (other.productionEnvironment) continue;
        const last = other.statuses[other.statuses.length - 1];
        if (last && last.state === "success") addStatus(ctx, other, "inactive", {});
      }
    }
    const json = shape.deploymentStatus(ctx.core.urls, ctx.core.store, repo, d, s);
    emitRepoEvent(
      ctx.core,
      repo,
      "deployment_status",
      {
        action: "created",
        deployment_status: json,
        deployment: shape.deployment(ctx.core.urls, ctx.core.store, repo, d),
      },
      sender,
    );
    return ok(json, 201);
  });

  r.on("GET", "/repos/:owner/:repo/deployments/:id/statuses", (ctx) => {
    const repo = ctx.repo("read");
    const d = getDeployment(repo, intParam(ctx, "id"));
    const page = paginate(ctx, d.statuses.slice().reverse());
    return ok(
      page.items.map((s) => shape.deploymentStatus(ctx.core.urls, ctx.core.store, repo, d, s)),
      200,
      page.headers,
    );
  });

  // --- check runs ------------------------------------------------------------
  r.on("POST", "/repos/:owner/:repo/check-runs", async (ctx) => {
    const repo = ctx.repo("write");
    if (ctx.actor.kind !== "installation") throw new HttpError(403, "You must authenticate via a GitHub App.");
    const name = requireString(ctx.body, "name", "CheckRun");
    const headSha = requireString(ctx.body, "head_sha", "CheckRun");
    const sha = await repo.git.resolve(headSha);
    if (!sha || sha !== headSha)
      throw validationFailed(
        [{ resource: "CheckRun", field: "head_sha", code: "invalid" }],
        "No commit found for SHA: " + headSha,
      );
    const suite = repo.checkRuns.find((c) => c.headSha === sha)?.checkSuiteId ?? ctx.core.store.nextId();
    const c: CheckRun = {
      id: ctx.core.store.nextId(),
      headSha: sha,
      name,
      status: "queued",
      conclusion: null,
      startedAt: now(),
      completedAt: null,
      detailsUrl: null,
      externalId: null,
      output: { title: null, summary: null, text: null },
      checkSuiteId: suite,
    };
    applyCheckFields(c, ctx.body);
    repo.checkRuns.push(c);
    const json = checkRunJson(ctx, repo, c);
    emitRepoEvent(ctx.core, repo, "check_run", { action: "created", check_run: json }, ctx.account());
    if (c.status === "completed")
      emitRepoEvent(ctx.core, repo, "check_run", { action: "completed", check_run: json }, ctx.account());
    return ok(json, 201);
  });

  r.on("PATCH", "/repos/:owner/:repo/check-runs/:id", (ctx) => {
    const repo = ctx.repo("write");
    if (ctx.actor.kind !== "installation") throw new HttpError(403, "You must authenticate via a GitHub App.");
    const c = repo.checkRuns.find((x) => x.id === intParam(ctx, "id"));
    if (!c) throw notFound();
    const wasCompleted = c.status === "completed";
    applyCheckFields(c, ctx.body);
    const json = checkRunJson(ctx, repo, c);
    if (!wasCompleted && c.status === "completed")
      emitRepoEvent(ctx.core, repo, "check_run", { action: "completed", check_run: json }, ctx.account());
    return ok(json);
  });

  r.on("GET", "/repos/:owner/:repo/check-runs/:id", (ctx) => {
    const repo = ctx.repo("read");
    const c = repo.checkRuns.find((x) => x.id === intParam(ctx, "id"));
    if (!c) throw notFound();
    return ok(checkRunJson(ctx, repo, c));
  });

  r.on("GET", "/repos/:owner/:repo/commits/:ref/check-runs", async (ctx) => {
    const repo = ctx.repo("read");
    const sha = await repo.git.resolve(ctx.params["ref"]!);
    if (!sha) throw new HttpError(422, `No commit found for SHA: ${ctx.params["ref"]}`);
    const name = ctx.query.get("check_name");
    const status = ctx.query.get("status");
    let list = repo.checkRuns.filter(
      (c) => c.headSha === sha && (!name || c.name === name) && (!status || c.status === status),
    );
    if ((ctx.query.get("filter") ?? "latest") === "latest") {
      const seen = new Set<string>();
      list = list
        .slice()
        .reverse()
        .filter((c) => (seen.has(c.name) ? false : (seen.add(c.name), true)));
    } else list = list.slice().reverse();
    const page = paginate(ctx, list);
    return ok(
      { total_count: list.length, check_runs: page.items.map((c) => checkRunJson(ctx, repo, c)) },
      200,
      page.headers,
    );
  });
}

function addStatus(ctx: Ctx, d: Deployment, state: string, body: Record<string, unknown>): DeploymentStatus {
  const s: DeploymentStatus = {
    id: ctx.core.store.nextId(),
    state,
    description: str(body["description"]) ?? "",
    environment: d.environment,
    environmentUrl: str(body["environment_url"]) ?? "",
    logUrl: str(body["log_url"]) ?? str(body["target_url"]) ?? "",
    targetUrl: str(body["target_url"]) ?? str(body["log_url"]) ?? "",
    creator: ctx.account(),
    viaApp: ctx.actor.kind === "installation",
    createdAt: now(),
  };
  d.statuses.push(s);
  d.updatedAt = s.createdAt;
  return s;
}
