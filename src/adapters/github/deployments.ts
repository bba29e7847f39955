// GitHub Deployments: the durable record of what Conveyor verifies. Their payload says which
// service, overlay and images a change carries (core/verification.ts owns its shape), and their
// latest status is the verification's state.
import type { DeploymentFact } from "../../core/command-plan.js";
import type { DeploymentHistory, StatusEvent } from "../../core/dashboard/model.js";
import { sourceFromRecord, type DispatchSource } from "../../core/source.js";
import type { Octokit, RepoRef } from "./client.js";
import { strategyStepOf } from "../../core/verification.js";

export interface DeploymentRecord {
  id: number;
  sha: string;
  environment: string;
  createdAt: string;
  payload: Record<string, unknown>;
  url: string;
}

export type DeploymentState = "in_progress" | "success" | "failure" | "error" | "inactive" | "queued" | "pending";

const nullableString = (value: unknown) => (typeof value === "string" ? value : null);
const payloadOf = (payload: unknown) =>
  (typeof payload === "object" && payload ? payload : {}) as Record<string, unknown>;

const recordOf = (
  d: { id: number; sha: string; environment: string; created_at: string; url: string },
  payload: Record<string, unknown>,
): DeploymentRecord => ({
  id: d.id,
  sha: d.sha,
  environment: d.environment,
  createdAt: d.created_at,
  payload,
  url: d.url,
});

export class Deployments {
  constructor(
    private readonly octokit: Octokit,
    private readonly ref: RepoRef,
  ) {}

  async create(input: {
    sha: string;
    environment: string;
    description: string;
    payload: Record<string, unknown>;
    production: boolean;
  }): Promise<DeploymentRecord> {
    const { data } = await this.octokit.rest.repos.createDeployment({
      ...this.ref,
      ref: input.sha,
      environment: input.environment,
      description: input.description.slice(0, 140),
      payload: input.payload as { [key: string]: unknown },
      auto_merge: false,
      required_contexts: [],
      task: "deploy",
      production_environment: input.production,
    });
    if (!("id" in data))
      throw new Error(`GitHub did not create a deployment: ${String((data as { message?: string }).message)}`);
    return {
      id: data.id,
      sha: data.sha,
      environment: data.environment,
      createdAt: data.created_at,
      payload: input.payload,
      url: data.url,
    };
  }

  async setStatus(id: number, state: DeploymentState, description: string, logUrl?: string): Promise<void> {
    await this.octokit.rest.repos.createDeploymentStatus({
      ...this.ref,
      deployment_id: id,
      state,
      description: description.slice(0, 140),
      ...(logUrl ? { log_url: logUrl } : {}),
      auto_inactive: false,
    });
  }

  /** Conveyor's deployments of one commit to one environment (1 call): a replayed push finds them. */
  async ofCommit(sha: string, environment: string): Promise<DeploymentRecord[]> {
    const { data } = await this.octokit.rest.repos.listDeployments({
      ...this.ref,
      sha,
      environment,
      task: "deploy",
      per_page: 100,
    });
    return data
      .map((d) => ({
        id: d.id,
        sha: d.sha,
        environment: d.environment,
        createdAt: d.created_at,
        payload: payloadOf(d.payload),
        url: d.url,
      }))
      .filter((d) => d.payload.conveyor === true);
  }

  /** A Deployment's latest status (1 call). */
  private async latestStatus(id: number) {
    const { data } = await this.octokit.rest.repos.listDeploymentStatuses({
      ...this.ref,
      deployment_id: id,
      per_page: 1,
    });
    return data[0];
  }

  /**
   * Conveyor's Deployments of a commit, every environment, with their latest status: 1 call plus
   * 1 per Deployment (a service repository's view of where its commit runs).
   */
  async ofCommitWithStatus(
    sha: string,
  ): Promise<Array<DeploymentRecord & { state: string; description: string; logUrl?: string; updatedAt: string }>> {
    const { data } = await this.octokit.rest.repos.listDeployments({ ...this.ref, sha, per_page: 100 });
    const out: Array<DeploymentRecord & { state: string; description: string; logUrl?: string; updatedAt: string }> =
      [];
    for (const d of data) {
      const payload = payloadOf(d.payload);
      if (payload.conveyor !== true) continue;
      const latest = await this.latestStatus(d.id);
      out.push({
        ...recordOf(d, payload),
        state: latest?.state ?? "pending",
        description: latest?.description ?? "",
        ...(latest?.log_url ? { logUrl: latest.log_url } : {}),
        updatedAt: latest?.created_at ?? d.created_at,
      });
    }
    return out;
  }

  /**
   * Where an image of a service came from, as the newest of Conveyor's Deployments of that image
   * (in any environment) recorded it: 1 call, the latest 100 Deployments. Undefined when none
   * did (an image set by hand, or deployed before sources were kept).
   */
  async sourceOf(service: string, image: string): Promise<DispatchSource | undefined> {
    const { data } = await this.octokit.rest.repos.listDeployments({ ...this.ref, task: "deploy", per_page: 100 });
    for (const d of data) {
      const p = payloadOf(d.payload);
      if (p.conveyor !== true || p.service !== service || p.to !== image) continue;
      const source = sourceFromRecord(p.source);
      if (source) return source;
    }
    return undefined;
  }

