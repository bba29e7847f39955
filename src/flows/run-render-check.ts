// The conveyor/render check run on a PR's head commit: what each affected overlay renders to
// before and after, and the environment's policy verdict. A failed check keeps Conveyor from
// merging its own PR (auto-merge refuses failed checks).
import { describeError } from "../adapters/github/client.js";
import type { GitHubRepo } from "../adapters/github/repo.js";
import type { GitWorkspace } from "../adapters/git-workspace.js";
import { parseBranch } from "../core/pr-text.js";
import { evaluatePolicy } from "../core/render-policy.js";
import { renderReport, type CheckReport } from "../core/render-report.js";
import { readConfig } from "./load-config.js";
import { renderChanges } from "./render-changes.js";
import type { Log, Services } from "./services.js";

export const RENDER_CHECK = "conveyor/render";

/**
 * Conveyor's own PRs' checks rendering at a time, per repository. Their renders share kustomize
 * runs (two at a time, in the renderer) and, in a burst, wait up to 1.5 s for each other: enough
 * slots that a burst's checks are not held back by that wait. Reading their trees is light.
 */
const OWN_RENDER_SLOTS = 16;

export const INSTALL_HINT =
  "Install `kustomize` (https://kubectl.docs.kubernetes.io/installation/kustomize/) or `kubectl` where Conveyor runs, or set `KUSTOMIZE_BIN` to a kustomize binary. The Docker image ships kustomize.";

/** What a render check needs to know, wherever the request came from (a PR event, /retry). */
export interface RenderTarget {
  gh: GitHubRepo;
  workspace: GitWorkspace;
  log: Log;
  pr: { number: number; headSha: string; baseSha: string; headRef: string; fromThisRepo: boolean };
}

export interface RenderCheckOptions {
  /** Per render; a hung kustomize is stopped after this long (the renderer's default: 30 s). */
  timeoutMs?: number;
}

const isOwnBranch = (pr: RenderTarget["pr"]) => Boolean(parseBranch(pr.headRef)) && pr.fromThisRepo;

/**
 * Starts the check for a PR event. Conveyor's own PRs may merge automatically: their running
 * check exists before the event is answered, so nothing that looks for it can miss it. The render
 * itself may take longer than GitHub waits for an answer, and is done in the background: one
 * PR's renders in order, a few PRs of a repository at a time.
 */
export async function startRenderCheck(
  services: Services,
  target: RenderTarget,
  options: RenderCheckOptions = {},
): Promise<void> {
  const own = isOwnBranch(target.pr);
  const check = new RenderCheckRun(target.gh, target.pr.headSha);
  if (own) await check.start();
  const repo = target.gh.fullName;
  // Conveyor's own PRs render in slots of their own: people's PRs, however many or however slow,
  // cannot keep a deploy from its check (and so from merging). A slot is held while rendering,
  // not while the result waits its turn to be written: in a burst, writes queue for seconds, and
  // the renders of the checks behind may share kustomize runs meanwhile.
  services.background.start("render", target.log, async () => {
    const publish = await services.queue.run(
      `${repo}#render#${target.pr.number}`,
      () => renderCheck(services, target, options, check),
      own ? `${repo}#render-own` : `${repo}#render`,
      own ? OWN_RENDER_SLOTS : undefined,
    );
    await publish();
  });
}

/** Renders the PR and publishes its check run. */
export async function runRenderCheck(
  services: Services,
  target: RenderTarget,
  options: RenderCheckOptions = {},
  check = new RenderCheckRun(target.gh, target.pr.headSha),
): Promise<void> {
  const publish = await renderCheck(services, target, options, check);
  await publish();
}

type Publish = () => Promise<void>;
const nothing: Publish = () => Promise.resolve();

