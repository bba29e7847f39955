// Pull requests of one repository: find, open, update, read and merge.
import { statusOf, type Octokit, type RepoRef } from "./client.js";

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
}

type RawPr = {
  number: number;
  html_url: string;
  state?: string;
  node_id?: string;
  head: { sha: string; ref?: string; repo?: { full_name?: string } | null };
  base?: { sha?: string; repo?: { allow_auto_merge?: boolean } | null };
  body?: string | null;
  user?: { login: string; type?: string } | null;
  merged_by?: { login: string } | null;
  labels?: Array<{ name?: string } | string>;
  auto_merge?: unknown;
};

export type MergeResult = { kind: "merged" } | { kind: "refused"; status: number };

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

  /** Opens a PR and labels it (2 calls: GitHub's create-PR endpoint takes no labels). */
  async create(input: {
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

  async update(number: number, input: { title: string; body: string }): Promise<void> {
    await this.octokit.rest.pulls.update({ ...this.ref, pull_number: number, title: input.title, body: input.body });
  }

  /** Merges exactly this head; GitHub's refusals (405 not mergeable, 409 head moved) are answers, not errors. */
  async merge(number: number, headSha: string): Promise<MergeResult> {
    try {
      await this.octokit.rest.pulls.merge({ ...this.ref, pull_number: number, sha: headSha, merge_method: "merge" });
      return { kind: "merged" };
    } catch (error) {
      const status = statusOf(error);
      if (status === 405 || status === 409) return { kind: "refused", status };
      throw error;
    }
  }

  /** Turns on GitHub's auto-merge, pinned to the head that was checked (1 GraphQL call). */
  async enableAutoMerge(nodeId: string, headSha: string): Promise<void> {
    await this.octokit.graphql(
      `mutation($id: ID!, $head: GitObjectID!) { enablePullRequestAutoMerge(input: { pullRequestId: $id, expectedHeadOid: $head, mergeMethod: MERGE }) { clientMutationId } }`,
      { id: nodeId, head: headSha },
    );
  }

  /** The PR a commit on the default branch came from, if any (1 call). */
  async forCommit(sha: string): Promise<PullRequestSummary | undefined> {
    const { data } = await this.octokit.rest.repos.listPullRequestsAssociatedWithCommit({
      ...this.ref,
      commit_sha: sha,
    });
    const merged = data.find((pr) => pr.merged_at) ?? data[0];
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
  };
}