  /**
   * Conveyor's deployments since a time whose latest status is in_progress, or that have no
   * status at all (made just before a crash): 1 call per 100 deployments, paged back to `since`,
   * plus 1 per deployment not skipped (the caller skips those it tracks or knows are settled).
   */
  async inProgress(options: {
    since: number;
    skip?: (id: number) => boolean;
    settled?: (id: number) => void;
  }): Promise<Array<DeploymentRecord & { status?: { state: string; description: string } }>> {
    const open: Array<DeploymentRecord & { status?: { state: string; description: string } }> = [];
    for await (const d of this.createdSince(options.since)) {
      const payload = payloadOf(d.payload);
      if (payload.conveyor !== true || options.skip?.(d.id)) continue;
      const latest = await this.latestStatus(d.id);
      const record = recordOf(d, payload);
      if (!latest) open.push(record);
      else if (latest.state === "in_progress")
        open.push({ ...record, status: { state: latest.state, description: latest.description ?? "" } });
      else options.settled?.(d.id);
    }
    return open;
  }

  /** Deployments made since a time, newest first: 1 call per 100, paged back to `since`. */
  private async *createdSince(since: number) {
    for (let page = 1; ; page++) {
      const { data } = await this.octokit.rest.repos.listDeployments({
        ...this.ref,
        task: "deploy",
        per_page: 100,
        page,
      });
      let older = false;
      for (const d of data) {
        if (Date.parse(d.created_at) < since) older = true;
        else yield d;
      }
      // Newest first: a page that reaches back past `since`, or a short one, is the last.
      if (older || data.length < 100) return;
    }
  }

  /**
   * Conveyor's deployments, newest first, with their latest status: 1 list call plus 1 status call
   * for each of the first `statusLimit` matching deployments.
   */
  async history(
    filter: { env?: string; service?: string; pr?: number },
    options: { perPage?: number; statusLimit?: number } = {},
  ): Promise<DeploymentFact[]> {
    const { data } = await this.octokit.rest.repos.listDeployments({
      ...this.ref,
      task: "deploy",
      per_page: options.perPage ?? 50,
      ...(filter.env ? { environment: filter.env } : {}),
    });
    const entries: DeploymentFact[] = [];
    for (const d of data) {
      const p = payloadOf(d.payload);
      if (p.conveyor !== true || typeof p.service !== "string") continue;
      if (filter.service && p.service !== filter.service) continue;
      if (filter.pr !== undefined && p.pr !== filter.pr) continue;
      const source = sourceFromRecord(p.source);
      entries.push({
        id: d.id,
        sha: d.sha,
        service: p.service,
        env: d.environment,
        to: nullableString(p.to),
        from: nullableString(p.from),
        base: nullableString(p.base),
        file: nullableString(p.file),
        pr: typeof p.pr === "number" ? p.pr : null,
        revert: p.revert === true,
        state: "unknown",
        createdAt: d.created_at,
        ...(source ? { source } : {}),
        ...strategyStepOf(p),
      });
      if (entries.length >= (options.statusLimit ?? 10)) break;
    }
    for (const entry of entries) {
      const { data: statuses } = await this.octokit.rest.repos.listDeploymentStatuses({
        ...this.ref,
        deployment_id: entry.id,
        per_page: 1,
      });
      entry.state = statuses[0]?.state ?? "pending";
      if (statuses[0]?.description) entry.description = statuses[0].description;
    }
    return entries;
  }

  /**
   * Conveyor's deployments made since a time, newest first, each with all its statuses (oldest
   * first), for the dashboard: 1 call per 100 deployments (at most `max`), plus 1 per deployment
   * whose statuses `settled` does not hold. Statuses of a deployment with a final verdict do not
   * change, so the caller keeps them in `settled` and they are not asked for again.
   */
  async histories(options: {
    since: number;
    settled: Map<number, StatusEvent[]>;
    max?: number;
  }): Promise<DeploymentHistory[]> {
    const out: DeploymentHistory[] = [];
    const max = options.max ?? 1000;
    for await (const d of this.createdSince(options.since)) {
      const p = payloadOf(d.payload);
      if (p.conveyor !== true || typeof p.service !== "string") continue;
      let statuses = options.settled.get(d.id);
      if (!statuses) {
        const listed = await this.octokit.paginate(this.octokit.rest.repos.listDeploymentStatuses, {
          ...this.ref,
          deployment_id: d.id,
          per_page: 100,
        });
        statuses = listed
          .map((s) => ({ state: s.state, at: s.created_at, description: s.description ?? "" }))
          .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
        if (["success", "failure", "error", "inactive"].includes(statuses[statuses.length - 1]?.state ?? ""))
          options.settled.set(d.id, statuses);
      }
      const source = payloadOf(p.source);
      out.push({
        id: d.id,
        service: p.service,
        env: d.environment,
        image: nullableString(p.to),
        from: nullableString(p.from),
        pr: typeof p.pr === "number" ? p.pr : null,
        revert: p.revert === true,
        sha: d.sha,
        createdAt: d.created_at,
        ...(typeof source.repository === "string" &&
        /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/.test(source.repository) &&
        typeof source.sha === "string" &&
        /^[0-9a-f]{40}$/.test(source.sha)
          ? { source: { repository: source.repository, sha: source.sha } }
          : {}),
        ...(typeof source.committedAt === "string" && !Number.isNaN(Date.parse(source.committedAt))
          ? { sourceCommittedAt: source.committedAt }
          : {}),
        statuses,
      });
      if (out.length >= max) break;
    }
    return out;
  }
}
