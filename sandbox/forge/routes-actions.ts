/**
 * GitHub Actions, as far as E2E gates need it: dispatching a workflow (`workflow_dispatch`), the
 * runs it starts (get, list, per workflow) and the `workflow_run` webhooks (requested,
 * in_progress, completed). Nothing runs: a run's outcome is scripted. It fails when any input
 * contains "e2e-fail" (an image tagged so, say), succeeds otherwise, after a short delay.
 */
import { createHash } from "node:crypto";
import { parse } from "yaml";
import { emitRepoEvent } from "./events.js";
import type { Core, Ctx, Router } from "./router.js";
import { HttpError, intParam, notFound, ok, paginate, requireString, str, validationFailed } from "./router.js";
import * as shape from "./shapes.js";
import type { Account, Repo } from "./store.js";
import { now } from "./store.js";

/** How long a dispatched run is queued, then runs (ms). Tests and the sandbox may shorten them. */
export const WORKFLOW_TIMINGS = { queuedMs: 100, runMs: 600 };

interface WorkflowRun {
  id: number;
  workflowPath: string;
  workflowName: string;
  displayTitle: string;
  ref: string;
  headSha: string;
  runNumber: number;
  status: "queued" | "in_progress" | "completed";
  conclusion: "success" | "failure" | null;
  actor: Account;
  createdAt: string;
  updatedAt: string;
  startedAt: string;
  inputs: Record<string, string>;
}

const runsByRepo = new WeakMap<Repo, WorkflowRun[]>();
let nextRunId = 7_000_000;

function runsOf(repo: Repo): WorkflowRun[] {
  let runs = runsByRepo.get(repo);
  if (!runs) runsByRepo.set(repo, (runs = []));
  return runs;
}

/** A stable id per workflow file, as GitHub has one per workflow. */
function workflowId(repo: Repo, path: string): number {
  return 100_000 + (createHash("sha256").update(`${repo.id}:${path}`).digest().readUInt32BE(0) % 900_000);
}

function workflowJson(core: Core, repo: Repo, run: WorkflowRun) {
  const full = `${repo.owner.login}/${repo.name}`;
  const id = workflowId(repo, run.workflowPath);
  return {
    id,
    node_id: shape.nodeId("Workflow", id),
    name: run.workflowName,
    path: run.workflowPath,
    state: "active",
    created_at: repo.createdAt,
    updated_at: repo.createdAt,
    url: `${core.urls.api}/repos/${full}/actions/workflows/${id}`,
    html_url: `${core.urls.html}/${full}/blob/${repo.defaultBranch}/${run.workflowPath}`,
    badge_url: `${core.urls.html}/${full}/workflows/${encodeURIComponent(run.workflowName)}/badge.svg`,
  };
}

async function runJson(core: Core, repo: Repo, run: WorkflowRun) {
  const full = `${repo.owner.login}/${repo.name}`;
  const api = `${core.urls.api}/repos/${full}/actions/runs/${run.id}`;
  const commit = await repo.git.commit(run.headSha);
  const suite = run.id + 1_000_000;
  const repository = shape.repository(core.urls, repo);
  return {
    id: run.id,
    name: run.workflowName,
    node_id: shape.nodeId("WorkflowRun", run.id),
    check_suite_id: suite,
    check_suite_node_id: shape.nodeId("CheckSuite", suite),
    head_branch: run.ref,
    head_sha: run.headSha,
    path: run.workflowPath,
    display_title: run.displayTitle,
    run_number: run.runNumber,
    run_attempt: 1,
    referenced_workflows: [],
    event: "workflow_dispatch",
    status: run.status,
    conclusion: run.conclusion,
    workflow_id: workflowId(repo, run.workflowPath),
    url: api,
    html_url: `${core.urls.html}/${full}/actions/runs/${run.id}`,
    pull_requests: [],
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    actor: shape.user(core.urls, run.actor),
    triggering_actor: shape.user(core.urls, run.actor),
    run_started_at: run.startedAt,
    jobs_url: `${api}/jobs`,
    logs_url: `${api}/logs`,
    check_suite_url: `${core.urls.api}/repos/${full}/check-suites/${suite}`,
    artifacts_url: `${api}/artifacts`,
    cancel_url: `${api}/cancel`,
    rerun_url: `${api}/rerun`,
    previous_attempt_url: null,
    workflow_url: `${core.urls.api}/repos/${full}/actions/workflows/${workflowId(repo, run.workflowPath)}`,
    head_commit: {
      id: commit.sha,
      tree_id: commit.tree,
      message: commit.message,
      timestamp: commit.committer.date,
      author: { name: commit.author.name, email: commit.author.email },
      committer: { name: commit.committer.name, email: commit.committer.email },
    },
    repository,
    head_repository: repository,
    head_repository_id: repo.id,
  };
}

async function emitRun(core: Core, repo: Repo, run: WorkflowRun, action: string): Promise<void> {
  emitRepoEvent(
    core,
    repo,
    "workflow_run",
    { action, workflow: workflowJson(core, repo, run), workflow_run: await runJson(core, repo, run) },
    run.actor,
  );
}

/** What a workflow file says about itself: its name, run-name and declared dispatch inputs. */
function readWorkflow(text: string): { name?: string; runName?: string; inputs: string[] } | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== "object") return undefined;
  const w = doc as Record<string, unknown>;
  const on = w["on"] ?? w["true"];
  const dispatch =
    on === "workflow_dispatch"
      ? {}
      : Array.isArray(on) && on.includes("workflow_dispatch")
        ? {}
        : on && typeof on === "object" && "workflow_dispatch" in on
          ? ((on as Record<string, unknown>)["workflow_dispatch"] ?? {})
          : undefined;
  if (dispatch === undefined) return undefined;
  const inputs = (dispatch as Record<string, unknown>)["inputs"];
  return {
    name: str(w["name"]),
    runName: str(w["run-name"]),
    inputs: inputs && typeof inputs === "object" ? Object.keys(inputs) : [],
  };
}

