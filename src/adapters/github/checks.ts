// Check runs and commit statuses: Conveyor's own checks, and what other checks say about a commit.
import type { Octokit, RepoRef } from "./client.js";

export interface CheckOutput {
  conclusion: "success" | "failure" | "neutral";
  title: string;
  summary: string;
}

export interface CommitChecks {
  runs: Array<{ name: string; status: string; conclusion: string | null }>;
  statuses: Array<{ context: string; state: string }>;
}

export class Checks {
  constructor(
    private readonly octokit: Octokit,
    private readonly ref: RepoRef,
  ) {}

  /** Creates a running check on a commit (1 call); returns its id. */
  async start(name: string, headSha: string): Promise<number> {
    const { data } = await this.octokit.rest.checks.create({
      ...this.ref,
      name,
      head_sha: headSha,
      status: "in_progress",
    });
    return data.id;
  }

  async complete(id: number, output: CheckOutput): Promise<void> {
    await this.octokit.rest.checks.update({
      ...this.ref,
      check_run_id: id,
      status: "completed",
      conclusion: output.conclusion,
      output: { title: output.title.slice(0, 255), summary: output.summary },
    });
  }

  /** A completed, failed check run on a commit (1 call); returns its URL. */
  async fail(headSha: string, input: { name: string; title: string; summary: string }): Promise<string> {
    const { data } = await this.octokit.rest.checks.create({
      ...this.ref,
      head_sha: headSha,
      name: input.name,
      status: "completed",
      conclusion: "failure",
      output: { title: input.title.slice(0, 255), summary: input.summary.slice(0, 65_000) },
    });
    return data.html_url ?? "";
  }

  /**
   * One check run of this name on a commit, created or updated in place (2 calls): never a
   * second one. Completed with `conclusion`, or in progress without one.
   */
  async upsert(
    headSha: string,
    input: { name: string; title: string; summary: string; conclusion?: "success" | "failure" | "neutral" },
  ): Promise<void> {
    const { data } = await this.octokit.rest.checks.listForRef({
      ...this.ref,
      ref: headSha,
      check_name: input.name,
      filter: "latest",
      per_page: 10,
    });
    const output = { title: input.title.slice(0, 255), summary: input.summary.slice(0, 65_000) };
    const state = input.conclusion
      ? { status: "completed" as const, conclusion: input.conclusion }
      : { status: "in_progress" as const };
    const existing = data.check_runs.find((r) => r.name === input.name);
    if (existing) await this.octokit.rest.checks.update({ ...this.ref, check_run_id: existing.id, ...state, output });
    else await this.octokit.rest.checks.create({ ...this.ref, head_sha: headSha, name: input.name, ...state, output });
  }

  /** Every check run and commit status on a commit (2 calls). */
  async onCommit(sha: string): Promise<CommitChecks> {
    const [runs, combined] = await Promise.all([
      this.octokit.rest.checks.listForRef({ ...this.ref, ref: sha, per_page: 100 }),
      this.octokit.rest.repos.getCombinedStatusForRef({ ...this.ref, ref: sha, per_page: 100 }),
    ]);
    return {
      runs: runs.data.check_runs.map((r) => ({ name: r.name, status: r.status, conclusion: r.conclusion })),
      statuses: combined.data.statuses.map((s) => ({ context: s.context, state: s.state })),
    };
  }
}
