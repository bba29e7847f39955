// Gathers what the dashboard shows for one manifests repository, from GitHub (Deployments and
// their statuses, hold and freeze issues, open PRs) and the clone Conveyor keeps (which services
// have overlays): state stays in GitHub. Results are kept for a few seconds per repository, and
// the statuses of settled Deployments for good, so page views and issue edits cost few calls.
// Each gathering also sets the delivery-metric gauges served on /metrics.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { GitHubRepo } from "../../adapters/github/repo.js";
import type { RepoRef } from "../../adapters/github/client.js";
import type { Config } from "../../core/config.js";
import { deliveryMetrics, WINDOWS, type EnvMetrics, type WindowDays } from "../../core/dashboard/delivery-metrics.js";
import type { DashboardInput, DeploymentHistory, StatusEvent } from "../../core/dashboard/model.js";
import { discoverServices } from "../../core/discover.js";
import { parseFreezeDetails, parseFreezeIssue, parseHoldIssue, parseHoldReason } from "../../core/markers.js";
import { FREEZE_LABEL, HOLD_LABEL, LABEL, parseBranch, REVERT_LABEL } from "../../core/pr-text.js";
import { readConfig } from "../load-config.js";
import { signedState } from "../pr-state.js";
import { repoScope } from "../repo-scope.js";
import type { Log, Services } from "../services.js";

const DAY = 86_400_000;
const MAX_WINDOW_DAYS = Math.max(...WINDOWS);

export interface DashboardRepo {
  installationId: number;
  ref: RepoRef;
  cloneUrl: string;
  defaultBranch: string;
  htmlUrl: string;
}

/** The repository a webhook payload is about, when it names one and its installation. */
export function dashboardRepoOf(payload: unknown): DashboardRepo | undefined {
  const p = payload as {
    repository?: {
      name?: string;
      owner?: { login?: string };
      clone_url?: string;
      default_branch?: string;
      html_url?: string;
    };
    installation?: { id?: number };
  };
  const r = p?.repository;
  if (!r?.name || !r.owner?.login || !r.html_url || typeof p.installation?.id !== "number") return undefined;
  return {
    installationId: p.installation.id,
    ref: { owner: r.owner.login, repo: r.name },
    cloneUrl: r.clone_url ?? `${r.html_url}.git`,
    defaultBranch: r.default_branch ?? "main",
    htmlUrl: r.html_url,
  };
}

export type Gathered = { ok: true; input: DashboardInput; config: Config } | { ok: false; reason: string };

export class DashboardData {
  private readonly cache = new Map<string, { at: number; value: Promise<Gathered> }>();
  /** Statuses of Deployments with a final verdict, by id: they do not change. */
  private readonly settled = new Map<number, StatusEvent[]>();
  /** When source commits were made, by `repo@sha` (null: GitHub does not show it to Conveyor). */
  private readonly commitTimes = new Map<string, string | null>();

