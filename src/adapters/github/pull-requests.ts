// Pull requests of one repository: find, open, update, read and merge (with the method the
// repository allows, through GitHub's auto-merge or its merge queue where those apply).
import { graphqlMergeMethod, type AllowedMethods, type MergeMethod } from "../../core/merge-method.js";
import { statusOf, type Octokit, type RepoRef } from "./client.js";
import { mergeFacts } from "./merge-facts.js";

export interface PullRequestSummary {
  number: number;
  url: string;
  headSha: string;
  headRef: string;
  /** full_name of the repository the head branch lives in (a fork's, for fork PRs). */
  headRepo: string | undefined;
  baseSha: string;
  body: string;
  author: string | undefined;
  authorType: string | undefined;
  mergedBy: string | undefined;
  labels: string[];
  state: string;
  /** GraphQL id, for GitHub's auto-merge. */
  nodeId: string | undefined;
  /** The repository allows GitHub's auto-merge and it is not enabled on this PR yet. */
  nativeAutoMerge: boolean;
  /** The merge methods the base repository allows, where the PR says (GitHub's `base.repo.allow_*`). */
  mergeSettings: AllowedMethods;
  /** The commit the merge made on the base branch (merge, squash or last rebased commit), once merged. */
  mergeCommitSha: string | undefined;
}

type RawPr = {
  number: number;
  html_url: string;
  state?: string;
  node_id?: string;
  head: { sha: string; ref?: string; repo?: { full_name?: string } | null };
  base?: { sha?: string; repo?: (RepoMergeSettings & { allow_auto_merge?: boolean }) | null };
  body?: string | null;
  user?: { login: string; type?: string } | null;
  merged_by?: { login: string } | null;
  labels?: Array<{ name?: string } | string>;
  auto_merge?: unknown;
  merge_commit_sha?: string | null;
};

type RepoMergeSettings = {
  allow_merge_commit?: boolean;
  allow_squash_merge?: boolean;
  allow_rebase_merge?: boolean;
};

export type MergeResult = { kind: "merged"; sha?: string } | { kind: "refused"; status: number; message: string };

/** A GraphQL mutation GitHub carried out, or its refusal (the errors it answered with). */
export type MutationResult = { kind: "done" } | { kind: "refused"; message: string };

export class PullRequests {
  constructor(
    private readonly octokit: Octokit,
    private readonly ref: RepoRef,
  ) {}

  /** The open PR from one of this repository's branches, if any (1 call). */
  async findOpen(branch: string): Promise<PullRequestSummary | undefined> {
    const { data } = await this.octokit.rest.pulls.list({
      ...this.ref,
      state: "open",
      head: `${this.ref.owner}:${branch}`,
      per_page: 5,
    });
    const pr = data[0];
    return pr ? summarize(pr) : undefined;
  }

  /** Open pull requests, newest first (1 call, at most 100). */
  async listOpen(): Promise<PullRequestSummary[]> {
    const { data } = await this.octokit.rest.pulls.list({ ...this.ref, state: "open", per_page: 100 });
    return data.map(summarize);
  }

  async get(number: number): Promise<PullRequestSummary> {
    const { data } = await this.octokit.rest.pulls.get({ ...this.ref, pull_number: number });
    return summarize(data);
  }

  /**
   * Opens a PR and labels it (2 calls: GitHub's create-PR endpoint takes no labels). When GitHub
   * says the branch already has an open PR (a create whose answer was lost and was retried, or
   * another replica that got there first), that PR is the one: it gets this title and body.
   */
  async create(input: {
    branch: string;
    base: string;
    title: string;
    body: string;
    labels: string[];
  }): Promise<PullRequestSummary> {
    let data: RawPr;
    try {
      ({ data } = await this.octokit.rest.pulls.create({
        ...this.ref,
        head: input.branch,
        base: input.base,
        title: input.title,
        body: input.body,
        maintainer_can_modify: false,
      }));
    } catch (error) {
      const existing = statusOf(error) === 422 && /already exists/i.test(JSON.stringify(errorBody(error)));
      const open = existing ? await this.findOpen(input.branch) : undefined;
      if (!open) throw error;
      await this.update(open.number, { title: input.title, body: input.body });
      const missing = input.labels.filter((l) => !open.labels.includes(l));
      if (missing.length)
        await this.octokit.rest.issues.addLabels({ ...this.ref, issue_number: open.number, labels: missing });
      return { ...open, labels: [...open.labels, ...missing] };
    }
    if (input.labels.length)
      await this.octokit.rest.issues.addLabels({ ...this.ref, issue_number: data.number, labels: input.labels });
    return summarize({ ...data, labels: input.labels.map((name) => ({ name })) });
  }

