// A service repository's history, read-only: how two commits compare and which merged PR a commit
// came from. Needs `contents: read` (and `pull_requests: read` for the PRs) on that repository.
import type { ChangelogCommit, Comparison } from "../../core/changelog.js";
import type { Octokit, RepoRef } from "./client.js";

const STATUSES = new Set(["ahead", "behind", "identical", "diverged"]);

export class History {
  constructor(
    private readonly octokit: Octokit,
    private readonly ref: RepoRef,
  ) {}

  /**
   * `GET /repos/{owner}/{repo}/compare/{base}...{head}`: 1 call, which lists up to 250 commits,
   * oldest first. A longer range costs 1–2 more, for the last pages: the newest commits are the
   * ones a changelog shows.
   */
  async compare(base: string, head: string): Promise<Comparison> {
    const page = (options: { per_page?: number; page?: number }) =>
      this.octokit.rest.repos.compareCommitsWithBasehead({ ...this.ref, basehead: `${base}...${head}`, ...options });
    const { data } = await page({});
    if (!STATUSES.has(data.status)) throw new Error(`GitHub compared ${base}...${head} as ${String(data.status)}`);
    let commits = data.commits;
    if (data.ahead_by > commits.length) {
      const last = Math.ceil(data.ahead_by / 100);
      commits = (await page({ per_page: 100, page: last })).data.commits;
      if (commits.length < 50 && last > 1)
        commits = [...(await page({ per_page: 100, page: last - 1 })).data.commits, ...commits];
    }
    return {
      status: data.status as Comparison["status"],
      aheadBy: data.ahead_by,
      behindBy: data.behind_by,
      commits: commits.map((c): ChangelogCommit => ({
        sha: c.sha,
        subject: (c.commit.message.split("\n")[0] ?? "").trim(),
        ...(c.author?.login
          ? { author: c.author.login }
          : c.commit.author?.name
            ? { author: c.commit.author.name }
            : {}),
      })),
    };
  }

  /** The merged PR a commit of the default branch came from, if any (1 call). */
  async mergedPullOf(sha: string): Promise<{ number: number; title: string } | undefined> {
    const { data } = await this.octokit.rest.repos.listPullRequestsAssociatedWithCommit({
      ...this.ref,
      commit_sha: sha,
      per_page: 10,
    });
    const pr = data.find((p) => p.merge_commit_sha === sha) ?? data.find((p) => p.merged_at);
    return pr ? { number: pr.number, title: pr.title } : undefined;
  }
}
