// The GitHub calls Conveyor makes, behind a narrow interface. Each method is one or two REST
// calls; the README's "what each flow costs" table counts them.
import type { ProbotOctokit } from "probot";
import { redact } from "./redact.js";
import type { DeploymentFact } from "../core/command-plan.js";

export type Octokit = InstanceType<typeof ProbotOctokit>;

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface PullRequestSummary {
  number: number;
  url: string;
  headSha: string;
  body: string;
  author: string | undefined;
  labels: string[];
}

export class ManifestsRepo {
  constructor(
    readonly octokit: Octokit,
    readonly ref: RepoRef,
  ) {}

  get fullName(): string {
    return `${this.ref.owner}/${this.ref.repo}`;
  }

  /** The open PR from one of Conveyor's branches, if any (1 call). */
  async findOpenPr(branch: string): Promise<PullRequestSummary | undefined> {
    const { data } = await this.octokit.rest.pulls.list({
      ...this.ref,
      state: "open",
      head: `${this.ref.owner}:${branch}`,
      per_page: 5,
    });
    const pr = data[0];
    return pr ? summarize(pr) : undefined;
  }

  /** Opens a PR and labels it (2 calls: GitHub's create-PR endpoint takes no labels). */
  async createPr(input: {
    branch: string;
    base: string;
    title: string;
    body: string;
    labels: string[];
  }): Promise<PullRequestSummary> {
    const { data } = await this.octokit.rest.pulls.create({
      ...this.ref,
      head: input.branch,
      base: input.base,
      title: input.title,
      body: input.body,
      maintainer_can_modify: false,
    });
    if (input.labels.length)
      await this.octokit.rest.issues.addLabels({ ...this.ref, issue_number: data.number, labels: input.labels });
    return summarize({ ...data, labels: input.labels.map((name) => ({ name })) });
  }

  async updatePr(number: number, input: { title: string; body: string }): Promise<void> {
    await this.octokit.rest.pulls.update({ ...this.ref, pull_number: number, title: input.title, body: input.body });
  }

  async comment(issueNumber: number, body: string): Promise<{ id: number; url: string }> {
    const { data } = await this.octokit.rest.issues.createComment({ ...this.ref, issue_number: issueNumber, body });
    return { id: data.id, url: data.html_url };
  }

  /**
   * One open issue per marker: updated when it exists, created otherwise (2 calls). The marker is
   * a hidden HTML comment, so titles can change without creating duplicates.
   */
  async upsertIssue(input: {
    label: string;
    marker: string;
    title: string;
    body: string;
  }): Promise<{ number: number; created: boolean }> {
    const tag = `<!-- ${input.marker} -->`;
    const body = `${input.body}\n\n${tag}`;
    const { data } = await this.octokit.rest.issues.listForRepo({
      ...this.ref,
      state: "open",
      labels: input.label,
      per_page: 100,
    });
    const existing = data.find((issue) => !issue.pull_request && (issue.body ?? "").includes(tag));
    if (existing) {
      if (existing.body !== body || existing.title !== input.title) {
        await this.octokit.rest.issues.update({ ...this.ref, issue_number: existing.number, title: input.title, body });
      }
      return { number: existing.number, created: false };
    }
    const created = await this.octokit.rest.issues.create({
      ...this.ref,
      title: input.title,
      body,
      labels: [input.label],
    });
    return { number: created.data.number, created: true };
  }

  /** Closes the open issues with this label and marker (1 call, plus 1 per issue closed). */
  async closeIssues(input: { label: string; marker: string; comment: string }): Promise<number> {
    const tag = `<!-- ${input.marker} -->`;
    const { data } = await this.octokit.rest.issues.listForRepo({
      ...this.ref,
      state: "open",
      labels: input.label,
      per_page: 100,
    });
    const open = data.filter((issue) => !issue.pull_request && (issue.body ?? "").includes(tag));
    for (const issue of open) {
      await this.octokit.rest.issues.createComment({ ...this.ref, issue_number: issue.number, body: input.comment });
      await this.octokit.rest.issues.update({
        ...this.ref,
        issue_number: issue.number,
        state: "closed",
        state_reason: "completed",
      });
    }
    return open.length;
  }
}

/** Reports a problem as a failed check run on a commit of another repository (1 call). */
export async function failCheckRun(
  octokit: Octokit,
  target: RepoRef & { sha: string },
  input: { name: string; title: string; summary: string },
): Promise<string> {
  const { data } = await octokit.rest.checks.create({
    ...target,
    head_sha: target.sha,
    name: input.name,
    status: "completed",
    conclusion: "failure",
    output: { title: input.title.slice(0, 255), summary: input.summary.slice(0, 65_000) },
  });
  return data.html_url ?? "";
}