  async update(number: number, input: { title: string; body: string }): Promise<void> {
    await this.octokit.rest.pulls.update({ ...this.ref, pull_number: number, title: input.title, body: input.body });
  }

  /**
   * Merges exactly this head with `method`; GitHub's refusals (405 not mergeable or method not
   * allowed, 409 head moved, 422) are answers, not errors.
   */
  async merge(number: number, headSha: string, method: MergeMethod = "merge"): Promise<MergeResult> {
    try {
      const { data } = await this.octokit.rest.pulls.merge({
        ...this.ref,
        pull_number: number,
        sha: headSha,
        merge_method: method,
      });
      return { kind: "merged", sha: data.sha };
    } catch (error) {
      const status = statusOf(error);
      if (status === 405 || status === 409 || status === 422)
        return { kind: "refused", status, message: messageOf(error) };
      throw error;
    }
  }

  /** Turns on GitHub's auto-merge, pinned to the head that was checked (1 GraphQL call). */
  async enableAutoMerge(nodeId: string, headSha: string, method: MergeMethod = "merge"): Promise<MutationResult> {
    return this.mutation(
      `mutation($id: ID!, $head: GitObjectID!, $mergeMethod: PullRequestMergeMethod!) { enablePullRequestAutoMerge(input: { pullRequestId: $id, expectedHeadOid: $head, mergeMethod: $mergeMethod }) { clientMutationId } }`,
      { id: nodeId, head: headSha, mergeMethod: graphqlMergeMethod(method) },
    );
  }

  /** Adds the PR to its base branch's merge queue, pinned to the head that was checked (1 GraphQL call). */
  async enqueue(nodeId: string, headSha: string): Promise<MutationResult> {
    return this.mutation(
      `mutation($id: ID!, $head: GitObjectID!) { enqueuePullRequest(input: { pullRequestId: $id, expectedHeadOid: $head }) { mergeQueueEntry { position } } }`,
      { id: nodeId, head: headSha },
    );
  }

  private async mutation(query: string, variables: Record<string, string>): Promise<MutationResult> {
    try {
      await this.octokit.graphql(query, variables);
      return { kind: "done" };
    } catch (error) {
      const refusal = graphqlRefusal(error);
      if (refusal === undefined) throw error;
      return { kind: "refused", message: refusal };
    }
  }

  /**
   * The merge methods the repository allows (`GET /repos/{owner}/{repo}`, 1 call), kept for a few
   * minutes per repository; `refresh` reads them again.
   */
  async mergeSettings(options: { refresh?: boolean } = {}): Promise<AllowedMethods> {
    const key = this.repoKey();
    const kept = options.refresh ? undefined : mergeFacts.settings(key);
    if (kept) return kept;
    const { data } = await this.octokit.rest.repos.get({ ...this.ref });
    const settings = allowedMethods(data);
    mergeFacts.setSettings(key, settings);
    return settings;
  }

  /** The merge methods kept for this repository, if it was read in the last few minutes. */
  cachedMergeSettings(): AllowedMethods | undefined {
    return mergeFacts.settings(this.repoKey());
  }

  /** GitHub said (in the last few minutes) that the default branch takes changes only through a merge queue. */
  mergeQueueRequired(): boolean {
    return mergeFacts.queueRequired(this.repoKey());
  }