function later(ms: number, work: () => Promise<void>): void {
  setTimeout(() => void work().catch(() => undefined), ms).unref?.();
}

function listReply(ctx: Ctx, runs: WorkflowRun[], repo: Repo) {
  const q = ctx.query;
  const filtered = runs
    .filter((r) => !q.get("status") || r.status === q.get("status") || r.conclusion === q.get("status"))
    .filter(() => !q.get("event") || q.get("event") === "workflow_dispatch")
    .filter((r) => !q.get("branch") || r.ref === q.get("branch"))
    .filter((r) => !q.get("head_sha") || r.headSha === q.get("head_sha"))
    .filter((r) => !q.get("actor") || r.actor.login === q.get("actor"))
    .sort((a, b) => b.id - a.id);
  const { items, headers } = paginate(ctx, filtered);
  return Promise.all(items.map((r) => runJson(ctx.core, repo, r))).then((workflow_runs) =>
    ok({ total_count: filtered.length, workflow_runs }, 200, headers),
  );
}

export function registerActionsRoutes(r: Router): void {
  r.on("POST", "/repos/:owner/:repo/actions/workflows/:workflow/dispatches", async (ctx) => {
    const repo = ctx.repo("write");
    const actor = ctx.account();
    const ref = requireString(ctx.body, "ref", "Workflow");
    const file = ctx.params["workflow"] ?? "";
    const path = `.github/workflows/${file}`;
    const known = runsOf(repo);
    const sha = await repo.git.resolve(ref.replace(/^refs\/heads\//, ""));
    if (!sha) throw new HttpError(422, `No ref found for: ${ref}`);
    const entry = /^[A-Za-z0-9._-]+\.ya?ml$/.test(file) ? await repo.git.entry(sha, path) : null;
    if (!entry || entry.type !== "blob") throw notFound();
    const workflow = readWorkflow((await repo.git.blob(entry.sha)).toString("utf8"));
    if (!workflow) throw new HttpError(422, "Workflow does not have 'workflow_dispatch' trigger");
    const given = ctx.body["inputs"] ?? {};
    if (typeof given !== "object" || Array.isArray(given) || given === null)
      throw validationFailed([{ resource: "Workflow", field: "inputs", code: "invalid" }]);
    const inputs: Record<string, string> = {};
    for (const [key, value] of Object.entries(given as Record<string, unknown>)) inputs[key] = String(value);
    const unexpected = Object.keys(inputs).filter((key) => !workflow.inputs.includes(key));
    if (unexpected.length) throw new HttpError(422, `Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
    if (Object.keys(inputs).length > 25) throw new HttpError(422, "you may only define up to 25 `inputs`");

    const created = now();
    const substitute = (template: string) =>
      template.replace(
        /\$\{\{\s*(?:github\.event\.)?inputs\.([A-Za-z0-9_-]+)\s*\}\}/g,
        (_, name: string) => inputs[name] ?? "",
      );
    const name = workflow.name ?? path;
    const run: WorkflowRun = {
      id: nextRunId++,
      workflowPath: path,
      workflowName: name,
      displayTitle: workflow.runName ? substitute(workflow.runName) : name,
      ref: ref.replace(/^refs\/heads\//, ""),
      headSha: sha,
      runNumber: known.filter((k) => k.workflowPath === path).length + 1,
      status: "queued",
      conclusion: null,
      actor,
      createdAt: created,
      updatedAt: created,
      startedAt: created,
      inputs,
    };
    known.push(run);
    await emitRun(ctx.core, repo, run, "requested");
    const fails = Object.values(inputs).some((value) => value.includes("e2e-fail"));
    later(WORKFLOW_TIMINGS.queuedMs, async () => {
      run.status = "in_progress";
      run.updatedAt = now();
      await emitRun(ctx.core, repo, run, "in_progress");
      later(WORKFLOW_TIMINGS.runMs, async () => {
        run.status = "completed";
        run.conclusion = fails ? "failure" : "success";
        run.updatedAt = now();
        await emitRun(ctx.core, repo, run, "completed");
      });
    });
    if (ctx.body["return_run_details"] === true) {
      const full = `${repo.owner.login}/${repo.name}`;
      return ok({
        workflow_run_id: run.id,
        run_url: `${ctx.core.urls.api}/repos/${full}/actions/runs/${run.id}`,
        html_url: `${ctx.core.urls.html}/${full}/actions/runs/${run.id}`,
      });
    }
    return { status: 204 };
  });

  r.on("GET", "/repos/:owner/:repo/actions/runs", async (ctx) => {
    const repo = ctx.repo("read");
    return listReply(ctx, runsOf(repo), repo);
  });

  r.on("GET", "/repos/:owner/:repo/actions/workflows/:workflow/runs", async (ctx) => {
    const repo = ctx.repo("read");
    const wanted = ctx.params["workflow"] ?? "";
    const runs = runsOf(repo).filter(
      (run) =>
        run.workflowPath === `.github/workflows/${wanted}` || String(workflowId(repo, run.workflowPath)) === wanted,
    );
    return listReply(ctx, runs, repo);
  });

  r.on("GET", "/repos/:owner/:repo/actions/runs/:id", async (ctx) => {
    const repo = ctx.repo("read");
    const id = intParam(ctx, "id");
    const run = runsOf(repo).find((x) => x.id === id);
    if (!run) throw notFound();
    return ok(await runJson(ctx.core, repo, run));
  });
}