/** HTTP status of an Octokit error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "status" in error && typeof error.status === "number"
    ? error.status
    : undefined;
}

export function describeError(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

function summarize(pr: {
  number: number;
  html_url: string;
  head: { sha: string };
  body?: string | null;
  user?: { login: string } | null;
  labels?: Array<{ name?: string } | string>;
}): PullRequestSummary {
  return {
    number: pr.number,
    url: pr.html_url,
    headSha: pr.head.sha,
    body: pr.body ?? "",
    author: pr.user?.login,
    labels: (pr.labels ?? []).map((l) => (typeof l === "string" ? l : (l.name ?? ""))).filter(Boolean),
  };
}

export interface DeploymentRecord {
  id: number;
  sha: string;
  environment: string;
  createdAt: string;
  payload: Record<string, unknown>;
  url: string;
}

export type DeploymentState = "in_progress" | "success" | "failure" | "error" | "inactive" | "queued" | "pending";

/** GitHub Deployments: the durable record of what Conveyor is verifying. */
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

  /**
   * Conveyor's recent deployments whose latest status is in_progress: 1 call, plus 1 per
   * deployment not skipped (the caller skips those it tracks or knows are settled).
   */
  async inProgress(
    options: { limit?: number; since?: number; skip?: (id: number) => boolean; settled?: (id: number) => void } = {},
  ): Promise<DeploymentRecord[]> {
    const { data } = await this.octokit.rest.repos.listDeployments({
      ...this.ref,
      task: "deploy",
      per_page: options.limit ?? 50,
    });
    const open: DeploymentRecord[] = [];
    for (const d of data) {
      const payload = (typeof d.payload === "object" && d.payload ? d.payload : {}) as Record<string, unknown>;
      if (
        payload.conveyor !== true ||
        options.skip?.(d.id) ||
        (options.since !== undefined && Date.parse(d.created_at) < options.since)
      )
        continue;
      const { data: statuses } = await this.octokit.rest.repos.listDeploymentStatuses({
        ...this.ref,
        deployment_id: d.id,
        per_page: 1,
      });
      if (statuses[0]?.state === "in_progress")
        open.push({ id: d.id, sha: d.sha, environment: d.environment, createdAt: d.created_at, payload, url: d.url });
      else if (statuses[0]) options.settled?.(d.id);
    }
    return open;
  }
}

/** The PR a commit on the default branch came from, if any (1 call). */
export async function pullRequestForCommit(
  octokit: Octokit,
  ref: RepoRef,
  sha: string,
): Promise<PullRequestSummary | undefined> {
  const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ ...ref, commit_sha: sha });
  const merged = data.find((pr) => pr.merged_at) ?? data[0];
  return merged ? summarize(merged) : undefined;
}

/** The commenter's permission on the repository (1 call); "none" when GitHub does not know them. */
export async function userPermission(
  octokit: Octokit,
  ref: RepoRef,
  username: string,
): Promise<"admin" | "maintain" | "write" | "triage" | "read" | "none"> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...ref, username });
    const role = (data as { role_name?: string }).role_name;
    if (role === "maintain" || role === "triage") return role;
    return data.permission === "admin" || data.permission === "write" || data.permission === "read"
      ? data.permission
      : "none";
  } catch (error) {
    if (statusOf(error) === 404) return "none";
    throw error;
  }
}

/** Is the user an active member of org/team? (1 call; 404 and 403 mean no or cannot tell: no.) */
export async function isTeamMember(octokit: Octokit, org: string, team: string, username: string): Promise<boolean> {
  try {
    const { data } = await octokit.rest.teams.getMembershipForUserInOrg({ org, team_slug: team, username });
    return data.state === "active";
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || status === 403) return false;
    throw error;
  }
}

/** Adds a reaction to an issue comment (1 call); reactions are courtesy, so failures are swallowed. */
export async function reactToComment(
  octokit: Octokit,
  ref: RepoRef,
  commentId: number,
  content: "eyes" | "rocket" | "+1" | "confused",
): Promise<void> {
  try {
    await octokit.rest.reactions.createForIssueComment({ ...ref, comment_id: commentId, content });
  } catch {
    // A missing reaction must not stop the command it acknowledges.
  }
}

/** Removes a label from an issue or PR (1 call); true when it was there. */
export async function removeLabel(octokit: Octokit, ref: RepoRef, issueNumber: number, name: string): Promise<boolean> {
  try {
    await octokit.rest.issues.removeLabel({ ...ref, issue_number: issueNumber, name });
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw error;
  }
}

/** A Conveyor Deployment as the command planner reads it. */
export type DeploymentHistoryEntry = DeploymentFact;

const nullableString = (value: unknown) => (typeof value === "string" ? value : null);

/**
 * Conveyor's deployments, newest first, with their latest status: 1 list call plus 1 status call
 * for each of the first `statusLimit` matching deployments.
 */
export async function deploymentHistory(
  octokit: Octokit,
  ref: RepoRef,
  filter: { env?: string; service?: string; pr?: number },
  options: { perPage?: number; statusLimit?: number } = {},
): Promise<DeploymentHistoryEntry[]> {
  const { data } = await octokit.rest.repos.listDeployments({
    ...ref,
    task: "deploy",
    per_page: options.perPage ?? 50,
    ...(filter.env ? { environment: filter.env } : {}),
  });
  const entries: DeploymentHistoryEntry[] = [];
  for (const d of data) {
    const p = (typeof d.payload === "object" && d.payload ? d.payload : {}) as Record<string, unknown>;
    if (p.conveyor !== true || typeof p.service !== "string") continue;
    if (filter.service && p.service !== filter.service) continue;
    if (filter.pr !== undefined && p.pr !== filter.pr) continue;
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
      state: "unknown",
      createdAt: d.created_at,
    });
    if (entries.length >= (options.statusLimit ?? 10)) break;
  }
  for (const entry of entries) {
    const { data: statuses } = await octokit.rest.repos.listDeploymentStatuses({
      ...ref,
      deployment_id: entry.id,
      per_page: 1,
    });
    entry.state = statuses[0]?.state ?? "pending";
  }
  return entries;
}

/** The installation token of an event's Octokit, for git over HTTP (never logged). */
export async function installationToken(context: { octokit: Octokit }): Promise<string | undefined> {
  const auth = (await context.octokit.auth({ type: "installation" })) as { token?: string };
  return auth.token;
}