  learnMergeQueue(): void {
    mergeFacts.learnQueue(this.repoKey());
  }

  /**
   * Remembers that GitHub refused this head for a passing reason; true when it had already.
   * Kept in this process only: after a restart the next refusal counts as the first.
   */
  refusedBefore(number: number, headSha: string): boolean {
    return mergeFacts.refusedBefore(`${this.repoKey()}#${number}@${headSha}`);
  }

  forgetRefusal(number: number, headSha: string): void {
    mergeFacts.forgetRefusal(`${this.repoKey()}#${number}@${headSha}`);
  }

  private repoKey(): string {
    const base = (this.octokit.request.endpoint.DEFAULTS as { baseUrl?: string }).baseUrl ?? "";
    return `${base}/repos/${this.ref.owner}/${this.ref.repo}`.toLowerCase();
  }

  /**
   * The PR a commit on the default branch came from, if any (1 call). The commit is the PR's head
   * only for a fast-forward: a merge commit, a squash commit, a rebased commit or a merge queue's
   * commit is not, and GitHub associates each with its PR. The PR whose merge made this very
   * commit comes first, then any merged one.
   */
  async forCommit(sha: string): Promise<PullRequestSummary | undefined> {
    const { data } = await this.octokit.rest.repos.listPullRequestsAssociatedWithCommit({
      ...this.ref,
      commit_sha: sha,
    });
    const merged = data.find((pr) => pr.merge_commit_sha === sha) ?? data.find((pr) => pr.merged_at) ?? data[0];
    return merged ? summarize(merged) : undefined;
  }
}

function summarize(pr: RawPr): PullRequestSummary {
  return {
    number: pr.number,
    url: pr.html_url,
    headSha: pr.head.sha,
    headRef: pr.head.ref ?? "",
    headRepo: pr.head.repo?.full_name,
    baseSha: pr.base?.sha ?? "",
    body: pr.body ?? "",
    author: pr.user?.login,
    authorType: pr.user?.type,
    mergedBy: pr.merged_by?.login,
    labels: (pr.labels ?? []).map((l) => (typeof l === "string" ? l : (l.name ?? ""))).filter(Boolean),
    state: pr.state ?? "open",
    nodeId: pr.node_id,
    nativeAutoMerge: pr.base?.repo?.allow_auto_merge === true && !pr.auto_merge,
    mergeSettings: allowedMethods(pr.base?.repo ?? {}),
    mergeCommitSha: pr.merge_commit_sha ?? undefined,
  };
}

/** The allow_* settings GitHub stated (a field it left out stays unknown). */
function allowedMethods(repo: RepoMergeSettings): AllowedMethods {
  const allowed: AllowedMethods = {};
  if (typeof repo.allow_merge_commit === "boolean") allowed.merge = repo.allow_merge_commit;
  if (typeof repo.allow_squash_merge === "boolean") allowed.squash = repo.allow_squash_merge;
  if (typeof repo.allow_rebase_merge === "boolean") allowed.rebase = repo.allow_rebase_merge;
  return allowed;
}

function errorBody(error: unknown): unknown {
  return (error as { response?: { data?: unknown } }).response?.data;
}

/** GitHub's message in a REST error's body (or the error's own). */
function messageOf(error: unknown): string {
  const data = (error as { response?: { data?: unknown } }).response?.data;
  if (typeof data === "object" && data !== null && "message" in data && typeof data.message === "string")
    return data.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * What GitHub answered a refused mutation with, or undefined for an error that is not an answer
 * (network, HTTP status, rate limit): those are thrown, and retried like any other.
 */
function graphqlRefusal(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("errors" in error) || !Array.isArray(error.errors))
    return undefined;
  const errors = error.errors as Array<{ type?: string; message?: string }>;
  if (errors.length === 0 || errors.some((e) => e.type === "RATE_LIMITED" || e.type === "INTERNAL")) return undefined;
  return errors.map((e) => e.message ?? "").join("; ");
}