  constructor(
    private readonly services: Services,
    private readonly log: Log,
    private readonly options: { ttlMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The repository's dashboard facts, at most `ttlMs` old (default 10 s); `fresh` skips the cache. */
  get(repo: DashboardRepo, options: { fresh?: boolean } = {}): Promise<Gathered> {
    const key = `${repo.ref.owner}/${repo.ref.repo}`.toLowerCase();
    const hit = this.cache.get(key);
    if (hit && !options.fresh && this.now() - hit.at < (this.options.ttlMs ?? 10_000)) return hit.value;
    const value = this.gather(repo).catch((error: unknown) => {
      this.cache.delete(key);
      throw error;
    });
    this.cache.set(key, { at: this.now(), value });
    // A bounded cache: the oldest repository goes first.
    if (this.cache.size > 500) this.cache.delete(this.cache.keys().next().value as string);
    if (this.settled.size > 50_000) this.settled.clear();
    return value;
  }

  /** The app's client for the repository. */
  repoClient(repo: DashboardRepo): Promise<GitHubRepo> {
    return this.services.github.repo(repo.installationId, repo.ref);
  }

  private async gather(repo: DashboardRepo): Promise<Gathered> {
    const gh = await this.repoClient(repo);
    const config = await readConfig(gh);
    if (!config) return { ok: false, reason: "its .github/conveyor.yml is invalid (see the conveyor:config issue)" };
    const now = this.now();
    const [services, deployments, holds, freezes, waiting] = await Promise.all([
      this.servicesOf(gh, repo, config),
      gh.deployments.histories({ since: now - MAX_WINDOW_DAYS * DAY, settled: this.settled }),
      gh.issues.listOpen(HOLD_LABEL),
      gh.issues.listOpen(FREEZE_LABEL),
      this.waitingPromotions(gh, config),
    ]);
    await this.sourceTimes(gh, deployments);
    const input: DashboardInput = {
      repo: gh.fullName,
      htmlUrl: repo.htmlUrl,
      environments: config.environments.map((e) => ({ name: e.name, approvers: e.approvers, autoMerge: e.autoMerge })),
      services,
      deployments,
      holds: holds.flatMap((issue) => {
        const hold = parseHoldIssue(issue.body);
        const reason = parseHoldReason(issue.body);
        return hold
          ? [{ ...hold, issue: issue.number, since: issue.createdAt ?? "", ...(reason ? { reason } : {}) }]
          : [];
      }),
      freezes: freezes.flatMap((issue) => {
        const env = parseFreezeIssue(issue.body);
        return env
          ? [{ env, issue: issue.number, since: issue.createdAt ?? "", ...parseFreezeDetails(issue.body) }]
          : [];
      }),
      waiting,
      verifying: (this.services.verifier?.inFlight() ?? [])
        .filter((v) => `${v.repo.owner}/${v.repo.repo}`.toLowerCase() === gh.fullName.toLowerCase())
        .map((v) => ({ service: v.service, env: v.env })),
    };
    if (services.length || deployments.length) this.export(gh.fullName, config, deployments, now);
    return { ok: true, input, config };
  }

  /**
   * Fills in when each change's source commit was made, where the Deployment names the commit but
   * not its time: asked of the source repository through the same installation (1 call per
   * commit, at most 50 a gathering, remembered), for the lead-time metric.
   */
  private async sourceTimes(gh: GitHubRepo, deployments: DeploymentHistory[]): Promise<void> {
    let asked = 0;
    for (const d of deployments) {
      if (d.sourceCommittedAt || !d.source) continue;
      const key = `${d.source.repository}@${d.source.sha}`;
      if (!this.commitTimes.has(key)) {
        if (asked++ >= 50) continue;
        const [owner, repo] = d.source.repository.split("/") as [string, string];
        const at = await gh
          .sibling({ owner, repo })
          .commitDate(d.source.sha)
          .catch(() => undefined);
        if (this.commitTimes.size > 50_000) this.commitTimes.clear();
        this.commitTimes.set(key, at ?? null);
      }
      const at = this.commitTimes.get(key);
      if (at) d.sourceCommittedAt = at;
    }
  }

  /** Every service with an overlay on the default branch, from the clone Conveyor keeps (else the configured ones). */
  private async servicesOf(gh: GitHubRepo, repo: DashboardRepo, config: Config): Promise<string[]> {
    const scope = repoScope(this.services, {
      gh,
      installationId: repo.installationId,
      cloneUrl: repo.cloneUrl,
      defaultBranch: repo.defaultBranch,
      htmlUrl: repo.htmlUrl,
      log: this.log,
    });
    // Never a clone of its own: only a repository Conveyor already works on (a manifests
    // repository) has one, and a service repository's events must not make it clone that.
    if (!existsSync(join(scope.workspace.dir, "HEAD"))) return Object.keys(config.services);
    try {
      // Where the default branch is (over HTTP, one request; fetched only when it moved).
      const head = await (await scope.workspace.remoteBranches())(repo.defaultBranch);
      return head ? [...discoverServices(await scope.workspace.listFiles(head, "."), config)].sort() : [];
    } catch (error) {
      // Without the clone, the services Deployments and config name still show.
      this.log.warn({ repo: gh.fullName, err: String(error) }, "dashboard: listing services from the clone failed");
      return Object.keys(config.services);
    }
  }

  /** Conveyor's open deploy PRs into environments that do not merge on their own (1 call). */
  private async waitingPromotions(gh: GitHubRepo, config: Config): Promise<DashboardInput["waiting"]> {
    const manual = new Set(config.environments.filter((e) => !e.autoMerge).map((e) => e.name));
    const botLogin = await this.services.github.botLogin();
    return (await gh.pulls.listOpen()).flatMap((pr) => {
      const branch = parseBranch(pr.headRef);
      if (!branch || branch.kind !== "deploy" || !manual.has(branch.env)) return [];
      if (!pr.labels.includes(LABEL) || pr.labels.includes(REVERT_LABEL) || pr.author !== botLogin) return [];
      // Only what Conveyor signed names the image.
      const state = signedState(this.services, gh.fullName, pr.body);
      if (!state || state.service !== branch.service || state.env !== branch.env) return [];
      return [{ service: state.service, env: state.env, image: state.to, pr: pr.number }];
    });
  }

  /** The delivery metrics of every environment and window, as gauges on /metrics. */
  private export(repo: string, config: Config, deployments: DeploymentHistory[], now: number): void {
    for (const env of config.environments) {
      for (const windowDays of WINDOWS) {
        const m = deliveryMetrics({ deployments, env: env.name, windowDays, now });
        this.services.metrics.setDelivery(repo, m);
      }
    }
  }
}

/** Every environment's metrics over one window. */
export function metricsFor(input: DashboardInput, windowDays: WindowDays, now: number): EnvMetrics[] {
  return input.environments.map((e) =>
    deliveryMetrics({ deployments: input.deployments, env: e.name, windowDays, now }),
  );
}
