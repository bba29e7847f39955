// pull_request opened/synchronize/reopened -> the conveyor/render check run on its head commit:
// what each affected overlay renders to before and after, and the environment's policy verdict.
// A failed check keeps Conveyor from merging its own PR (auto-merge refuses failed checks).
import type { Context, Probot } from "probot";
import { parseBranch } from "../core/pr-text.js";
import { evaluatePolicy } from "../core/render-policy.js";
import { renderReport, type CheckReport } from "../core/render-report.js";
import { describeError, installationToken, type Octokit, type RepoRef } from "../adapters/github.js";
import type { Renderer } from "../adapters/renderer.js";
import { readConfig } from "./load-config.js";
import { renderChanges, sharedRenderer } from "./render-changes.js";
import type { AppServices } from "./services.js";

export const RENDER_CHECK = "conveyor/render";

export const INSTALL_HINT =
  "Install `kustomize` (https://kubectl.docs.kubernetes.io/installation/kustomize/) or `kubectl` where Conveyor runs, or set `KUSTOMIZE_BIN` to a kustomize binary. The Docker image ships kustomize.";

export interface RenderCheckOptions {
  renderer?: Renderer;
  /** Per render; a hung kustomize is stopped after this long (default 30 s). */
  timeoutMs?: number;
}

type PullRequestContext = Context<"pull_request.opened" | "pull_request.synchronize" | "pull_request.reopened">;

export function registerRenderCheck(app: Probot, services: AppServices, options: RenderCheckOptions = {}): void {
  app.on(["pull_request.opened", "pull_request.synchronize", "pull_request.reopened"], (context) => handleRenderCheck(context, services, options));
}

export async function handleRenderCheck(context: PullRequestContext, services: AppServices, options: RenderCheckOptions = {}): Promise<void> {
  const { payload } = context;
  const pr = payload.pull_request;
  if (pr.base.repo.full_name !== payload.repository.full_name) return;
  const target: RenderTarget = {
    octokit: context.octokit,
    ref: context.repo(),
    fullName: payload.repository.full_name,
    cloneUrl: payload.repository.clone_url,
    token: () => installationToken(context),
    log: context.log,
    pr: { number: pr.number, headSha: pr.head.sha, baseSha: pr.base.sha, headRef: pr.head.ref, fromThisRepo: pr.head.repo?.full_name === payload.repository.full_name },
  };
  // Conveyor's own PRs may merge automatically: their running check exists before the event is
  // answered, so nothing that looks for it can miss it. The render itself may take longer than
  // GitHub waits for an answer, and is done in the background: one PR's renders in order, a few
  // PRs of a repository at a time.
  const check = new RenderCheckRun(target.octokit, target.ref, pr.head.sha);
  if (isOwnBranch(target.pr)) await check.start();
  services.background.start("render", context.log, () =>
    services.queue.run(`${target.fullName}#render#${pr.number}`, () => runRenderCheck(target, services, options, check), `${target.fullName}#render`),
  );
}

const isOwnBranch = (pr: RenderTarget["pr"]) => Boolean(parseBranch(pr.headRef)) && pr.fromThisRepo;

/** What a render check needs to know, wherever the request came from (a PR event, /retry). */
export interface RenderTarget {
  octokit: Octokit;
  ref: RepoRef;
  fullName: string;
  cloneUrl: string;
  token: () => Promise<string | undefined>;
  log: { info: (obj: object, msg?: string) => void; child: (bindings: object) => { info: (obj: object, msg?: string) => void } };
  pr: { number: number; headSha: string; baseSha: string; headRef: string; fromThisRepo: boolean };
}

export async function runRenderCheck(target: RenderTarget, services: AppServices, options: RenderCheckOptions = {}, check = new RenderCheckRun(target.octokit, target.ref, target.pr.headSha)): Promise<void> {
  const { pr, ref } = target;
  const ownBranch = isOwnBranch(pr);
  // Conveyor's own PRs may merge automatically: the running check must exist before anything
  // looks for it, so it is created before any other work.
  if (ownBranch && !check.started) await check.start();
  const log = target.log.child({ repo: target.fullName, pr: pr.number });
  try {
    const config = await readConfig(target.octokit, ref);
    if (!config) {
      if (check.started) await check.complete({ conclusion: "neutral", title: "Configuration is invalid", summary: "`.github/conveyor.yml` is invalid (see the issue labelled `conveyor:config`), so overlays were not checked." });
      return;
    }
    const workspace = services.workspaces.get(target.fullName, target.cloneUrl).useToken(target.token);
    // Reads only, so no turn in the repo's queue (a burst of deploy edits may be waiting there).
    // Conveyor's own PR commits are already in the clone: no fetch for those.
    if (!(await workspace.hasCommits([pr.headSha, pr.baseSha]))) {
      await workspace.sync();
      // A fork's commits reach this repository only through refs/pull/N/head.
      if (!(await workspace.hasCommits([pr.headSha]))) await workspace.fetchPullHead(pr.number);
    }
    const base = (await workspace.mergeBase(pr.baseSha, pr.headSha)) ?? pr.baseSha;
    const renderer = options.renderer ?? sharedRenderer;
    const result = await renderChanges({ workspace, config, base, head: pr.headSha, renderer, timeoutMs: options.timeoutMs });
    // A person's PR that touches no overlay gets no check run at all.
    if (result.affected.length === 0 && !ownBranch) return;
    if (!check.started) await check.start();

    if (result.kind === "no-renderer") {
      await check.complete({ conclusion: "neutral", title: "No renderer available", summary: `Conveyor could not render ${result.affected.length} affected overlay(s): ${result.reason}.\n\n${INSTALL_HINT}` });
      return;
    }
    const violations = evaluatePolicy({
      config,
      overlays: result.overlays.filter((o) => !o.failure).map((o) => ({ dir: o.dir, env: o.env, images: o.headImages })),
      promotion: ownBranch ? { changedFiles: result.changedFiles } : undefined,
    });
    const report = renderReport({ renderer: result.renderer.label, overlays: result.overlays, violations, notes: result.notes });
    log.info(
      { conclusion: report.conclusion, overlays: result.overlays.map((o) => ({ dir: o.dir, ms: o.ms, failed: Boolean(o.failure) })), violations: violations.length },
      `${RENDER_CHECK}: ${report.title}`,
    );
    await check.complete(report);
  } catch (error) {
    // Never leave a running check behind: it would hold a Conveyor PR forever.
    if (check.started) await check.complete({ conclusion: "failure", title: "Conveyor could not render this pull request", summary: describeError(error) }).catch(() => undefined);
    throw error;
  }
}

class RenderCheckRun {
  private id?: number;

  constructor(
    private readonly octokit: Octokit,
    private readonly ref: RepoRef,
    private readonly headSha: string,
  ) {}

  get started(): boolean {
    return this.id !== undefined;
  }

  async start(): Promise<void> {
    const { data } = await this.octokit.rest.checks.create({ ...this.ref, name: RENDER_CHECK, head_sha: this.headSha, status: "in_progress" });
    this.id = data.id;
  }

  async complete(report: CheckReport): Promise<void> {
    await this.octokit.rest.checks.update({
      ...this.ref,
      check_run_id: this.id as number,
      status: "completed",
      conclusion: report.conclusion,
      output: { title: report.title.slice(0, 255), summary: report.summary },
    });
  }
}