/** Renders the PR; what it returns writes the check run's result. */
async function renderCheck(
  services: Services,
  target: RenderTarget,
  options: RenderCheckOptions,
  check: RenderCheckRun,
): Promise<Publish> {
  const { pr, gh, workspace } = target;
  const ownBranch = isOwnBranch(pr);
  // Conveyor's own PRs may merge automatically: the running check must exist before anything
  // looks for it, so it is created before any other work.
  if (ownBranch && !check.started) await check.start();
  const log = target.log.child({ repo: gh.fullName, pr: pr.number });
  try {
    const config = await readConfig(gh);
    if (!config)
      return check.started
        ? published(check, {
            conclusion: "neutral",
            title: "Configuration is invalid",
            summary:
              "`.github/conveyor.yml` is invalid (see the issue labelled `conveyor:config`), so overlays were not checked.",
          })
        : nothing;
    // Reads only, so no turn in the repo's queue (a burst of deploy edits may be waiting there).
    // Conveyor's own PR commits are already in the clone: no fetch for those.
    if (!(await workspace.hasCommits([pr.headSha, pr.baseSha]))) {
      await workspace.sync();
      // A fork's commits reach this repository only through refs/pull/N/head.
      if (!(await workspace.hasCommits([pr.headSha]))) await workspace.fetchPullHead(pr.number);
    }
    const base = (await workspace.mergeBase(pr.baseSha, pr.headSha)) ?? pr.baseSha;
    const result = await renderChanges({
      workspace,
      config,
      base,
      head: pr.headSha,
      renderer: services.renderer,
      cpu: services.cpu,
      timeoutMs: options.timeoutMs,
      headTrusted: ownBranch,
    });
    // A person's PR that touches no overlay gets no check run at all.
    if (result.affected.length === 0 && !ownBranch) return nothing;
    if (!check.started) await check.start();

    if (result.kind === "no-renderer")
      return published(check, {
        conclusion: "neutral",
        title: "No renderer available",
        summary: `Conveyor could not render ${result.affected.length} affected overlay(s): ${result.reason}.\n\n${INSTALL_HINT}`,
      });
    const violations = evaluatePolicy({
      config,
      overlays: result.overlays
        .filter((o) => !o.failure)
        .map((o) => ({ dir: o.dir, env: o.env, images: o.headImages })),
      promotion: ownBranch ? { changedFiles: result.changedFiles } : undefined,
    });
    const report = renderReport({
      renderer: result.renderer.label,
      overlays: result.overlays,
      violations,
      notes: result.notes,
    });
    log.info(
      {
        conclusion: report.conclusion,
        overlays: result.overlays.map((o) => ({ dir: o.dir, ms: o.ms, failed: Boolean(o.failure) })),
        violations: violations.length,
      },
      `${RENDER_CHECK}: ${report.title}`,
    );
    return published(check, report);
  } catch (error) {
    await failed(check, error);
    throw error;
  }
}

/** Writes `report` as the check's result. */
function published(check: RenderCheckRun, report: CheckReport): Publish {
  return async () => {
    try {
      await check.complete(report);
    } catch (error) {
      await failed(check, error);
      throw error;
    }
  };
}

/** Never leaves a running check behind: it would hold a Conveyor PR forever. */
async function failed(check: RenderCheckRun, error: unknown): Promise<void> {
  if (!check.started) return;
  await check
    .complete({
      conclusion: "failure",
      title: "Conveyor could not render this pull request",
      summary: describeError(error),
    })
    .catch(() => undefined);
}

/** The check run of one render: created once, completed once. */
class RenderCheckRun {
  private id?: number;

  constructor(
    private readonly gh: GitHubRepo,
    private readonly headSha: string,
  ) {}

  get started(): boolean {
    return this.id !== undefined;
  }

  async start(): Promise<void> {
    this.id = await this.gh.checks.start(RENDER_CHECK, this.headSha);
  }

  async complete(report: CheckReport): Promise<void> {
    await this.gh.checks.complete(this.id as number, report);
  }
}
