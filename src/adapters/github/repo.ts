// One repository as Conveyor sees it on GitHub: every call a flow makes goes through one of these
// narrow parts, by concern. The README's "what each flow costs" table counts their calls.
import { installationToken, statusOf, webUrlOf, type Octokit, type RepoRef } from "./client.js";
import { Checks } from "./checks.js";
import { readConfigFile } from "./config-file.js";
import { Deployments } from "./deployments.js";
import { History } from "./history.js";
import { Issues } from "./issues.js";
import { Permissions } from "./permissions.js";
import { PullRequests } from "./pull-requests.js";
import { Workflows } from "./workflows.js";

export class GitHubRepo {
  readonly pulls: PullRequests;
  readonly issues: Issues;
  readonly checks: Checks;
  readonly deployments: Deployments;
  readonly permissions: Permissions;
  /** Read-only history (compare, a commit's PR): used on service repositories. */
  readonly history: History;
  /** GitHub Actions runs: E2E gates, on the repository that holds the workflow. */
  readonly workflows: Workflows;

  constructor(
    private readonly octokit: Octokit,
    readonly ref: RepoRef,
  ) {
    this.pulls = new PullRequests(octokit, ref);
    this.issues = new Issues(octokit, ref);
    this.checks = new Checks(octokit, ref);
    this.deployments = new Deployments(octokit, ref);
    this.permissions = new Permissions(octokit, ref);
    this.history = new History(octokit, ref);
    this.workflows = new Workflows(octokit, ref);
  }

  /** The GitHub server's web address (github.com or an Enterprise Server), for links. */
  get webUrl(): string {
    return webUrlOf(this.octokit);
  }

  get fullName(): string {
    return `${this.ref.owner}/${this.ref.repo}`;
  }

  /** Another repository of the same installation (its token reaches it, or GitHub says 404). */
  sibling(ref: RepoRef): GitHubRepo {
    return new GitHubRepo(this.octokit, ref);
  }

  /** `.github/<file>` of this repository (or the organisation's `.github` repository). */
  readConfigFile(file: string): Promise<unknown> {
    return readConfigFile(this.octokit, this.ref, file);
  }

  /** When a commit of this repository was made (1 call); undefined when GitHub does not show it to this installation. */
  async commitDate(sha: string): Promise<string | undefined> {
    try {
      const { data } = await this.octokit.rest.repos.getCommit({ ...this.ref, ref: sha });
      return data.commit.committer?.date ?? data.commit.author?.date ?? undefined;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 403 || status === 422) return undefined;
      throw error;
    }
  }

  /** The installation token, for git over HTTP (never logged). */
  token(): Promise<string | undefined> {
    return installationToken(this.octokit);
  }
}
